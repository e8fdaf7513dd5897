"""Additive noise at an exact SNR: white, pink, and babble mixed from other clips.

Signal power is the mean square of the clean clip over its whole length (its pauses included),
noise power the mean square of the noise added, over the same samples; the noise is scaled so
``10 * log10(P_signal / P_noise)`` is the target exactly. If the sum would clip, speech and
noise are scaled down together, so the SNR stays exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voicelab.audio import AudioClip, FloatArray, load_audio, resample
from voicelab.errors import AudioError, DatasetError

MAX_PEAK = 0.999  # a mix louder than this is scaled down: PCM16 conversion must never clip
NOISE_TYPES = ("white", "pink", "babble")
Float64Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class NoiseMix:
    """A clean clip with noise added, and the gain both were scaled by to avoid clipping."""

    clip: AudioClip
    gain: float
    """Linear factor applied to speech and noise alike (1.0 unless the sum would clip)."""


def mean_power(samples: npt.NDArray[np.floating]) -> float:
    """Mean square of the samples (the power an SNR is a ratio of)."""
    return float(np.mean(np.square(samples, dtype=np.float64)))


def add_noise(clean: AudioClip, noise: Float64Array, snr_db: float) -> NoiseMix:
    """``clean`` plus ``noise`` scaled to ``snr_db`` below its power (see the module docstring)."""
    signal_power = mean_power(clean.samples)
    if signal_power == 0.0:
        raise AudioError(f"{clean.source}: is silent (all zeros); an SNR needs a signal")
    noise = np.asarray(noise, dtype=np.float64)[: clean.num_samples]
    if len(noise) != clean.num_samples:
        raise AudioError(f"{clean.source}: noise is shorter than the clip")
    noise_power = mean_power(noise)
    if noise_power == 0.0:
        raise AudioError(f"{clean.source}: the noise to add is silent")
    scaled = noise * np.sqrt(signal_power / 10 ** (snr_db / 10) / noise_power)
    mixed = clean.samples.astype(np.float64) + scaled
    peak = float(np.max(np.abs(mixed)))
    gain = MAX_PEAK / peak if peak > MAX_PEAK else 1.0
    samples = (mixed * gain).astype(np.float32)
    return NoiseMix(AudioClip(samples, clean.sample_rate_hz, clean.source), gain)


def white_noise(num_samples: int, rng: np.random.Generator) -> Float64Array:
    """Gaussian white noise (flat spectrum)."""
    return rng.standard_normal(num_samples)


def pink_noise(num_samples: int, rng: np.random.Generator) -> Float64Array:
    """Pink noise (power falling 3 dB per octave): white noise shaped by 1/sqrt(f)."""
    spectrum = np.fft.rfft(rng.standard_normal(num_samples))
    frequencies = np.arange(len(spectrum), dtype=np.float64)
    frequencies[0] = 1.0  # the DC bin is zeroed below; this only avoids dividing by zero
    spectrum /= np.sqrt(frequencies)
    spectrum[0] = 0.0
    return np.fft.irfft(spectrum, n=num_samples)


def babble_noise(
    num_samples: int,
    rate_hz: int,
    others: Sequence[Path | AudioClip],
    talkers: int,
    rng: np.random.Generator,
    where: str,
) -> Float64Array:
    """The sum of ``talkers`` clips chosen from ``others``, each at equal power, resampled to
    ``rate_hz`` and looped or cut to ``num_samples`` from a random starting point."""
    if not others:
        raise DatasetError(
            f"{where}: babble noise is mixed from the dataset's other clips, and there are none"
        )
    chosen = rng.choice(len(others), size=min(talkers, len(others)), replace=False)
    babble = np.zeros(num_samples, dtype=np.float64)
    for index in sorted(int(i) for i in chosen):
        source = others[index]
        talker = resample(load_audio(source) if isinstance(source, Path) else source, rate_hz)
        power = mean_power(talker.samples)
        if power == 0.0:
            continue  # a silent clip adds no voice to the babble
        looped = _looped(talker.samples, num_samples, int(rng.integers(talker.num_samples)))
        babble += looped / np.sqrt(power)
    if not babble.any():
        raise DatasetError(f"{where}: every clip chosen for babble noise is silent")
    return babble


def _looped(samples: FloatArray, num_samples: int, start: int) -> Float64Array:
    """``samples`` repeated end to end from ``start``, cut to ``num_samples``."""
    repeats = -(-(start + num_samples) // len(samples))
    return np.tile(samples.astype(np.float64), repeats)[start : start + num_samples]
