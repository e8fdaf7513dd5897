"""Piper's leading silence: cut to a small margin, and only what a listener would not hear."""

from __future__ import annotations

import numpy as np
import pytest

from voicelab.audio import PCM16_FULL_SCALE, first_audible_index
from voicelab.audio_formats import PCM_RATE_HZ
from voicelab.errors import ConfigError
from voicelab.providers.local_config import PiperConfig
from voicelab.providers.piper_tts import PiperTTSModel, trim_leading_silence

TEXTS = ["Your order 4521 shipped on Monday,", "Here is what I found:", "Hello! How can I help?"]


def _chunks(model: PiperTTSModel, text: str) -> list[np.ndarray]:
    return [np.frombuffer(pcm, dtype=np.int16) for pcm in model.synthesize_pcm16(text)]


def _lead_ms(pcm: np.ndarray) -> float:
    index = first_audible_index(pcm, full_scale=PCM16_FULL_SCALE)
    assert index is not None
    return index * 1000 / PCM_RATE_HZ


def test_trim_keeps_the_margin_before_the_first_audible_sample() -> None:
    samples = np.concatenate([np.full(1000, 1e-3), [0.5], np.full(10, 0.2)]).astype(np.float32)
    trimmed = trim_leading_silence(samples, 10_000, keep_ms=5.0)  # 50 samples at 10 kHz
    assert len(trimmed) == 61 and trimmed[50] == np.float32(0.5)
    assert np.array_equal(samples[-len(trimmed) :], trimmed)  # a cut, nothing altered


def test_trim_leaves_silent_and_already_short_audio_alone() -> None:
    quiet = np.full(500, 1e-4, dtype=np.float32)
    assert trim_leading_silence(quiet, 10_000, keep_ms=5.0) is quiet
    prompt = np.full(20, 0.3, dtype=np.float32)
    assert len(trim_leading_silence(prompt, 10_000, keep_ms=5.0)) == 20


@pytest.mark.slow
@pytest.mark.parametrize("text", TEXTS)
def test_piper_audio_starts_with_speech_and_only_silence_was_cut(text: str) -> None:
    untrimmed = PiperTTSModel(PiperConfig(max_leading_silence_ms=None))
    trimmed = PiperTTSModel(PiperConfig(max_leading_silence_ms=10.0))
    # piper samples its noise: two syntheses of one text differ, so each is checked on its own
    before, after = _chunks(untrimmed, text)[0], _chunks(trimmed, text)[0]
    assert _lead_ms(before) > 15.0, "piper put less leading silence than the test assumes"
    assert _lead_ms(after) <= 10.0 + 1.0  # the margin (+ a sample of resampler rounding)
    # the same cut on real piper audio removes only samples below the audible threshold
    samples = before.astype(np.float32) / PCM16_FULL_SCALE
    kept = trim_leading_silence(samples, PCM_RATE_HZ, keep_ms=10.0)
    cut = len(samples) - len(kept)
    assert cut > 0 and np.array_equal(samples[cut:], kept)
    assert first_audible_index(before[:cut], full_scale=PCM16_FULL_SCALE) is None


def test_negative_margin_is_refused() -> None:
    with pytest.raises(ConfigError, match="max_leading_silence_ms"):
        PiperConfig(max_leading_silence_ms=-1.0)
