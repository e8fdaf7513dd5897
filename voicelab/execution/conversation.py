"""One conversation through a pipeline, turn by turn, in order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from voicelab.datasets.types import Conversation, Turn
from voicelab.pipelines.base import Pipeline
from voicelab.pipelines.turn_errors import error_result
from voicelab.turn_result import TurnResult


@dataclass(frozen=True)
class TurnOutcome:
    """A finished turn: the dataset's turn and what the pipeline made of it."""

    turn: Turn
    result: TurnResult


async def converse(pipeline: Pipeline, conversation: Conversation) -> AsyncIterator[TurnOutcome]:
    """Each turn's outcome as it finishes; a failure is an error result, never an exception."""
    try:
        state = await pipeline.start_conversation(conversation.conversation_id)
    except Exception as e:  # the whole conversation fails: one error result per turn
        for turn in conversation.turns:
            yield TurnOutcome(turn, error_result(turn, e))
        return
    try:
        for turn in conversation.turns:
            try:
                result = await pipeline.run_turn(turn, state)
            except Exception as e:  # a pipeline bug must not stop the batch
                result = error_result(turn, e)
            yield TurnOutcome(turn, result)
    finally:
        await pipeline.end_conversation(state)
