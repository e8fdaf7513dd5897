"""What a pipeline returns for a turn: raw facts, no scores."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from voicelab.audio import AudioClip
from voicelab.timeline import Timeline


@dataclass(frozen=True, kw_only=True)
class ToolCall:
    """A tool the agent called, with its parsed arguments and what it returned."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    output: str | None = None


def parse_tool_arguments(arguments: str | None) -> dict[str, Any]:
    """A call's JSON arguments as a dict (kept raw when the model wrote bad JSON)."""
    try:
        parsed = json.loads(arguments or "{}")
    except json.JSONDecodeError:
        return {"_raw": arguments}
    return parsed if isinstance(parsed, dict) else {"_value": parsed}


@dataclass(frozen=True, kw_only=True)
class Usage:
    """Usage counts of one turn, the inputs of cost. Zero where a component was not used."""

    stt_audio_s: float = 0.0
    llm_requests: int = 0
    llm_input_tokens: int = 0
    llm_cached_input_tokens: int = 0
    llm_output_tokens: int = 0
    tts_characters: int = 0
    tts_audio_s: float = 0.0
    input_audio_tokens: int = 0
    output_audio_tokens: int = 0


@dataclass(frozen=True, kw_only=True)
class TurnResult:
    """Everything a pipeline observed in one turn; metrics are computed from this elsewhere."""

    conversation_id: str
    turn_index: int
    user_transcript: str | None = None
    agent_text: str = ""
    agent_audio: AudioClip | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = field(default_factory=Usage)
    timeline: Timeline = field(default_factory=Timeline)
    input_audio_s: float | None = None
    feed_mode: str = "fast"
    harness_overhead_s: float | None = None
    server_processing_s: Mapping[str, float] = field(default_factory=dict)
    """Stage (``stt``, ``tts``) -> the server's own reported processing time of the stage's
    first request in the turn (OpenAI's ``openai-processing-ms``), where the server sent one."""
    error: str | None = None
    error_type: str | None = None
    error_transient: bool | None = None
    """Whether retrying the turn could help (``VoicelabError.transient``); None if it succeeded."""
    retry_after_s: float | None = None
    """How long the service asked the client to wait before trying again (``Retry-After``)."""
    attempts: int = 1
    """How many times the turn was run; the result is the last attempt's."""
    retried_errors: tuple[str, ...] = ()
    """The ``error_type`` of each earlier attempt, in order."""

    @property
    def ok(self) -> bool:
        """Whether the turn completed without an error."""
        return self.error is None
