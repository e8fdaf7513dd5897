"""A local ``StreamedTranscriptionSession``: Silero VAD ends each turn, Whisper transcribes it.

This is what lets the chained pipeline listen like a microphone (the SDK's streamed mode)
without a cloud transcription session. It records when it detected each turn's end, on the
same ``perf_counter_ns`` clock as every other stamp, so endpointing delay is a measurement.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Protocol

import numpy as np
from agents.voice import StreamedAudioInput, StreamedTranscriptionSession

from voicelab.audio import PCM16_FULL_SCALE, AudioClip, FloatArray
from voicelab.audio_formats import PCM_RATE_HZ
from voicelab.clock import Clock, PerfCounterClock
from voicelab.vad import StreamingVAD, VadConfig


class ClipTranscriber(Protocol):
    """Anything that transcribes a whole clip, blocking (``FasterWhisperSTTModel``)."""

    def transcribe_clip(self, clip: AudioClip) -> str: ...


def _as_float(chunk: np.ndarray) -> FloatArray:
    if chunk.dtype == np.int16:
        return np.asarray(chunk.astype(np.float32) / (PCM16_FULL_SCALE + 1), np.float32).ravel()
    return np.asarray(chunk, dtype=np.float32).ravel()


class LocalTranscriptionSession(StreamedTranscriptionSession):
    """Yields one transcript per turn the VAD closes (and one for speech cut off by the end)."""

    def __init__(
        self,
        input: StreamedAudioInput,
        transcriber: ClipTranscriber,
        vad_config: VadConfig | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._input = input
        self._transcriber = transcriber
        self._vad = StreamingVAD(vad_config, sample_rate_hz=PCM_RATE_HZ)
        self._clock: Clock = clock or PerfCounterClock()
        self._audio = np.zeros(0, dtype=np.float32)
        self._offset = 0  # stream sample index of self._audio[0]
        self._turn_start: int | None = None
        self.last_turn_detected_ns: int | None = None

    def _sample(self, ms: int) -> int:
        return ms * PCM_RATE_HZ // 1000

    async def _transcribe(self, start: int, end: int) -> str:
        segment = self._audio[max(0, start - self._offset) : max(0, end - self._offset)]
        self._audio = self._audio[max(0, end - self._offset) :]
        self._offset = max(self._offset, end)
        if segment.size == 0:
            return ""
        clip = AudioClip(segment, PCM_RATE_HZ, source="streamed turn")
        return await asyncio.to_thread(self._transcriber.transcribe_clip, clip)

    async def transcribe_turns(self) -> AsyncIterator[str]:
        while (chunk := await self._input.queue.get()) is not None:
            audio = _as_float(chunk)
            self._audio = np.concatenate([self._audio, audio])
            for event in self._vad.push(audio):  # ~0.2 ms per 32 ms window: no thread needed
                if event.kind == "speech_started":
                    self._turn_start = self._sample(event.audio_start_ms)
                elif self._turn_start is not None and event.audio_end_ms is not None:
                    self.last_turn_detected_ns = self._clock.now_ns()
                    text = await self._transcribe(
                        self._turn_start, self._sample(event.audio_end_ms)
                    )
                    self._turn_start = None
                    if text:
                        yield text
        if self._turn_start is not None:  # the stream ended mid-turn: that ends the turn
            self.last_turn_detected_ns = self._clock.now_ns()
            text = await self._transcribe(self._turn_start, self._offset + len(self._audio))
            self._turn_start = None
            if text:
                yield text

    async def close(self) -> None:
        return None
