"""The three engines behind ``voicelab serve``: what its routes and realtime cascade call.

The embedded models (faster-whisper, piper, llama.cpp) implement them, running their blocking
inference in worker threads; so does the synthetic load backend (``voicelab.server.synthetic``),
which answers at once on the event loop. Each engine decides where its work runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from voicelab.audio import AudioClip
from voicelab.providers.chat_chunks import Chunk


class TranscriptionEngine(Protocol):
    """Speech to text, one whole clip at a time."""

    @property
    def model_name(self) -> str:
        """The name the engine reports (in realtime sessions)."""
        ...

    async def atranscribe_clip(self, clip: AudioClip) -> str:
        """The clip's transcript, without blocking the event loop."""
        ...


class SpeechEngine(Protocol):
    """Text to speech as streamed PCM16 at 24 kHz."""

    @property
    def model_name(self) -> str:
        """The name the engine reports (in realtime sessions)."""
        ...

    def astream_pcm16(self, text: str) -> AsyncIterator[bytes]:
        """PCM16 chunks (24 kHz mono) as they are ready, without blocking the event loop; the
        work stops when the consumer closes the iterator."""
        ...


class ChatEngine(Protocol):
    """Chat Completions request bodies in, ``chat.completion.chunk`` dicts out."""

    @property
    def model_name(self) -> str:
        """The name the engine reports (in chunks and realtime sessions)."""
        ...

    def astream(self, request: Mapping[str, Any]) -> AsyncIterator[Chunk]:
        """The chunks of the answer, without blocking the event loop."""
        ...

    async def acomplete(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The whole ``chat.completion``, without blocking the event loop."""
        ...
