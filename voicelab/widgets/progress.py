"""A progress bar for ``run_dataset(..., progress=...)`` in a notebook."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets


class RunProgress(widgets.HBox):  # type: ignore[misc]
    """Turns done out of ``total``, errors counted; pass it as ``run_dataset``'s ``progress``."""

    def __init__(self, total: int, description: str = "turns") -> None:
        self.bar = widgets.IntProgress(value=0, min=0, max=max(total, 1), description=description)
        self.label = widgets.Label(f"0 / {total}")
        self.total = total
        self.errors = 0
        super().__init__([self.bar, self.label])

    def __call__(self, row: Mapping[str, Any]) -> None:
        """Count one finished turn (the runner calls this with each row it logs)."""
        self.bar.value += 1
        self.errors += row.get("error") is not None
        self.bar.bar_style = "warning" if self.errors else "info"
        self.label.value = f"{self.bar.value} / {self.total}, {self.errors} error(s)"
