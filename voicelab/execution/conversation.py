"""One conversation through a pipeline, turn by turn, in order, transient failures retried."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

from voicelab.datasets.types import Conversation, Turn
from voicelab.error_mapping import as_voicelab_error
from voicelab.errors import VoicelabError
from voicelab.execution.retry import Failure, RetryPolicy, error_failure, with_retries
from voicelab.pipelines.base import ConversationState, Pipeline
from voicelab.pipelines.turn_errors import error_result
from voicelab.turn_result import TurnResult


@dataclass(frozen=True)
class TurnOutcome:
    """A finished turn: the dataset's turn and what the pipeline made of it."""

    turn: Turn
    result: TurnResult


async def converse(
    pipeline: Pipeline, conversation: Conversation, *, retry: RetryPolicy | None = None
) -> AsyncIterator[TurnOutcome]:
    """Each turn's outcome as it finishes; a failure is an error result, never an exception.

    A transient failure is run again as ``retry`` says (default ``RetryPolicy()``), on the same
    conversation state: the pipeline keeps a failed attempt out of the history, so the turn is
    in it once. The outcome is the last attempt's, with ``attempts`` and ``retried_errors``.
    Opening the conversation is retried the same way; if it still fails, every turn is an
    error row.
    """
    policy = retry or RetryPolicy()
    key = conversation.conversation_id

    async def start() -> ConversationState | VoicelabError:
        try:
            return await pipeline.start_conversation(key)
        except Exception as e:  # the whole conversation fails: an error row per turn
            return as_voicelab_error(e)

    state, attempts, retried = await with_retries(policy, key, start, _start_failure)
    if isinstance(state, VoicelabError):
        for turn in conversation.turns:
            failed = error_result(turn, state)
            yield TurnOutcome(turn, replace(failed, attempts=attempts, retried_errors=retried))
        return
    try:
        for turn in conversation.turns:
            yield TurnOutcome(turn, await run_turn_with_retries(pipeline, turn, state, policy))
    finally:
        await pipeline.end_conversation(state)


async def run_turn_with_retries(
    pipeline: Pipeline, turn: Turn, state: ConversationState, retry: RetryPolicy
) -> TurnResult:
    """One turn, run again after each transient failure while ``retry`` allows."""

    async def once() -> TurnResult:
        try:
            return await pipeline.run_turn(turn, state)
        except Exception as e:  # a pipeline bug must not stop the batch
            return error_result(turn, e)

    result, attempts, retried = await with_retries(retry, turn.turn_id, once, _turn_failure)
    return replace(result, attempts=attempts, retried_errors=retried)


def _turn_failure(result: TurnResult) -> Failure | None:
    if result.ok:
        return None
    return Failure(result.error_type or "error", bool(result.error_transient), result.retry_after_s)


def _start_failure(opened: ConversationState | VoicelabError) -> Failure | None:
    return error_failure(opened) if isinstance(opened, VoicelabError) else None
