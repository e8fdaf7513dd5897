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
from voicelab.providers.speculation import (
    Span,
    SpeculativeTranscript,
    speculation_span,
    turn_audio_end_ms,
)
from voicelab.vad import StreamingVAD, VadConfig


class ClipTranscriber(Protocol):
    """Anything that transcribes a whole clip, blocking (``FasterWhisperSTTModel``)."""

    def transcribe_clip(self, clip: AudioClip) -> str: ...


def _as_float(chunk: np.ndarray) -> FloatArray:
    if chunk.dtype == np.int16:
        return np.asarray(chunk.astype(np.float32) / (PCM16_FULL_SCALE + 1), np.float32).ravel()
    return np.asarray(chunk, dtype=np.float32).ravel()


class LocalTranscriptionSession(StreamedTranscriptionSession):
    """Yields one transcript per turn the VAD closes (and one for speech cut off by the end).

    With ``speculative``, each turn's transcription starts when its closing silence begins
    (``voicelab.providers.speculation``) and is used only if that silence ends the turn.
    """

    def __init__(
        self,
        input: StreamedAudioInput,
        transcriber: ClipTranscriber,
        vad_config: VadConfig | None = None,
        clock: Clock | None = None,
        speculative: bool = False,
    ) -> None:
        self._input = input
        self._transcriber = transcriber
        self._vad = StreamingVAD(vad_config, sample_rate_hz=PCM_RATE_HZ)
        self._clock: Clock = clock or PerfCounterClock()
        self._speculative = speculative
        self._speculation = SpeculativeTranscript()
        self._audio = np.zeros(0, dtype=np.float32)
        self._offset = 0  # stream sample index of self._audio[0]
        self._turn_start_ms: int | None = None
        self.last_turn_detected_ns: int | None = None
        self.speculations_started = 0
        """Speculative transcriptions started (for tests and logs)."""
        self.speculations_used = 0
        """Turns whose transcript came from a speculative transcription."""
        self.empty_turns = 0
        """Turns the VAD detected whose transcript was empty: not passed on (nothing to answer)."""

    def _passed_on(self, text: str) -> bool:
        """Whether a closed turn's transcript goes to the agent; an empty one is counted."""
        if not text:
            self.empty_turns += 1
        return bool(text)

    def _sample(self, ms: int) -> int:
        return ms * PCM_RATE_HZ // 1000

    def _clip(self, span: Span) -> AudioClip:
        """A copy of the stream's audio in ``span`` (ms)."""
        first, last = (max(0, self._sample(ms) - self._offset) for ms in span)
        return AudioClip(self._audio[first:last].copy(), PCM_RATE_HZ, source="streamed turn")

    def _consume(self, end_ms: int) -> None:
        """Forget the audio before ``end_ms``: it belongs to a finished turn."""
        end = self._sample(end_ms)
        self._audio = self._audio[max(0, end - self._offset) :]
        self._offset = max(self._offset, end)

    async def _transcribe(self, clip: AudioClip) -> str:
        if clip.samples.size == 0:
            return ""
        return await asyncio.to_thread(self._transcriber.transcribe_clip, clip)

    async def _turn_text(self, span: Span) -> str:
        """The transcript of a closed turn: the speculation's if it covered this very span."""
        task = self._speculation.take(span)
        if task is not None:
            self.speculations_used += 1
            return await task
        return await self._transcribe(self._clip(span))

    def _speculate(self) -> None:
        if not self._speculative or self._turn_start_ms is None:
            return
        span = speculation_span(self._vad, self._turn_start_ms)
        if span is None:
            self._speculation.discard()  # speech goes on (or resumed): nothing to guess yet
        elif span != self._speculation.span:
            self.speculations_started += 1
            self._speculation.start(span, lambda: self._transcribe(self._clip(span)))

    async def transcribe_turns(self) -> AsyncIterator[str]:
        while (chunk := await self._input.queue.get()) is not None:
            audio = _as_float(chunk)
            self._audio = np.concatenate([self._audio, audio])
            for event in self._vad.push(audio):  # ~0.2 ms per 32 ms window: no thread needed
                if event.kind == "speech_started":
                    self._turn_start_ms = event.audio_start_ms
                elif self._turn_start_ms is not None and event.speech_end_ms is not None:
                    self.last_turn_detected_ns = self._clock.now_ns()
                    end_ms = turn_audio_end_ms(
                        event.speech_end_ms, self._vad.config.silence_duration_ms
                    )
                    text = await self._turn_text((self._turn_start_ms, end_ms))
                    self._consume(end_ms)
                    self._turn_start_ms = None
                    if self._passed_on(text):
                        yield text
            self._speculate()
        self._speculation.discard()
        if self._turn_start_ms is not None:  # the stream ended mid-turn: that ends the turn
            self.last_turn_detected_ns = self._clock.now_ns()
            end = self._offset + len(self._audio)
            span = (self._turn_start_ms, end * 1000 // PCM_RATE_HZ + 1)
            text = await self._transcribe(self._clip(span))
            self._turn_start_ms = None
            if self._passed_on(text):
                yield text

    async def close(self) -> None:
        self._speculation.discard()
