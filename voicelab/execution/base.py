"""What every executor offers the runner, and what the runner offers every executor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from voicelab.datasets.types import Conversation
from voicelab.execution.conversation import TurnOutcome


class RunSink(Protocol):
    """The driver's side of a run: it persists what the executor hands over, in the driver."""

    async def turn_done(self, outcome: TurnOutcome) -> None:
        """Evaluate and persist one finished turn (its row, its audio) before the next of its
        conversation is reported; the executor awaits it outside any timed turn."""
        ...

    def conversation_done(
        self, conversation: Conversation, outcomes: Sequence[TurnOutcome]
    ) -> None:
        """Persist what needs the whole conversation (its stereo recording)."""
        ...


class Executor(Protocol):
    """Runs conversations, each one's turns in order, reporting every outcome to the sink."""

    async def run(self, conversations: Sequence[Conversation], sink: RunSink) -> None:
        """Run ``conversations``; return once every one has been reported to ``sink``."""
        ...

    def describe(self) -> Mapping[str, Any]:
        """How it runs (executor, workers, concurrency): recorded in run.json, never hashed."""
        ...
