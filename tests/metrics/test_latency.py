from __future__ import annotations

import itertools

import pytest

from voicelab.clock import ManualClock
from voicelab.metrics.latency import (
    LATENCY_COLUMNS,
    LATENCY_SPANS,
    VOICE_TO_VOICE_STAGES,
    latency_figures,
)
from voicelab.timeline import Event, TimelineRecorder

MS = 1_000_000


def test_chained_figures_from_exact_made_up_times() -> None:
    clock = ManualClock(5_000 * MS)
    rec = TimelineRecorder(clock)
    rec.first(Event.END_OF_SPEECH)
    clock.advance(350 * MS)
    rec.first(Event.TRANSCRIPT_FINAL)
    clock.advance(140 * MS)
    rec.first(Event.LLM_FIRST_TOKEN)
    clock.advance(60 * MS)
    rec.first(Event.FIRST_TEXT_CHUNK)
    clock.advance(200 * MS)
    rec.first(Event.TTS_REQUEST)
    clock.advance(130 * MS)
    rec.first(Event.TTS_FIRST_BYTE)
    clock.advance(1 * MS)
    rec.first(Event.FIRST_AGENT_AUDIO)
    clock.advance(50 * MS)
    rec.first(Event.FIRST_AUDIBLE_AUDIO)
    clock.advance(2_000 * MS)
    rec.last(Event.LAST_AGENT_AUDIO)
    figures = latency_figures(rec.freeze())
    assert figures["stt_s"] == pytest.approx(0.350)
    assert figures["llm_ttft_s"] == pytest.approx(0.140)
    assert figures["agent_first_text_s"] == pytest.approx(0.060)
    assert figures["text_buffer_s"] == pytest.approx(0.200)
    assert figures["tts_ttfb_s"] == pytest.approx(0.130)
    assert figures["voice_to_voice_s"] == pytest.approx(0.881)
    assert figures["voice_to_audible_s"] == pytest.approx(0.931)
    assert figures["leading_silence_s"] == pytest.approx(0.050)
    assert figures["turn_total_s"] == pytest.approx(2.931)
    assert figures["endpointing_s"] is None  # no VAD in this turn
    stages = ["stt_s", "llm_ttft_s", "agent_first_text_s", "text_buffer_s", "tts_ttfb_s",
              "audio_delivery_s"]  # fmt: skip
    assert sum(figures[s] or 0 for s in stages) == pytest.approx(figures["voice_to_voice_s"])
    assert set(figures) == set(LATENCY_COLUMNS)


def test_first_keeps_earliest_last_keeps_latest() -> None:
    clock = ManualClock()
    rec = TimelineRecorder(clock)
    rec.first("x")
    rec.last("y")
    clock.advance(10)
    rec.first("x")
    rec.last("y")
    assert rec.freeze().stamps_ns == {"x": 0, "y": 10}
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_voice_to_voice_stages_follow_one_another_from_end_of_speech() -> None:
    v2v_start, v2v_end = LATENCY_SPANS["voice_to_voice_s"]
    for architecture, stages in VOICE_TO_VOICE_STAGES.items():
        spans = [LATENCY_SPANS[column] for column in stages]
        assert spans[0][0] == v2v_start, architecture
        assert all(a[1] == b[0] for a, b in itertools.pairwise(spans)), architecture
    assert LATENCY_SPANS[VOICE_TO_VOICE_STAGES["chained"][-1]][1] == v2v_end
