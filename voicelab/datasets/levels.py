"""Level and timing edits: a gain in dB, and digital silence before and after the speech."""

from __future__ import annotations

import numpy as np

from voicelab.audio import AudioClip


def apply_gain(clip: AudioClip, gain_db: float) -> AudioClip:
    """``clip`` amplified by ``gain_db``; what goes past full scale clips, as an overdriven
    input does."""
    samples = np.clip(clip.samples.astype(np.float64) * 10 ** (gain_db / 20), -1.0, 1.0)
    return AudioClip(samples.astype(np.float32), clip.sample_rate_hz, clip.source)


def pad_silence(clip: AudioClip, lead_ms: int, trail_ms: int) -> AudioClip:
    """``clip`` with ``lead_ms`` of digital silence before it and ``trail_ms`` after."""
    lead = np.zeros(round(clip.sample_rate_hz * lead_ms / 1000), dtype=np.float32)
    trail = np.zeros(round(clip.sample_rate_hz * trail_ms / 1000), dtype=np.float32)
    return AudioClip(np.concatenate([lead, clip.samples, trail]), clip.sample_rate_hz, clip.source)
