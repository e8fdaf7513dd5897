"""A room: the clip convolved with a synthetic, exponentially decaying impulse response."""

from __future__ import annotations

import numpy as np

from voicelab.audio import AudioClip
from voicelab.datasets.noise import MAX_PEAK, Float64Array
from voicelab.errors import AudioError

DECAY_DB = 60.0  # RT60: the time the reverberant energy takes to fall by 60 dB


def impulse_response(rt60_s: float, rate_hz: int, rng: np.random.Generator) -> Float64Array:
    """A direct path (1.0) followed by Gaussian reverberation decaying 60 dB in ``rt60_s``."""
    num_samples = max(2, round(rt60_s * rate_hz))
    t_s = np.arange(num_samples) / rate_hz
    envelope = 10 ** (-DECAY_DB / 20 * t_s / rt60_s)  # amplitude: -60 dB at rt60_s
    response = rng.standard_normal(num_samples) * envelope
    response[0] = 1.0
    return response


def reverberate(clip: AudioClip, rt60_s: float, rng: np.random.Generator) -> AudioClip:
    """``clip`` in a room of reverberation time ``rt60_s``, its tail kept, with the clip's
    energy (a reverberant room spreads the speech; it does not make it louder)."""
    from scipy import signal  # here: importing scipy.signal takes a second

    energy = float(np.sum(np.square(clip.samples, dtype=np.float64)))
    if energy == 0.0:
        raise AudioError(f"{clip.source}: is silent (all zeros); nothing to reverberate")
    response = impulse_response(rt60_s, clip.sample_rate_hz, rng)
    wet = signal.fftconvolve(clip.samples.astype(np.float64), response)
    wet *= np.sqrt(energy / float(np.sum(np.square(wet))))
    peak = float(np.max(np.abs(wet)))
    if peak > MAX_PEAK:
        wet *= MAX_PEAK / peak
    return AudioClip(wet.astype(np.float32), clip.sample_rate_hz, clip.source)
