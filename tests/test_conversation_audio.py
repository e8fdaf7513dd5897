from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from voicelab.audio import AudioClip, load_audio, resample
from voicelab.audio_formats import PCM_RATE_HZ
from voicelab.conversation_audio import TURN_GAP_S, conversation_stereo
from voicelab.datasets import load_dataset
from voicelab.errors import ResultsError
from voicelab.runner import run_dataset
from voicelab.testing import ScriptedPipeline
from voicelab.timeline import Event

PCM16_STEP = 1 / 32768  # one quantisation step of the 16-bit WAV


def _row(end_of_speech_ns: int, first_agent_audio_ns: int | None) -> dict[str, str]:
    stamps = {Event.END_OF_SPEECH: end_of_speech_ns}
    if first_agent_audio_ns is not None:
        stamps[Event.FIRST_AGENT_AUDIO] = first_agent_audio_ns
    return {"turn_id": "c#0", "timeline_ns": json.dumps(stamps)}


def test_turns_are_placed_on_the_measured_clock_from_made_up_times() -> None:
    rate = 16_000
    user = AudioClip(np.full(8_000, 0.5, np.float32), rate)  # 0.5 s
    speech = np.r_[np.zeros(1_600), np.full(1_600, -0.25)].astype(np.float32)
    agent = AudioClip(speech, rate)  # 0.1 s of leading silence, then 0.1 s of sound
    rows = [_row(7_000_000_000, 7_250_000_000), _row(3_000_000_000, None)]
    clip = conversation_stereo(rows, [user, user], [agent, None], sample_rate_hz=rate)
    gap = round(TURN_GAP_S * rate)
    # turn 0: user 0-8000, agent from 8000 + 0.25 s (4000) for 3200 samples; turn 1 after a gap
    second_user = 8_000 + 4_000 + 3_200 + gap
    assert len(clip.user) == len(clip.agent) == second_user + 8_000
    assert np.all(clip.user[:8_000] == 0.5) and np.all(clip.user[8_000:second_user] == 0)
    assert np.flatnonzero(clip.agent)[0] == 8_000 + 4_000 + 1_600  # voice-to-audible 0.35 s
    assert np.all(clip.agent[second_user:] == 0)  # turn 1 had no agent audio
    assert clip.duration_s == pytest.approx(len(clip.user) / rate)


def test_one_clip_of_each_per_turn_is_required() -> None:
    user = AudioClip(np.zeros(10, np.float32), 16_000)
    with pytest.raises(ResultsError, match="one of each per turn"):
        conversation_stereo([_row(0, 1)], [user, user], [None])


@pytest.fixture
def conversations(shared_data: Path, tmp_path: Path) -> Path:
    """Two conversations of three real fsdd turns each, as a manifest."""
    source = shared_data / "fsdd-sample"
    manifest = tmp_path / "data" / "manifest.csv"
    manifest.parent.mkdir()
    names = ["3_theo_0", "7_george_1", "5_jackson_2", "1_theo_3", "8_george_4", "0_jackson_1"]
    with manifest.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["audio", "text", "conversation_id", "turn_index"])
        for i, name in enumerate(names):
            digit = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                     "nine"][int(name[0])]  # fmt: skip
            writer.writerow([source / f"{name}.wav", digit, f"talk{i // 3}", i % 3])
    return manifest


def test_the_runner_saves_each_conversation_as_heard(conversations: Path, tmp_path: Path) -> None:
    dataset = load_dataset(conversations)
    pipeline = ScriptedPipeline(
        stage_ms={"stt": 210, "llm": 333, "tts": 97}, fail_turns=frozenset({"talk1#1"})
    )
    frame = asyncio.run(run_dataset(pipeline, dataset, tmp_path / "run"))
    for conversation in dataset:
        path = tmp_path / "run" / "audio" / "conversations" / f"{conversation.conversation_id}.wav"
        frames, rate = sf.read(path, dtype="float32", always_2d=True)
        assert frames.shape[1] == 2 and rate == PCM_RATE_HZ
        left, right = frames[:, 0], frames[:, 1]
        start = 0
        for turn in conversation.turns:
            row = frame[frame["turn_id"] == turn.turn_id].iloc[0]
            user = resample(load_audio(turn.audio), rate).samples  # type: ignore[arg-type]
            end_of_speech = start + len(user)
            np.testing.assert_allclose(left[start:end_of_speech], user, atol=PCM16_STEP)
            sounding = np.flatnonzero(right[start:]) + start
            if not pd.isna(row["error"]):
                assert not len(sounding) or sounding[0] >= end_of_speech + TURN_GAP_S * rate
                turn_end = end_of_speech
            else:
                expected = end_of_speech + row["voice_to_voice_s"] * rate
                assert abs(sounding[0] - expected) <= 1  # silent until exactly then
                turn_end = round(expected) + round(row["agent_audio_s"] * rate)
            start = turn_end + round(TURN_GAP_S * rate)
        assert len(left) == start - round(TURN_GAP_S * rate)
