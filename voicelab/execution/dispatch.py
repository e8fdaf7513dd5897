"""The driver's bookkeeping of conversations handed to workers: what is left, what is running.

Shared by the process and Ray executors. A worker that dies takes no turn with it. A
conversation it had not reported any turn of is run again (once), by another worker or the
same one restarted: nothing of it was persisted. Otherwise the turns it had not reported
become error rows (``WorkerLostError``): its earlier turns are already persisted and the later
ones depend on their context, so each turn is in the run exactly once and the run goes on;
resuming the run leaves it as it is, like any conversation whose every turn has a row.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence

from voicelab.datasets.types import Conversation
from voicelab.errors import VoicelabError
from voicelab.execution.base import RunSink
from voicelab.execution.conversation import TurnOutcome
from voicelab.pipelines.turn_errors import error_result


class Dispatch:
    """Conversations waiting, conversations in flight and their reported turns."""

    def __init__(self, conversations: Sequence[Conversation], sink: RunSink) -> None:
        self.waiting: deque[Conversation] = deque(conversations)
        self.sink = sink
        self.in_flight: dict[str, tuple[Conversation, list[TurnOutcome]]] = {}
        self.rerun: set[str] = set()
        """Conversations already run again once after losing their worker."""

    @property
    def finished(self) -> bool:
        """Whether every conversation has been reported to the sink."""
        return not self.waiting and not self.in_flight

    def take(self) -> Conversation | None:
        """The next conversation to hand to a worker, now counted as in flight."""
        if not self.waiting:
            return None
        conversation = self.waiting.popleft()
        self.in_flight[conversation.conversation_id] = (conversation, [])
        return conversation

    def put_back(self, conversation: Conversation) -> None:
        """A conversation that never reached its worker: first in line again."""
        del self.in_flight[conversation.conversation_id]
        self.waiting.appendleft(conversation)

    async def turn_done(self, outcome: TurnOutcome) -> None:
        """A worker reported a turn: evaluate and persist it now."""
        _, outcomes = self.in_flight[outcome.turn.conversation_id]
        await self.sink.turn_done(outcome)
        outcomes.append(outcome)

    async def conversation_done(self, conversation_id: str) -> None:
        """A worker finished a conversation: persist what needs the whole of it."""
        conversation, outcomes = self.in_flight.pop(conversation_id)
        # off the event loop: other conversations' turns keep arriving
        await asyncio.to_thread(self.sink.conversation_done, conversation, outcomes)

    async def lost(self, conversation_id: str, error: VoicelabError) -> None:
        """A conversation's worker died: run it again if none of it was reported (once), else
        its unreported turns become error rows."""
        conversation, outcomes = self.in_flight[conversation_id]
        if not outcomes and conversation_id not in self.rerun:
            self.rerun.add(conversation_id)
            self.put_back(conversation)
            return
        for turn in conversation.turns[len(outcomes) :]:
            await self.turn_done(TurnOutcome(turn, error_result(turn, error)))
        await self.conversation_done(conversation_id)

    async def fail_waiting(self, error: VoicelabError) -> None:
        """No worker is left to run them: every waiting conversation becomes error rows."""
        while (conversation := self.take()) is not None:
            self.rerun.add(conversation.conversation_id)
            await self.lost(conversation.conversation_id, error)
