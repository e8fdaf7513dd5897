"""Turning an exception at the turn boundary into a TurnResult row that says what failed."""

from __future__ import annotations

from voicelab.datasets.types import Turn
from voicelab.errors import PipelineTimeoutError
from voicelab.timeline import TimelineRecorder
from voicelab.turn_result import ToolCall, TurnResult


def describe_error(error: BaseException, turn: Turn, timeout_s: float | None = None) -> str:
    """A one-line message naming the turn, the audio and the cause."""
    if isinstance(error, TimeoutError) and timeout_s is not None:
        return f"turn {turn.turn_id} timed out after {timeout_s:g} s"
    cause = str(error) or type(error).__name__
    return f"turn {turn.turn_id} ({turn.audio_source}): {cause}"


def error_result(
    turn: Turn,
    error: BaseException,
    *,
    recorder: TimelineRecorder | None = None,
    user_transcript: str | None = None,
    tool_calls: tuple[ToolCall, ...] = (),
    input_audio_s: float | None = None,
    timeout_s: float | None = None,
) -> TurnResult:
    """A failed turn: what was observed before the failure, plus the error."""
    error_type = (
        PipelineTimeoutError.__name__ if isinstance(error, TimeoutError) else type(error).__name__
    )
    return TurnResult(
        conversation_id=turn.conversation_id,
        turn_index=turn.turn_index,
        user_transcript=user_transcript,
        tool_calls=tool_calls,
        timeline=recorder.freeze() if recorder else TimelineRecorder().freeze(),
        input_audio_s=input_audio_s,
        error=describe_error(error, turn, timeout_s),
        error_type=error_type,
    )
