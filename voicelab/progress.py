"""Where a run is: turns done of the total, errors, retries, turns per minute and time left.

The run's sink hands every logged row to its ``progress`` callback, whatever executes the
turns; a callback that also has ``begin`` (``ProgressReporter``) learns first how many turns the
run has and how many an earlier, resumed run already did. Three surfaces, one mechanism each:
``TerminalProgress`` draws a tqdm bar on a terminal and prints plain periodic lines elsewhere
(CI logs); a notebook uses ``voicelab.widgets.RunProgress``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO, runtime_checkable

_PLAIN_INTERVAL_S = 10.0  # a status line at most this often when not on a terminal


@runtime_checkable
class ProgressReporter(Protocol):
    """A progress callback that is told the size of the run before its first row."""

    def begin(self, total: int, done: int) -> None:
        """The run has ``total`` turns, ``done`` of them finished before (a resumed run)."""
        ...

    def __call__(self, row: Mapping[str, Any]) -> None:
        """One more turn is logged."""
        ...


@dataclass
class ProgressTally:
    """The counts behind every progress display (a pure tally: the clock is passed in)."""

    total: int = 0
    done_before: int = 0
    """Turns finished by an earlier run of the folder (not counted in the rate)."""
    done: int = 0
    """Turns finished by this run."""
    errors: int = 0
    retries: int = 0
    """Extra attempts spent on transient failures (attempts - 1, summed)."""
    started_s: float = field(default_factory=time.monotonic)

    def add(self, row: Mapping[str, Any]) -> None:
        """Count one logged row."""
        self.done += 1
        self.errors += row.get("error") is not None
        self.retries += max(int(row.get("attempts") or 1) - 1, 0)

    def turns_per_min(self, now_s: float) -> float | None:
        """This run's pace so far, None before its first turn."""
        elapsed_s = now_s - self.started_s
        return self.done * 60.0 / elapsed_s if self.done and elapsed_s > 0 else None

    def eta_s(self, now_s: float) -> float | None:
        """Seconds left at the pace so far, None before its first turn."""
        rate = self.turns_per_min(now_s)
        left = self.total - self.done_before - self.done
        return max(left, 0) * 60.0 / rate if rate else None

    def summary(self, now_s: float) -> str:
        """``"errors 1, retries 3, 95.2 turns/min"``: what the bar's own figures leave out."""
        rate = self.turns_per_min(now_s)
        pace = f"{rate:.1f} turns/min" if rate is not None else "- turns/min"
        return f"errors {self.errors}, retries {self.retries}, {pace}"

    def line(self, now_s: float) -> str:
        """A whole status line: done/total, errors, retries, pace and ETA."""
        eta = self.eta_s(now_s)
        eta_text = time.strftime("%H:%M:%S", time.gmtime(eta)) if eta is not None else "-"
        finished = self.done_before + self.done
        return f"{finished}/{self.total} turns, {self.summary(now_s)}, ETA {eta_text}"


class TerminalProgress:
    """The CLI's progress: a live bar on a terminal, plain periodic lines otherwise."""

    def __init__(self, stream: TextIO | None = None, *, bar: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.tally = ProgressTally()
        self.bar_mode = self.stream.isatty() if bar is None else bar
        self._bar: Any = None
        self._last_line_s = 0.0

    def begin(self, total: int, done: int) -> None:
        """Start the display for ``total`` turns, ``done`` of them already logged."""
        self.tally = ProgressTally(total=total, done_before=done)
        if self.bar_mode:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total, initial=done, unit="turn", file=self.stream, dynamic_ncols=True
            )
        else:
            self._print(f"{done}/{total} turns done before, {total - done} to run")

    def __call__(self, row: Mapping[str, Any]) -> None:
        """Count a logged row and redraw (bar), or print a line now and then (plain)."""
        self.tally.add(row)
        now_s = time.monotonic()
        if self._bar is not None:
            self._bar.set_postfix_str(self.tally.summary(now_s), refresh=False)
            self._bar.update(1)
            return
        if row.get("error") is not None:
            self._print(f"  {row['turn_id']}: {row['error_type']}: {row['error']}")
        if now_s - self._last_line_s >= _PLAIN_INTERVAL_S:
            self._print(self.tally.line(now_s))
            self._last_line_s = now_s

    def close(self) -> None:
        """Finish the display with the final counts."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self._print(self.tally.line(time.monotonic()))

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)
