from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voicelab.audio import (
    AudioClip,
    clip_from_array,
    first_audible_index,
    iter_chunks,
    load_audio,
    resample,
    save_audio,
    to_pcm16,
)
from voicelab.errors import AudioError


def _tone(freq_hz: float, rate_hz: int, seconds: float = 1.0) -> AudioClip:
    t = np.arange(int(rate_hz * seconds)) / rate_hz
    return AudioClip((0.5 * np.sin(2 * math.pi * freq_hz * t)).astype(np.float32), rate_hz)


def _peak_hz(clip: AudioClip) -> float:
    spectrum = np.abs(np.fft.rfft(clip.samples))
    return float(np.fft.rfftfreq(clip.num_samples, 1 / clip.sample_rate_hz)[spectrum.argmax()])


@pytest.mark.parametrize("source_rate", [8_000, 22_050, 44_100])
def test_resample_keeps_pitch_and_duration(source_rate: int) -> None:
    out = resample(_tone(440.0, source_rate), 16_000)
    assert out.sample_rate_hz == 16_000
    assert out.duration_s == pytest.approx(1.0, abs=1e-3)
    assert _peak_hz(out) == pytest.approx(440.0, abs=2.0)


def test_shared_clips_resample_to_whisper_rate(shared_data: Path) -> None:
    for clip_path in ["fsdd-sample/0_jackson_0.wav", "ljspeech-sample/LJ001-0002.wav"]:
        clip = load_audio(shared_data / clip_path)
        out = resample(clip, 16_000)
        assert out.duration_s == pytest.approx(clip.duration_s, abs=2e-3)


def test_stereo_is_downmixed(tmp_path: Path) -> None:
    frames = np.stack([np.full(800, 0.5), np.full(800, -0.1)], axis=1)
    sf.write(tmp_path / "s.wav", frames, 8_000)
    clip = load_audio(tmp_path / "s.wav")
    assert clip.samples.ndim == 1
    assert clip.samples[0] == pytest.approx(0.2, abs=1e-3)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    clip = _tone(300.0, 16_000, 0.25)
    loaded = load_audio(save_audio(clip, tmp_path / "t.wav"))
    assert loaded.sample_rate_hz == 16_000
    assert np.max(np.abs(loaded.samples - clip.samples)) < 1e-3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        (b"", "empty"),
        (b"hello, this is not audio", "corrupt"),
        (b"RIFF\x00\x00\x00\x00WAVEjunk", "corrupt"),
    ],
)
def test_bad_files_raise_specific_errors(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "bad.wav"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(AudioError, match=message) as info:
        load_audio(path)
    assert str(path) in str(info.value)


def test_zero_length_file(tmp_path: Path) -> None:
    sf.write(tmp_path / "zero.wav", np.zeros(0, dtype=np.float32), 16_000)
    with pytest.raises(AudioError, match="zero-length"):
        load_audio(tmp_path / "zero.wav")


def test_absurd_sample_rate(tmp_path: Path) -> None:
    sf.write(tmp_path / "slow.wav", np.zeros(100, dtype=np.float32), 100)
    with pytest.raises(AudioError, match="sample rate 100 Hz"):
        load_audio(tmp_path / "slow.wav")


def test_nan_samples(tmp_path: Path) -> None:
    data = np.zeros(1000, dtype=np.float32)
    data[10] = np.nan
    sf.write(tmp_path / "nan.wav", data, 16_000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN or infinite"):
        load_audio(tmp_path / "nan.wav")


def test_int16_arrays_are_scaled() -> None:
    clip = clip_from_array(np.array([16384, -32768], dtype=np.int16), 16_000)
    assert clip.samples.tolist() == [0.5, -1.0]


def test_pcm16_clips_out_of_range() -> None:
    assert to_pcm16(np.array([2.0, -2.0, 0.0], dtype=np.float32)).tolist() == [32767, -32767, 0]


def test_first_audible_index() -> None:
    samples = np.zeros(100, dtype=np.float32)
    samples[40] = 0.005  # -46 dBFS: still silence
    samples[60] = 0.02  # -34 dBFS: audible
    assert first_audible_index(samples) == 60
    assert first_audible_index(np.zeros(10, dtype=np.float32)) is None


def test_chunks_cover_the_clip() -> None:
    clip = _tone(100.0, 24_000, 0.1)
    chunks = list(iter_chunks(clip, 20))
    assert [len(c) for c in chunks] == [480] * 5
