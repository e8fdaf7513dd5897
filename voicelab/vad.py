"""Streaming voice-activity detection with the Silero VAD model that faster-whisper ships.

``StreamingVAD`` takes audio in chunks of any length and reports where speech starts and stops,
with the semantics of OpenAI's ``server_vad`` turn detection: a turn starts at the first
32 ms window whose speech probability reaches ``threshold`` and ends once the probability has
stayed below ``threshold - 0.15`` for ``silence_duration_ms``. Chunking never changes the
result: windows are cut from the stream itself, and the model's recurrent state carries over.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import soxr

from voicelab._imports import require
from voicelab.audio import FloatArray
from voicelab.audio_formats import VAD_RATE_HZ
from voicelab.errors import ConfigError

WINDOW_SAMPLES = 512  # 32 ms at 16 kHz: the window the model scores
CONTEXT_SAMPLES = 64  # trailing samples of the previous window the model sees first
_STATE_SHAPE = (1, 1, 128)  # the LSTM's h and c
DEFAULT_WARMUP_SILENCE_MS = 320  # 10 windows: enough for every shared FSDD clip
_NEG_THRESHOLD_GAP = 0.15  # hysteresis: silence is below threshold - 0.15, as Silero advises


@lru_cache(maxsize=1)
def load_silero_vad() -> Any:
    """The Silero VAD ONNX session (from faster-whisper's assets), loaded once per process."""
    vad = require("faster_whisper.vad")
    return vad.get_vad_model().session


@dataclass(frozen=True, kw_only=True)
class VadConfig:
    """Turn-detection parameters, named and defaulted as OpenAI's ``server_vad``."""

    threshold: float = 0.5
    """Speech probability at or above which a window counts as speech."""
    prefix_padding_ms: int = 300
    """Audio kept before the first speech window as part of the turn."""
    silence_duration_ms: int = 500
    """Silence that ends a turn."""
    warmup_silence_ms: int = DEFAULT_WARMUP_SILENCE_MS
    """Silence the model hears before the stream, not part of it (stream positions are
    unchanged): from a cold recurrent state Silero misses speech at the very start of a
    stream (12 of the 150 shared one-word FSDD clips at threshold 0.5, none after 320 ms of
    warm-up); 0 starts cold, as before."""

    def __post_init__(self) -> None:
        if self.warmup_silence_ms < 0:
            raise ConfigError("VadConfig: warmup_silence_ms must be >= 0 (0: no warm-up)")
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError("VadConfig: threshold must be within (0, 1)")
        if self.prefix_padding_ms < 0 or self.silence_duration_ms <= 0:
            raise ConfigError(
                "VadConfig: prefix_padding_ms must be >= 0 and silence_duration_ms > 0"
            )


@dataclass(frozen=True)
class VadEvent:
    """A turn boundary; every position is in ms from the start of the stream."""

    kind: Literal["speech_started", "speech_stopped"]
    audio_start_ms: int
    """Where the turn's audio starts: the first speech window minus the prefix padding."""
    speech_start_ms: int
    """The first window at or above the threshold."""
    audio_end_ms: int | None = None
    """``speech_stopped`` only: where the closing silence reached ``silence_duration_ms``."""
    speech_end_ms: int | None = None
    """``speech_stopped`` only: where the closing silence began (the end of speech)."""


class StreamingVAD:
    """Feed float32 mono audio with ``push``; get the turn boundaries it completes.

    Blocking (ONNX inference, ~0.2 ms per 32 ms window): call it from a worker thread in
    async code. Audio at a rate other than 16 kHz is resampled as a stream.
    """

    def __init__(self, config: VadConfig | None = None, sample_rate_hz: int = VAD_RATE_HZ) -> None:
        self.config = config or VadConfig()
        self._session = load_silero_vad()
        self._resampler = (
            None
            if sample_rate_hz == VAD_RATE_HZ
            else soxr.ResampleStream(sample_rate_hz, VAD_RATE_HZ, 1, dtype="float32")
        )
        self._received = 0  # 16 kHz samples received since the stream began
        self.reset()

    def reset(self) -> None:
        """Forget partial windows, model state and any turn in progress; stream time goes on."""
        self._tail = np.zeros(0, dtype=np.float32)
        self._context = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)
        self._h = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._c = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._warm_up()
        self._next_window = self._received  # stream sample where the next window starts
        self._speech_start: int | None = None  # set while a turn is in progress
        self._silence_start: int | None = None

    def _warm_up(self) -> None:
        """Run the model over ``warmup_silence_ms`` of silence, keeping only its state."""
        count = self.config.warmup_silence_ms * VAD_RATE_HZ // 1000 // WINDOW_SAMPLES
        if count:
            self._scores(np.zeros((count, WINDOW_SAMPLES), dtype=np.float32))

    def _scores(self, windows: FloatArray) -> FloatArray:
        """Speech probabilities of consecutive windows (rows); the model's state carries on."""
        contexts = np.concatenate([self._context[None, :], windows[:-1, -CONTEXT_SAMPLES:]])
        self._context = windows[-1, -CONTEXT_SAMPLES:].copy()
        batch = np.concatenate([contexts, windows], axis=1)
        probs, self._h, self._c = self._session.run(
            None, {"input": batch, "h": self._h, "c": self._c}
        )
        return np.asarray(probs, dtype=np.float32).ravel()

    @property
    def in_speech(self) -> bool:
        """Whether a turn has started and not yet stopped."""
        return self._speech_start is not None

    @property
    def silence_start_ms(self) -> int | None:
        """Within a turn, where the silence that may end it began (the end of speech so far);
        None outside a turn and while speech goes on."""
        return None if self._silence_start is None else _ms(self._silence_start)

    @property
    def position_ms(self) -> int:
        """How much audio the detector has received, in ms."""
        return _ms(self._received)

    def push(self, samples: FloatArray) -> list[VadEvent]:
        """Add audio; return the events of every window it completes, in order."""
        audio = np.asarray(samples, dtype=np.float32).ravel()
        if self._resampler is not None:
            audio = np.asarray(self._resampler.resample_chunk(audio), dtype=np.float32)
        self._received += len(audio)
        self._tail = np.concatenate([self._tail, audio])
        count = len(self._tail) // WINDOW_SAMPLES
        if count == 0:
            return []
        windows = self._tail[: count * WINDOW_SAMPLES].reshape(count, WINDOW_SAMPLES)
        self._tail = self._tail[count * WINDOW_SAMPLES :]
        events: list[VadEvent] = []
        for prob in self._scores(windows):
            event = self._step(float(prob), self._next_window)
            self._next_window += WINDOW_SAMPLES
            if event is not None:
                events.append(event)
        return events

    def _step(self, prob: float, window_start: int) -> VadEvent | None:
        config = self.config
        if self._speech_start is None:
            if prob < config.threshold:
                return None
            self._speech_start, self._silence_start = window_start, None
            return VadEvent("speech_started", self._padded_start(), _ms(window_start))
        if prob >= config.threshold:
            self._silence_start = None
            return None
        if prob >= config.threshold - _NEG_THRESHOLD_GAP:
            return None  # in the hysteresis band: neither speech nor silence
        if self._silence_start is None:
            self._silence_start = window_start
        window_end = window_start + WINDOW_SAMPLES
        if _ms(window_end - self._silence_start) < config.silence_duration_ms:
            return None
        event = VadEvent(
            "speech_stopped",
            self._padded_start(),
            _ms(self._speech_start),
            audio_end_ms=_ms(window_end),
            speech_end_ms=_ms(self._silence_start),
        )
        self._speech_start = self._silence_start = None
        return event

    def _padded_start(self) -> int:
        assert self._speech_start is not None
        return max(0, _ms(self._speech_start) - self.config.prefix_padding_ms)


def _ms(samples: int) -> int:
    return samples * 1000 // VAD_RATE_HZ
