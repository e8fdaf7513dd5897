"""Applying a fault plan to a stream: pace it, drop the connection, or stall it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TypeVar

from voicelab.errors import InjectedDropError
from voicelab.server.faults import FaultPlan

T = TypeVar("T")


async def faulted(items: AsyncIterator[T], plan: FaultPlan) -> AsyncIterator[T]:
    """``items`` with the plan's pace between them, cut or stalled where the plan says."""
    sent = 0
    async for item in items:
        if plan.drop_after_chunks is not None and sent >= plan.drop_after_chunks:
            raise InjectedDropError(f"injected drop after {sent} chunks")
        if plan.stall_after_chunks is not None and sent >= plan.stall_after_chunks:
            await asyncio.sleep(plan.stall_s)
            return
        if sent and plan.chunk_delay_s:
            await asyncio.sleep(plan.chunk_delay_s)
        yield item
        sent += 1
    if plan.drop_after_chunks is not None:  # a stream shorter than the drop point still drops
        raise InjectedDropError(f"injected drop after {sent} chunks")
