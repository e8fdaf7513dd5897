"""The per-conversation probe the instrumented SDK wrappers report into, one turn at a time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from voicelab.timeline import TimelineRecorder
from voicelab.turn_result import ToolCall


class TurnProbe:
    """Holds the current turn's timeline recorder, tool calls and harness-overhead meter."""

    def __init__(self) -> None:
        self.recorder = TimelineRecorder()
        self.tool_calls: list[ToolCall] = []
        self.overhead_ns = 0

    def begin_turn(self, recorder: TimelineRecorder) -> None:
        """Point the probe at a new turn."""
        self.recorder = recorder
        self.tool_calls = []
        self.overhead_ns = 0

    @contextmanager
    def harness(self) -> Iterator[None]:
        """Count the time spent inside the block as voicelab's own overhead."""
        start = time.perf_counter_ns()
        try:
            yield
        finally:
            self.overhead_ns += time.perf_counter_ns() - start
