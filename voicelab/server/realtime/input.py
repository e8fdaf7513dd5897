"""A realtime session's input audio buffer, with server VAD over everything appended.

Positions are ms since the session's first appended sample, as OpenAI counts
``audio_start_ms``/``audio_end_ms``. With VAD on, audio outside a turn is dropped except the
last ``prefix_padding_ms`` (the start of the next turn), so a commit never sends silence.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from typing import Any

from voicelab.audio import pcm16_bytes_to_float
from voicelab.audio_formats import PCM_RATE_HZ, PCM_SAMPLE_BYTES
from voicelab.providers.speculation import Span, speculation_span, turn_audio_end_ms
from voicelab.server.realtime.config import vad_config
from voicelab.vad import StreamingVAD, VadEvent

_BYTES_PER_MS = PCM_RATE_HZ * PCM_SAMPLE_BYTES // 1000
MIN_COMMIT_MS = 100  # OpenAI refuses to commit less than 100 ms of audio
_PREFIX_MARGIN_MS = 100  # VAD decisions lag the audio by up to a window plus the resampler


class InputAudioBuffer:
    """PCM16 bytes not yet committed, and the VAD that watches them."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        """The most uncommitted audio kept; the session refuses appends past it."""
        self._pcm = bytearray()
        self._start_ms = 0.0  # session position of the buffer's first byte
        self._received_ms = 0.0  # audio appended since the session began
        self._vad: StreamingVAD | None = None
        self._vad_origin_ms = 0
        self._turn_start_ms: int | None = None  # session time, while the VAD hears a turn

    @property
    def duration_ms(self) -> float:
        """Length of the uncommitted audio."""
        return len(self._pcm) / _BYTES_PER_MS

    @property
    def room_bytes(self) -> int:
        """How much the next append may add (audio it would drop outside a turn aside)."""
        return self.max_bytes - len(self._pcm) + self._outside_turn_bytes()

    @property
    def vad_enabled(self) -> bool:
        """Whether server VAD decides the turns."""
        return self._vad is not None

    @property
    def in_speech(self) -> bool:
        """Whether the VAD has heard a turn start that has not stopped yet."""
        return self._vad is not None and self._vad.in_speech

    async def configure(self, detection: Mapping[str, Any] | None) -> None:
        """Follow the session's turn detection (a new VAD starts listening from now)."""
        if detection is None:
            self._vad, self._turn_start_ms = None, None
            return
        config = vad_config(detection)
        if self._vad is not None and self._vad.config == config:
            return
        self._turn_start_ms = None
        # Building the first detector loads the ONNX model: keep that off the event loop.
        self._vad = await asyncio.to_thread(StreamingVAD, config, PCM_RATE_HZ)
        self._vad_origin_ms = round(self._received_ms)

    async def append(self, pcm: bytes) -> list[VadEvent]:
        """Add whole PCM16 samples (at most ``room_bytes``); return the turn boundaries the
        VAD found in them.

        The caller takes each stopped turn before the next append, which drops what is left
        outside a turn.
        """
        self._drop(self._outside_turn_bytes())
        self._pcm += pcm
        self._received_ms += len(pcm) / _BYTES_PER_MS
        if self._vad is None:
            return []
        events = await asyncio.to_thread(self._vad.push, pcm16_bytes_to_float(pcm))
        moved = [self._in_session_time(e) for e in events]
        for event in moved:
            self._turn_start_ms = event.audio_start_ms if event.kind == "speech_started" else None
        return moved

    def transcribed_span(self, stopped: VadEvent) -> Span:
        """The audio of a VAD turn that is transcribed: up to a margin after its speech."""
        assert self._vad is not None and stopped.speech_end_ms is not None
        end_ms = turn_audio_end_ms(stopped.speech_end_ms, self._vad.config.silence_duration_ms)
        return stopped.audio_start_ms, end_ms

    def pending_span(self) -> Span | None:
        """The span the turn in progress would be transcribed from if its current silence
        ends it, once all that audio is here (``voicelab.providers.speculation``)."""
        if self._vad is None or self._turn_start_ms is None:
            return None
        origin = self._vad_origin_ms
        span = speculation_span(self._vad, self._turn_start_ms - origin)
        return None if span is None else (span[0] + origin, span[1] + origin)

    def audio(self, span: Span) -> bytes:
        """A copy of the uncommitted audio in ``span`` (session ms)."""
        return bytes(self._pcm[self._offset(span[0]) : max(0, self._offset(span[1]))])

    def take_all(self) -> bytes:
        """Everything uncommitted (a manual commit); the VAD forgets a turn in progress."""
        pcm = bytes(self._pcm)
        self.clear()
        return pcm

    def take(self, start_ms: int, end_ms: int) -> bytes:
        """The audio of a VAD turn; audio after ``end_ms`` stays for the next turn."""
        first = self._offset(start_ms)
        last = max(first, self._offset(end_ms))
        pcm = bytes(self._pcm[first:last])
        self._drop(last)
        return pcm

    def clear(self) -> None:
        """Discard the uncommitted audio and any turn in progress."""
        self._drop(len(self._pcm))
        self._turn_start_ms = None
        if self._vad is not None:
            self._vad.reset()

    def _offset(self, ms: float) -> int:
        samples = round((ms - self._start_ms) * _BYTES_PER_MS / PCM_SAMPLE_BYTES)
        return min(max(0, samples * PCM_SAMPLE_BYTES), len(self._pcm))

    def _drop(self, count: int) -> None:
        del self._pcm[:count]
        self._start_ms += count / _BYTES_PER_MS

    def _outside_turn_bytes(self) -> int:
        """With VAD between turns: the audio before the next turn's prefix padding."""
        if self._vad is None or self._vad.in_speech:
            return 0
        keep_ms = self._vad.config.prefix_padding_ms + _PREFIX_MARGIN_MS
        excess = len(self._pcm) - keep_ms * _BYTES_PER_MS
        return max(0, excess - excess % 2)

    def _in_session_time(self, event: VadEvent) -> VadEvent:
        shift = self._vad_origin_ms

        def moved(ms: int | None) -> int | None:
            return None if ms is None else ms + shift

        return dataclasses.replace(
            event,
            audio_start_ms=event.audio_start_ms + shift,
            speech_start_ms=event.speech_start_ms + shift,
            audio_end_ms=moved(event.audio_end_ms),
            speech_end_ms=moved(event.speech_end_ms),
        )
