"""The Agents SDK's ``TTSModel`` over piper-tts, streaming a chunk per sentence at 24 kHz."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import numpy as np
import soxr
from agents.voice import TTSModel, TTSModelSettings

from voicelab._async import iterate_in_thread
from voicelab._imports import require
from voicelab.audio import FloatArray, first_audible_index, to_pcm16
from voicelab.audio_formats import PCM_RATE_HZ
from voicelab.errors import ModelError
from voicelab.providers.local_config import PiperConfig
from voicelab.providers.local_models import load_piper, model_lock


def trim_leading_silence(samples: FloatArray, rate_hz: int, keep_ms: float) -> FloatArray:
    """``samples`` from ``keep_ms`` before the first audible sample (the audible threshold of
    the latency measurement); unchanged if none is audible or the silence is shorter."""
    first = first_audible_index(samples)
    if first is None:
        return samples
    return samples[max(0, first - round(keep_ms * rate_hz / 1000)) :]


class PiperTTSModel(TTSModel):
    """Synthesises with piper in a worker thread and yields PCM16 as each sentence is ready."""

    def __init__(self, config: PiperConfig | None = None) -> None:
        self.config = config or PiperConfig()
        self._voice = load_piper(self.config)
        self._lock = model_lock(id(self._voice))

    @property
    def model_name(self) -> str:
        return self.config.served_name

    @property
    def native_rate_hz(self) -> int:
        """The voice's own sample rate (22.05 kHz for joe-medium)."""
        return int(self._voice.config.sample_rate)

    def synthesize_pcm16(self, text: str) -> Iterator[bytes]:
        """Blocking: PCM16 bytes at 24 kHz, one chunk per sentence piper produces (its leading
        silence cut to ``max_leading_silence_ms``)."""
        piper = require("piper")
        syn_config = piper.SynthesisConfig(length_scale=self.config.length_scale)
        resampler = soxr.ResampleStream(
            self.native_rate_hz, PCM_RATE_HZ, 1, dtype="float32", quality="HQ"
        )
        try:
            with self._lock:
                for chunk in self._voice.synthesize(text, syn_config=syn_config):
                    samples = np.asarray(chunk.audio_float_array, dtype=np.float32)
                    if self.config.max_leading_silence_ms is not None:
                        samples = trim_leading_silence(
                            samples, self.native_rate_hz, self.config.max_leading_silence_ms
                        )
                    yield to_pcm16(resampler.resample_chunk(samples)).tobytes()
                tail = resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
                if tail.size:
                    yield to_pcm16(tail).tobytes()
        except (RuntimeError, ValueError) as e:
            raise ModelError(f"Piper failed to synthesise {len(text)} characters: {e}") from e

    def astream_pcm16(self, text: str) -> AsyncIterator[bytes]:
        """``synthesize_pcm16`` in a worker thread, chunks yielded as they are made."""
        return iterate_in_thread(lambda: self.synthesize_pcm16(text))

    async def run(self, text: str, settings: TTSModelSettings) -> AsyncIterator[bytes]:
        async for pcm in self.astream_pcm16(text):
            yield pcm

    def describe(self) -> dict[str, Any]:
        """Settings recorded with a run."""
        return {"model": self.model_name, **self.config.__dict__}
