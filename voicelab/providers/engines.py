"""The three engines behind ``voicelab serve``: what its routes and realtime cascade call.

The embedded models (faster-whisper, piper, llama.cpp) implement them, and so does the synthetic
load backend (``voicelab.server.synthetic``), which answers at once without a model.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Protocol

from voicelab.audio import AudioClip
from voicelab.providers.chat_chunks import Chunk


class TranscriptionEngine(Protocol):
    """Speech to text, one whole clip at a time."""

    @property
    def model_name(self) -> str:
        """The name the engine reports (in realtime sessions)."""
        ...

    def transcribe_clip(self, clip: AudioClip) -> str:
        """Blocking: the clip's transcript."""
        ...


class SpeechEngine(Protocol):
    """Text to speech as streamed PCM16 at 24 kHz."""

    @property
    def model_name(self) -> str:
        """The name the engine reports (in realtime sessions)."""
        ...

    def synthesize_pcm16(self, text: str) -> Iterator[bytes]:
        """Blocking: PCM16 chunks (24 kHz mono) as they are ready."""
        ...


class ChatEngine(Protocol):
    """Chat Completions request bodies in, ``chat.completion.chunk`` dicts out."""

    @property
    def model_name(self) -> str:
        """The name the engine reports (in chunks and realtime sessions)."""
        ...

    def stream(self, request: Mapping[str, Any]) -> Iterator[Chunk]:
        """Blocking: the chunks of the answer."""
        ...

    def astream(self, request: Mapping[str, Any]) -> AsyncIterator[Chunk]:
        """The chunks of the answer, without blocking the event loop."""
        ...

    def complete(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Blocking: the whole ``chat.completion``."""
        ...
