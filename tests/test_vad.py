"""The streaming Silero VAD on real recorded speech padded with silence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voicelab.audio import AudioClip, FloatArray, load_audio, resample
from voicelab.audio_formats import VAD_RATE_HZ
from voicelab.errors import ConfigError
from voicelab.vad import StreamingVAD, VadConfig, VadEvent

pytestmark = pytest.mark.slow

CLIPS = ("LJ001-0002.wav", "LJ001-0005.wav")


def _padded_speech(shared_data: Path, name: str) -> tuple[FloatArray, float]:
    """1 s of silence, the clip at 16 kHz, 1 s of silence; and the speech's length in s."""
    clip = resample(load_audio(shared_data / "ljspeech-sample" / name), VAD_RATE_HZ)
    silence = np.zeros(VAD_RATE_HZ, dtype=np.float32)
    return np.concatenate([silence, clip.samples, silence]), clip.duration_s


def _run(samples: FloatArray, chunk_ms: int, rate_hz: int = VAD_RATE_HZ) -> list[VadEvent]:
    vad = StreamingVAD(sample_rate_hz=rate_hz)
    step = rate_hz * chunk_ms // 1000
    events: list[VadEvent] = []
    for start in range(0, len(samples), step):
        events.extend(vad.push(samples[start : start + step]))
    return events


@pytest.mark.parametrize("name", CLIPS)
def test_one_turn_in_padded_speech(shared_data: Path, name: str) -> None:
    samples, speech_s = _padded_speech(shared_data, name)
    events = _run(samples, chunk_ms=100)
    assert [e.kind for e in events] == ["speech_started", "speech_stopped"]
    started, stopped = events
    assert started.speech_start_ms == pytest.approx(1000, abs=300)
    assert started.audio_start_ms == started.speech_start_ms - VadConfig().prefix_padding_ms
    assert stopped.speech_end_ms is not None and stopped.audio_end_ms is not None
    speech_end_ms = 1000 + speech_s * 1000
    assert speech_end_ms - 400 <= stopped.speech_end_ms <= speech_end_ms + 300
    assert stopped.audio_end_ms - stopped.speech_end_ms >= VadConfig().silence_duration_ms
    assert stopped.audio_end_ms <= len(samples) * 1000 // VAD_RATE_HZ


def test_silence_gives_no_events() -> None:
    vad = StreamingVAD()
    assert vad.push(np.zeros(3 * VAD_RATE_HZ, dtype=np.float32)) == []
    assert not vad.in_speech
    assert vad.position_ms == 3000


def test_chunk_size_does_not_change_events(shared_data: Path) -> None:
    samples, _ = _padded_speech(shared_data, CLIPS[0])
    assert _run(samples, chunk_ms=10) == _run(samples, chunk_ms=100) == _run(samples, 1000)


def test_resamples_24khz_input(shared_data: Path) -> None:
    samples, _ = _padded_speech(shared_data, CLIPS[0])
    at_24k = resample(AudioClip(samples, VAD_RATE_HZ), 24_000).samples
    native = _run(samples, chunk_ms=100)
    converted = _run(at_24k, chunk_ms=100, rate_hz=24_000)
    assert [e.kind for e in converted] == [e.kind for e in native]
    for a, b in zip(converted, native, strict=True):
        assert a.speech_start_ms == pytest.approx(b.speech_start_ms, abs=64)


def test_reset_forgets_a_turn_in_progress(shared_data: Path) -> None:
    samples, _ = _padded_speech(shared_data, CLIPS[0])
    vad = StreamingVAD()
    events = vad.push(samples[: int(1.5 * VAD_RATE_HZ)])
    assert [e.kind for e in events] == ["speech_started"] and vad.in_speech
    vad.reset()
    assert not vad.in_speech
    assert vad.push(np.zeros(VAD_RATE_HZ, dtype=np.float32)) == []


@pytest.mark.parametrize(
    "values",
    [{"threshold": 0.0}, {"threshold": 1.5}, {"silence_duration_ms": 0}, {"warmup_silence_ms": -1}],
)
def test_config_is_checked(values: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        VadConfig(**values)  # type: ignore[arg-type]


# one-word FSDD clips that a cold detector missed (speech from their first sample on)
COLD_MISSES = ("3_jackson_1.wav", "4_theo_2.wav", "2_george_0.wav", "8_jackson_2.wav")


def _stream_events(clip: AudioClip, config: VadConfig) -> list[VadEvent]:
    """The clip from the stream's first sample, then 800 ms of silence (as the feeder sends)."""
    samples = resample(clip, VAD_RATE_HZ).samples
    vad = StreamingVAD(config)
    events = vad.push(samples)
    return events + vad.push(np.zeros(VAD_RATE_HZ * 800 // 1000, dtype=np.float32))


def test_warm_up_hears_a_word_at_the_very_start_of_the_stream(shared_data: Path) -> None:
    clips = [load_audio(shared_data / "fsdd-sample" / name) for name in COLD_MISSES]
    for clip in clips:
        kinds = [e.kind for e in _stream_events(clip, VadConfig())]
        assert kinds == ["speech_started", "speech_stopped"], clip.source
    cold = [_stream_events(clip, VadConfig(warmup_silence_ms=0)) for clip in clips]
    assert sum(not events for events in cold) >= 2  # the defect the warm-up removes


def test_warm_up_leaves_stream_positions_alone(shared_data: Path) -> None:
    samples, _ = _padded_speech(shared_data, CLIPS[0])
    vad = StreamingVAD(VadConfig(warmup_silence_ms=640))
    assert vad.position_ms == 0
    warm = vad.push(samples)
    cold = StreamingVAD(VadConfig(warmup_silence_ms=0)).push(samples)
    assert [e.kind for e in warm] == [e.kind for e in cold]
    assert abs(warm[0].speech_start_ms - cold[0].speech_start_ms) <= 64
