"""The telephone channel: 8 kHz sampling, the 300-3400 Hz voice band, 8-bit mu-law."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from voicelab.audio import AudioClip, FloatArray, resample

TELEPHONE_RATE_HZ = 8_000  # narrow-band telephony (G.711)
BAND_LOW_HZ = 300.0  # the voice band of an analogue line (ITU-T G.712)
BAND_HIGH_HZ = 3_400.0
BAND_FILTER_ORDER = 4  # Butterworth band-pass: 24 dB/octave skirts, as a line card's filter
MU = 255  # mu-law compression constant (G.711, North America and Japan)
MU_LAW_LEVELS = 256  # 8 bits per sample


def telephone(clip: AudioClip) -> AudioClip:
    """``clip`` as heard over a narrow-band phone line, at 8 kHz."""
    from scipy import signal  # here: importing scipy.signal takes a second

    narrow = resample(clip, TELEPHONE_RATE_HZ)
    sos = signal.butter(
        BAND_FILTER_ORDER, (BAND_LOW_HZ, BAND_HIGH_HZ), btype="bandpass",
        fs=TELEPHONE_RATE_HZ, output="sos",
    )  # fmt: skip
    band = signal.sosfilt(sos, narrow.samples.astype(np.float64))
    coded = mu_law_decode(mu_law_encode(np.clip(band, -1.0, 1.0)))
    return AudioClip(coded.astype(np.float32), TELEPHONE_RATE_HZ, clip.source)


def mu_law_encode(samples: npt.NDArray[np.floating]) -> npt.NDArray[np.uint8]:
    """Samples in [-1, 1] to 8-bit mu-law codes (0..255), continuous companding curve."""
    companded = np.sign(samples) * np.log1p(MU * np.abs(samples)) / np.log1p(MU)
    codes = np.round((companded + 1.0) / 2.0 * (MU_LAW_LEVELS - 1))
    return np.asarray(codes, dtype=np.uint8)


def mu_law_decode(codes: npt.NDArray[np.uint8]) -> FloatArray:
    """8-bit mu-law codes back to samples in [-1, 1]."""
    companded = codes.astype(np.float64) / (MU_LAW_LEVELS - 1) * 2.0 - 1.0
    samples = np.sign(companded) * np.expm1(np.abs(companded) * np.log1p(MU)) / MU
    return np.asarray(samples, dtype=np.float32)
