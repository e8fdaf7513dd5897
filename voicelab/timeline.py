"""Timeline: named monotonic timestamps of one turn, and the recorder that stamps them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from voicelab.clock import Clock, PerfCounterClock


class Event:
    """Names of the timeline events both architectures stamp (where they apply)."""

    AUDIO_INPUT_START = "audio_input_start"  # first user audio handed to the pipeline
    END_OF_SPEECH = "end_of_speech"  # last user audio sample handed to the pipeline
    TURN_DETECTED = "turn_detected"  # the pipeline decided the user's turn ended (VAD / commit)
    TRANSCRIPT_FINAL = "transcript_final"  # final user transcript available
    LLM_REQUEST = "llm_request"  # first request to the language model in the turn
    LLM_FIRST_TOKEN = "llm_first_token"  # first streamed output of the language model
    FIRST_TEXT_CHUNK = "first_text_chunk"  # first agent text handed towards speech synthesis
    TTS_REQUEST = "tts_request"  # first text given to the TTS model
    TTS_FIRST_BYTE = "tts_first_byte"  # first audio bytes out of the TTS model
    RESPONSE_CREATED = "response_created"  # realtime: server created the response
    FIRST_AGENT_AUDIO = "first_agent_audio"  # first agent audio delivered to the listener
    FIRST_AUDIBLE_AUDIO = "first_audible_audio"  # first agent sample above the silence threshold
    LAST_AGENT_AUDIO = "last_agent_audio"  # last agent audio delivered
    RESPONSE_DONE = "response_done"  # the turn's response finished


@dataclass(frozen=True)
class Timeline:
    """Immutable event name -> ``perf_counter_ns`` stamp for one turn."""

    stamps_ns: Mapping[str, int] = field(default_factory=dict)

    def get(self, event: str) -> int | None:
        """The stamp of ``event`` in ns, or None if it did not happen."""
        return self.stamps_ns.get(event)

    def seconds_between(self, start: str, end: str) -> float | None:
        """Seconds from ``start`` to ``end``, or None if either is missing."""
        a, b = self.stamps_ns.get(start), self.stamps_ns.get(end)
        return None if a is None or b is None else (b - a) / 1e9

    def ordered(self) -> list[tuple[str, int]]:
        """Events sorted by time."""
        return sorted(self.stamps_ns.items(), key=lambda kv: kv[1])

    def __reduce__(self) -> tuple[Any, ...]:
        # a mappingproxy does not pickle, and turns cross from worker processes to the driver
        return (_frozen_timeline, (dict(self.stamps_ns),))


def _frozen_timeline(stamps_ns: dict[str, int]) -> Timeline:
    return Timeline(MappingProxyType(stamps_ns))


class TimelineRecorder:
    """Collects stamps during a turn; ``first`` keeps the earliest, ``last`` the latest."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or PerfCounterClock()
        self._stamps: dict[str, int] = {}

    def now_ns(self) -> int:
        """The recorder's clock reading."""
        return self.clock.now_ns()

    def first(self, event: str, at_ns: int | None = None) -> int:
        """Stamp ``event`` unless already stamped; returns the kept stamp."""
        if event not in self._stamps:
            self._stamps[event] = self.clock.now_ns() if at_ns is None else at_ns
        return self._stamps[event]

    def last(self, event: str, at_ns: int | None = None) -> int:
        """Stamp ``event``, replacing any earlier stamp."""
        self._stamps[event] = self.clock.now_ns() if at_ns is None else at_ns
        return self._stamps[event]

    def has(self, event: str) -> bool:
        """Whether ``event`` was stamped."""
        return event in self._stamps

    def freeze(self) -> Timeline:
        """An immutable copy of the stamps so far."""
        return Timeline(MappingProxyType(dict(self._stamps)))
