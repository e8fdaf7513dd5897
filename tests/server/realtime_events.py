"""Reading a realtime connection's server events in tests."""

from __future__ import annotations

import asyncio
from typing import Any

TIMEOUT_S = 120.0  # only bounds a hang; real models on a busy machine are slow


async def events_until(conn: Any, last: str, timeout_s: float = TIMEOUT_S) -> list[Any]:
    """Every server event up to and including the first of type ``last``."""
    events: list[Any] = []
    async with asyncio.timeout(timeout_s):
        async for event in conn:
            events.append(event)
            if event.type == last:
                return events
    raise AssertionError(f"connection ended before {last}: {[e.type for e in events]}")
