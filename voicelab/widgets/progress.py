"""A progress bar for ``run_dataset(..., progress=...)`` in a notebook."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets

from voicelab.progress import ProgressTally


class RunProgress(widgets.HBox):  # type: ignore[misc]
    """Turns done out of ``total`` with errors, retries, pace and ETA; pass it as
    ``run_dataset``'s ``progress`` (the run corrects ``total`` and counts resumed turns)."""

    def __init__(self, total: int, description: str = "turns") -> None:
        self.bar = widgets.IntProgress(value=0, min=0, max=max(total, 1), description=description)
        self.label = widgets.Label(f"0 / {total}")
        self.tally = ProgressTally(total=total)
        super().__init__([self.bar, self.label])

    @property
    def total(self) -> int:
        """Turns in the run."""
        return self.tally.total

    @property
    def errors(self) -> int:
        """Error rows so far."""
        return self.tally.errors

    def begin(self, total: int, done: int) -> None:
        """The run has ``total`` turns, ``done`` of them logged by an earlier run."""
        self.tally = ProgressTally(total=total, done_before=done)
        self.bar.max, self.bar.value = max(total, 1), done
        self.label.value = self.tally.line(time.monotonic())

    def __call__(self, row: Mapping[str, Any]) -> None:
        """Count one finished turn (the runner calls this with each row it logs)."""
        self.tally.add(row)
        self.bar.value += 1
        self.bar.bar_style = "warning" if self.tally.errors else "info"
        self.label.value = self.tally.line(time.monotonic())
