"""Speculative transcription: start transcribing a turn when its closing silence begins.

Server VAD ends a turn only after ``silence_duration_ms`` of silence (500 ms by default); the
transcript cannot change during that wait, because the audio transcribed ends a fixed margin
after the end of speech (``turn_audio_end_ms``). So the transcription can start as soon as the
margin has arrived. If the silence completes the turn, the turn's audio is exactly the audio
already being transcribed and that transcript is used; if the user speaks again, it is
discarded. The VAD decides the turn as before: only the transcription finishes earlier.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from voicelab.vad import StreamingVAD

TRANSCRIBED_SILENCE_MS = 200  # kept after the end of speech: soft word endings fall below the VAD

Span = tuple[int, int]  # start and end of a turn's audio, in ms of the stream


def turn_audio_end_ms(speech_end_ms: int, silence_duration_ms: int) -> int:
    """Where the audio transcribed for a turn ends: a margin after its end of speech."""
    return speech_end_ms + min(TRANSCRIBED_SILENCE_MS, silence_duration_ms)


def speculation_span(vad: StreamingVAD, turn_start_ms: int) -> Span | None:
    """The span a turn in progress would have if its current silence ends it, once all of that
    audio has arrived; None while speech goes on or the margin is still arriving."""
    silence_ms = vad.silence_start_ms
    if silence_ms is None:
        return None
    end_ms = turn_audio_end_ms(silence_ms, vad.config.silence_duration_ms)
    return (turn_start_ms, end_ms) if vad.position_ms >= end_ms else None


class SpeculativeTranscript:
    """At most one transcription started ahead of the turn's end, keyed by its audio span."""

    def __init__(self) -> None:
        self._span: Span | None = None
        self._task: asyncio.Task[str] | None = None

    @property
    def span(self) -> Span | None:
        """The span being transcribed, or None."""
        return self._span

    def start(self, span: Span, transcribe: Callable[[], Coroutine[Any, Any, str]]) -> None:
        """Transcribe ``span`` now, unless it already is; any other speculation is dropped."""
        if span == self._span:
            return
        self.discard()
        self._span, self._task = span, asyncio.create_task(transcribe())

    def take(self, span: Span) -> asyncio.Task[str] | None:
        """The transcription of exactly ``span`` if one was started (then forgotten here);
        None, discarding any other, if not."""
        task = self._task if span == self._span else None
        if task is None:
            self.discard()
        self._span = self._task = None
        return task

    def discard(self) -> None:
        """Drop the speculation (the user spoke again): its result will never be used."""
        if self._task is not None:
            self._task.cancel()
            self._task.add_done_callback(_retrieve)
        self._span = self._task = None


def _retrieve(task: asyncio.Task[str]) -> None:
    """Mark a discarded task's failure as seen: its result was never going to be used."""
    if not task.cancelled():
        task.exception()
