"""Turning an exception at the turn boundary into a TurnResult row that says what failed."""

from __future__ import annotations

from voicelab.datasets.types import Turn
from voicelab.error_mapping import as_voicelab_error
from voicelab.errors import ServiceError, VoicelabError
from voicelab.timeline import TimelineRecorder
from voicelab.turn_result import ToolCall, TurnResult


def describe_error(
    error: BaseException, mapped: VoicelabError, turn: Turn, timeout_s: float | None = None
) -> str:
    """A one-line message naming the turn, the audio and the cause (``error`` as ``mapped``)."""
    if isinstance(error, TimeoutError) and timeout_s is not None:
        return f"turn {turn.turn_id} timed out after {timeout_s:g} s"
    cause = str(mapped) or type(mapped).__name__
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
    """A failed turn: what was observed before the failure, plus the error as voicelab's class."""
    mapped = as_voicelab_error(error)
    return TurnResult(
        conversation_id=turn.conversation_id,
        turn_index=turn.turn_index,
        user_transcript=user_transcript,
        tool_calls=tool_calls,
        timeline=recorder.freeze() if recorder else TimelineRecorder().freeze(),
        input_audio_s=input_audio_s,
        error=describe_error(error, mapped, turn, timeout_s),
        error_type=type(mapped).__name__,
        error_transient=mapped.transient,
        retry_after_s=mapped.retry_after_s if isinstance(mapped, ServiceError) else None,
    )
