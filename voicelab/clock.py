"""One monotonic clock for every latency stamp, injectable so tests can use exact made-up times."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Anything that returns monotonic nanoseconds."""

    def now_ns(self) -> int:
        """The current time in nanoseconds on a monotonic clock."""
        ...


class PerfCounterClock:
    """The real clock: ``time.perf_counter_ns``."""

    def now_ns(self) -> int:
        """The current ``perf_counter_ns`` reading."""
        return time.perf_counter_ns()


class ManualClock:
    """A clock that only moves when told to, for tests of latency derivations."""

    def __init__(self, start_ns: int = 0) -> None:
        self._now_ns = start_ns

    def now_ns(self) -> int:
        """The time last set or advanced to."""
        return self._now_ns

    def advance(self, delta_ns: int) -> int:
        """Move the clock forward by ``delta_ns`` and return the new time."""
        if delta_ns < 0:
            raise ValueError("a monotonic clock cannot go backwards")
        self._now_ns += delta_ns
        return self._now_ns
