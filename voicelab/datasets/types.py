"""Dataset types: a dataset is conversations, a conversation is ordered turns of user speech."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicelab.audio import AudioClip, load_audio


@dataclass(frozen=True, kw_only=True)
class ExpectedToolCall:
    """A tool the agent should call in a turn, with the arguments that must match (a subset)."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Turn:
    """One user utterance with optional references to score the agent's turn against."""

    conversation_id: str
    turn_index: int
    audio: Path | AudioClip
    reference_text: str | None = None
    expected_keywords: tuple[str, ...] = ()
    expected_regex: str | None = None
    expected_tool_call: ExpectedToolCall | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    language: str | None = None
    """ISO 639 code of the speech (``en``, ``fr``, ``pt-BR``...); None when unknown (scored as
    English)."""

    @property
    def turn_id(self) -> str:
        """A stable id, unique within a dataset: ``conversation_id#turn_index``."""
        return f"{self.conversation_id}#{self.turn_index}"

    @property
    def audio_source(self) -> str:
        """Where the audio comes from, for rows and error messages."""
        return str(self.audio) if isinstance(self.audio, Path) else self.audio.source

    def load_clip(self) -> AudioClip:
        """The turn's audio as a clip, read from disk if it is a path."""
        return load_audio(self.audio) if isinstance(self.audio, Path) else self.audio


@dataclass(frozen=True, kw_only=True)
class Conversation:
    """An ordered list of turns that share context (agent history, a realtime session)."""

    conversation_id: str
    turns: tuple[Turn, ...]


@dataclass(frozen=True, kw_only=True)
class Dataset:
    """A named list of conversations."""

    name: str
    conversations: tuple[Conversation, ...]

    def __iter__(self) -> Iterator[Conversation]:
        return iter(self.conversations)

    @property
    def num_turns(self) -> int:
        """Total number of turns over all conversations."""
        return sum(len(c.turns) for c in self.conversations)

    def head(self, max_turns: int) -> Dataset:
        """The first whole conversations holding at most ``max_turns`` turns (one at least)."""
        kept: list[Conversation] = []
        count = 0
        for conversation in self.conversations:
            if kept and count + len(conversation.turns) > max_turns:
                break
            kept.append(conversation)
            count += len(conversation.turns)
        return Dataset(name=self.name, conversations=tuple(kept))
