"""The interface a script is spoken through: any TTS voice that turns text into a clip."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from voicelab.audio import AudioClip


@dataclass(frozen=True, kw_only=True)
class VoiceChoice:
    """The voice a turn is spoken with, resolved from the script and the synthesiser's default."""

    name: str
    """Short name, recorded as the turn's ``voice`` tag."""
    ref: str
    """What the synthesiser finds the voice by (a voice name, a voice file's path)."""
    identity: Mapping[str, Any] = field(default_factory=dict)
    """Everything that decides the audio (backend, model, voice, format), no secrets: finished
    audio is reused only while it is unchanged."""


class SpeechSynthesizer(Protocol):
    """A TTS voice for ``voicelab.datasets.synthesis``; errors name the turn (``where``)."""

    @property
    def model_name(self) -> str:
        """The TTS model, recorded as the turn's ``tts_model`` tag."""
        ...

    def voice(self, requested: str | None, language: str | None, where: str) -> VoiceChoice:
        """The voice for a turn that asks for ``requested`` (None: the default) and says it
        speaks ``language``; a voice that cannot is a ``ConfigError`` naming ``where``."""
        ...

    def synthesize(self, text: str, voice: VoiceChoice, where: str) -> AudioClip:
        """``text`` spoken by ``voice``."""
        ...
