"""Calibration arithmetic on exact, made-up turns: what the server did not account for."""

from __future__ import annotations

import pytest

from voicelab.calibration import CalibrationPair, floor_delay_s, unaccounted_s
from voicelab.errors import ConfigError
from voicelab.timeline import Event, Timeline
from voicelab.turn_result import TurnResult

MS = 1_000_000


def _turn(stt_ms: int, tts_ms: int, server: dict[str, float]) -> TurnResult:
    stamps = {
        Event.END_OF_SPEECH: 0,
        Event.TRANSCRIPT_FINAL: stt_ms * MS,
        Event.TTS_REQUEST: 2_000 * MS,
        Event.TTS_FIRST_BYTE: (2_000 + tts_ms) * MS,
    }
    return TurnResult(
        conversation_id="c", turn_index=0, timeline=Timeline(stamps), server_processing_s=server
    )


def test_unaccounted_is_stage_time_less_server_time() -> None:
    turn = _turn(stt_ms=1_304, tts_ms=455, server={"stt": 1.0, "tts": 0.150})
    assert unaccounted_s(turn, "stt") == pytest.approx(0.304)
    assert unaccounted_s(turn, "tts") == pytest.approx(0.305)
    assert unaccounted_s(_turn(1_000, 400, {}), "stt") is None  # no header, no figure


def test_floor_delay_ignores_noise_that_only_adds_time() -> None:
    pairs = [
        CalibrationPair("a#0", "stt", plain_s=0.003, delayed_s=0.325),  # a scheduling spike
        CalibrationPair("b#0", "stt", plain_s=0.021, delayed_s=0.303),
        CalibrationPair("c#0", "stt", plain_s=0.004, delayed_s=0.309),
        CalibrationPair("a#0", "tts", plain_s=0.002, delayed_s=0.302),
    ]
    assert floor_delay_s(pairs, "stt") == pytest.approx(0.300)
    assert floor_delay_s(pairs, "tts") == pytest.approx(0.300)
    assert pairs[0].delay_s == pytest.approx(0.322)
    with pytest.raises(ConfigError, match="llm"):
        floor_delay_s(pairs, "llm")
