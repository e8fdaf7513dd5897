"""The per-conversation probe the instrumented SDK wrappers report into, one turn at a time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from voicelab.timeline import TimelineRecorder
from voicelab.turn_result import ToolCall


class TurnProbe:
    """Holds the current turn's timeline recorder, tool calls, harness-overhead meter and the
    server-reported processing times of its requests."""

    def __init__(self) -> None:
        self.recorder = TimelineRecorder()
        self.tool_calls: list[ToolCall] = []
        self.overhead_ns = 0
        self.server_processing_s: dict[str, float] = {}

    def begin_turn(self, recorder: TimelineRecorder) -> None:
        """Point the probe at a new turn."""
        self.recorder = recorder
        self.tool_calls = []
        self.overhead_ns = 0
        self.server_processing_s = {}

    def server_time_listener(self, stage: str) -> Callable[[float], None]:
        """A listener that keeps the first server-reported processing time of ``stage``."""

        def keep(seconds: float) -> None:
            self.server_processing_s.setdefault(stage, seconds)

        return keep

    @contextmanager
    def harness(self) -> Iterator[None]:
        """Count the time spent inside the block as voicelab's own overhead."""
        start = time.perf_counter_ns()
        try:
            yield
        finally:
            self.overhead_ns += time.perf_counter_ns() - start
