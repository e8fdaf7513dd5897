"""The default executor: conversations run concurrently in this process's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from voicelab.datasets.types import Conversation
from voicelab.errors import ConfigError
from voicelab.execution.base import RunSink
from voicelab.execution.conversation import TurnOutcome, converse
from voicelab.execution.retry import RetryPolicy
from voicelab.pipelines.base import Pipeline


class AsyncioExecutor:
    """Up to ``concurrency`` conversations at once through one pipeline, in this event loop.

    Right for API-backed pipelines (the work is waiting on sockets); local models share the CPU
    and one event loop, so for them 1 is right (see the process executor for more).
    """

    def __init__(
        self, pipeline: Pipeline, concurrency: int = 1, *, retry: RetryPolicy | None = None
    ) -> None:
        if concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, not {concurrency}")
        self.pipeline = pipeline
        self.concurrency = concurrency
        self.retry = retry

    def describe(self) -> dict[str, Any]:
        return {"executor": "local", "concurrency": self.concurrency}

    async def run(self, conversations: Sequence[Conversation], sink: RunSink) -> None:
        limit = asyncio.Semaphore(self.concurrency)

        async def one(conversation: Conversation) -> None:
            async with limit:
                outcomes: list[TurnOutcome] = []
                async for outcome in converse(self.pipeline, conversation, retry=self.retry):
                    await sink.turn_done(outcome)  # before the next turn starts
                    outcomes.append(outcome)
            # off the event loop: other conversations keep their clocks
            await asyncio.to_thread(sink.conversation_done, conversation, outcomes)

        await asyncio.gather(*(one(c) for c in conversations))
