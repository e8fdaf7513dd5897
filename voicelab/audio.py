"""Audio clips: load/save, validation, resampling, down-mix, PCM16 conversion and chunking."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf
import soxr

from voicelab.errors import AudioError

FloatArray = npt.NDArray[np.float32]

MIN_SAMPLE_RATE_HZ = 4_000  # below telephone band nothing intelligible is left
MAX_SAMPLE_RATE_HZ = 384_000  # the highest rate studio interfaces record at
PCM16_FULL_SCALE = 32767  # largest positive int16 value
DEFAULT_AUDIBLE_THRESHOLD_DBFS = -40.0  # quieter than this counts as silence to a listener


@dataclass(frozen=True, eq=False)
class AudioClip:
    """Mono float32 samples in [-1, 1] at ``sample_rate_hz``."""

    samples: FloatArray
    sample_rate_hz: int
    source: str = "<memory>"

    def __post_init__(self) -> None:
        _check_sample_rate(self.sample_rate_hz, self.source)
        if self.samples.ndim != 1:
            raise AudioError(
                f"{self.source}: expected mono samples, got shape {self.samples.shape}"
            )

    @property
    def duration_s(self) -> float:
        """Length of the clip in seconds."""
        return len(self.samples) / self.sample_rate_hz

    @property
    def num_samples(self) -> int:
        """Number of samples in the clip."""
        return len(self.samples)


def _check_sample_rate(sample_rate_hz: int, source: str) -> None:
    if not MIN_SAMPLE_RATE_HZ <= sample_rate_hz <= MAX_SAMPLE_RATE_HZ:
        raise AudioError(
            f"{source}: sample rate {sample_rate_hz} Hz is outside the supported range "
            f"{MIN_SAMPLE_RATE_HZ}-{MAX_SAMPLE_RATE_HZ} Hz"
        )


def clip_from_array(
    samples: npt.ArrayLike, sample_rate_hz: int, source: str = "<memory>"
) -> AudioClip:
    """Validate an array (mono, or frames x channels) and make a mono float32 clip of it."""
    array = np.asarray(samples)
    if array.dtype == np.int16:
        array = array.astype(np.float32) / (PCM16_FULL_SCALE + 1)
    array = array.astype(np.float32, copy=False)
    if array.ndim == 2:
        array = downmix(array)
    if array.ndim != 1:
        raise AudioError(f"{source}: expected 1 or 2 dimensions, got shape {array.shape}")
    if array.size == 0:
        raise AudioError(f"{source}: contains no audio samples (zero-length)")
    if not np.all(np.isfinite(array)):
        raise AudioError(f"{source}: contains NaN or infinite samples")
    return AudioClip(samples=array, sample_rate_hz=int(sample_rate_hz), source=source)


def downmix(frames: npt.NDArray[np.floating]) -> FloatArray:
    """Average the channels of a frames x channels array into mono."""
    return np.asarray(frames.mean(axis=1), dtype=np.float32)


def load_audio(path: str | Path) -> AudioClip:
    """Read an audio file into a mono clip, with a specific error for each way it can be bad."""
    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: audio file not found")
    if not path.is_file():
        raise AudioError(f"{path}: is not a file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: audio file is empty (0 bytes)")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as e:
        raise AudioError(f"{path}: not a readable audio file or its header is corrupt ({e})") from e
    _check_sample_rate(info.samplerate, str(path))
    if info.frames == 0:
        raise AudioError(f"{path}: contains no audio samples (zero-length)")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as e:
        raise AudioError(f"{path}: audio data is corrupt ({e})") from e
    return clip_from_array(data, rate, source=str(path))


def decode_audio_bytes(data: bytes, source: str = "<bytes>") -> AudioClip:
    """Decode an in-memory audio file (WAV, FLAC, OGG...) into a mono clip."""
    if not data:
        raise AudioError(f"{source}: audio is empty (0 bytes)")
    try:
        frames, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as e:
        raise AudioError(f"{source}: not readable audio or its header is corrupt ({e})") from e
    return clip_from_array(frames, rate, source=source)


def save_audio(clip: AudioClip, path: str | Path, subtype: str = "PCM_16") -> Path:
    """Write a clip to disk; the format follows the file extension."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), clip.samples, clip.sample_rate_hz, subtype=subtype)
    return path


def wav_bytes(clip: AudioClip) -> bytes:
    """A clip as an in-memory 16-bit WAV file (for an upload)."""
    buffer = io.BytesIO()
    sf.write(buffer, clip.samples, clip.sample_rate_hz, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def resample(clip: AudioClip, target_rate_hz: int) -> AudioClip:
    """Resample with soxr's high-quality polyphase filter; a no-op at the same rate."""
    _check_sample_rate(target_rate_hz, clip.source)
    if clip.sample_rate_hz == target_rate_hz:
        return clip
    out = soxr.resample(clip.samples, clip.sample_rate_hz, target_rate_hz, quality="HQ")
    return AudioClip(np.asarray(out, dtype=np.float32), target_rate_hz, clip.source)


def to_pcm16(samples: FloatArray) -> npt.NDArray[np.int16]:
    """Float samples in [-1, 1] to int16, clipping anything outside."""
    scaled = np.clip(samples, -1.0, 1.0) * PCM16_FULL_SCALE
    return np.round(scaled).astype(np.int16)


def pcm16_bytes_to_float(data: bytes) -> FloatArray:
    """Little-endian int16 PCM bytes to float32 samples in [-1, 1]."""
    usable = len(data) - len(data) % 2
    pcm = np.frombuffer(data[:usable], dtype="<i2")
    return (pcm.astype(np.float32) / (PCM16_FULL_SCALE + 1)).astype(np.float32)


def first_audible_index(
    samples: npt.NDArray[np.floating] | npt.NDArray[np.integer],
    threshold_dbfs: float = DEFAULT_AUDIBLE_THRESHOLD_DBFS,
    full_scale: float = 1.0,
) -> int | None:
    """Index of the first sample whose magnitude reaches ``threshold_dbfs``, or None if silent."""
    threshold = full_scale * 10 ** (threshold_dbfs / 20)
    loud = np.flatnonzero(np.abs(samples.astype(np.float64)) >= threshold)
    return int(loud[0]) if loud.size else None


def iter_chunks(clip: AudioClip, chunk_ms: float) -> Iterator[FloatArray]:
    """Split a clip into consecutive chunks of ``chunk_ms`` (the last may be shorter)."""
    if chunk_ms <= 0:
        raise AudioError(f"{clip.source}: chunk size must be positive, got {chunk_ms} ms")
    step = max(1, round(clip.sample_rate_hz * chunk_ms / 1000))
    for start in range(0, clip.num_samples, step):
        yield clip.samples[start : start + step]
