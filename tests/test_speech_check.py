"""A clip too short to hold speech, or one with no speech in it, is refused before a pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voicelab.audio import AudioClip, load_audio
from voicelab.datasets import load_dataset
from voicelab.errors import AudioError, NoSpeechError
from voicelab.speech_check import MIN_SPEECH_CLIP_S, require_speech

pytestmark = pytest.mark.slow  # loads the Silero VAD model


async def test_one_sample_is_too_short(no_speech_wavs: dict[str, Path]) -> None:
    path = no_speech_wavs["one-sample"]
    with pytest.raises(AudioError) as refused:
        await require_speech(load_audio(path))
    assert not isinstance(refused.value, NoSpeechError)
    assert str(path) in str(refused.value) and "too short" in str(refused.value)


async def test_just_under_the_minimum_is_too_short() -> None:
    rate_hz = 16_000
    samples = np.zeros(round(MIN_SPEECH_CLIP_S * rate_hz) - 1, dtype=np.float32)
    with pytest.raises(AudioError, match="too short"):
        await require_speech(AudioClip(samples, rate_hz, "short"))


async def test_ten_minutes_of_silence_has_no_speech(no_speech_wavs: dict[str, Path]) -> None:
    path = no_speech_wavs["silence"]
    with pytest.raises(NoSpeechError) as refused:
        await require_speech(load_audio(path))
    assert str(path) in str(refused.value) and "no speech" in str(refused.value)
    assert "600.0 s" in str(refused.value)


async def test_low_level_noise_has_no_speech(no_speech_wavs: dict[str, Path]) -> None:
    with pytest.raises(NoSpeechError):
        await require_speech(load_audio(no_speech_wavs["noise"]))


async def test_every_real_recording_passes(shared_data: Path, demo_data: Path) -> None:
    """No false alarms on the speech voicelab ships and tests with (digits of 0.3 s included)."""
    turns = [
        turn
        for folder in (shared_data / "fsdd-sample", shared_data / "ljspeech-sample", demo_data)
        for conversation in load_dataset(folder)
        for turn in conversation.turns
    ]
    assert len(turns) > 150
    for turn in turns:
        await require_speech(turn.load_clip())
