"""What the plots draw, as numbers: series labels, colours, per-turn values, the Pareto front.

Kept apart from ``voicelab.plots`` so every plotted number is a plain function of the table;
confidence intervals come from ``voicelab.stats``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from voicelab.errors import ResultsError
from voicelab.grouping import row_tags
from voicelab.results import SCHEMA

FloatArray = npt.NDArray[np.float64]

# the pipelines voicelab ships keep these colours in every figure; others hash into the palette
_KNOWN_COLOURS = {
    "chained-local": "#1f77b4",
    "chained-openai": "#ff7f0e",
    "realtime": "#2ca02c",
}
_PALETTE = ("#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")
_DOCS = {c.name: c.doc for c in SCHEMA}


def pipeline_colour(name: str) -> str:
    """The colour of a pipeline (or series label) in every figure, the same in every table."""
    if name in _KNOWN_COLOURS:
        return _KNOWN_COLOURS[name]
    digest = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)
    return _PALETTE[digest % len(_PALETTE)]


def column_label(column: str) -> str:
    """An axis label for a latency column: what it measures and its unit."""
    doc = _DOCS.get(column, column).replace("->", "→")
    return f"{doc} (s)" if column.endswith("_s") else doc


def require_columns(frame: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    """Refuse a table that lacks a column a figure needs."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ResultsError(
            f"{where}: the table has no column(s) {', '.join(missing)}; pass the table "
            "run_dataset or load_run returns"
        )


def series_labels(frame: pd.DataFrame) -> pd.Series:
    """One label per row: the pipeline, plus the run when a pipeline ran in several configs."""
    require_columns(frame, ["pipeline", "run_id", "config_hash"], "series_labels")
    configs = frame.groupby("pipeline")["config_hash"].transform("nunique")
    pipeline = frame["pipeline"].astype(str)
    with_run = pipeline + " (" + frame["run_id"].astype(str) + ")"
    return pipeline.where(configs <= 1, with_run)


def succeeded(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of turns that finished without an error."""
    require_columns(frame, ["error"], "succeeded")
    return frame[frame["error"].isna()]


def values_by_series(frame: pd.DataFrame, column: str, where: str) -> dict[str, FloatArray]:
    """Successful turns' values of ``column`` per series label; refuses a table with none."""
    require_columns(frame, ["pipeline", "error", column], where)
    ok = succeeded(frame)
    labels = series_labels(ok)
    out: dict[str, FloatArray] = {}
    for label in sorted(labels.unique()):
        values = pd.to_numeric(ok.loc[labels == label, column], errors="coerce")
        array = values.astype("float64").dropna().to_numpy()
        if array.size:
            out[label] = array
    if not out:
        raise ResultsError(f"{where}: no successful turn has a value in {column}; nothing to plot")
    return out


CLEAN_CONDITION = "clean"  # what a turn that ran under no recording condition is called
_CONDITION_TAGS = ("condition", "noise", "snr_db")


def with_conditions(frame: pd.DataFrame) -> pd.DataFrame:
    """The table with ``condition``, ``noise`` and ``snr_db`` columns from the turns' tags
    (``voicelab.datasets.apply_conditions`` sets them); unconditioned turns are ``clean``."""
    require_columns(frame, ["turn_id", "tags"], "with_conditions")
    tags = row_tags(frame)
    columns = {
        name: pd.Series([row.get(name) for row in tags], index=frame.index, dtype="object")
        for name in _CONDITION_TAGS
    }
    return frame.assign(
        condition=columns["condition"].fillna(CLEAN_CONDITION).astype(str),
        noise=columns["noise"],
        snr_db=pd.to_numeric(columns["snr_db"], errors="coerce").astype("float64"),
    )


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats on both axes (lower is better), by x."""
    front = [
        i
        for i, (x, y) in enumerate(points)
        if not any(
            (ox <= x and oy <= y) and (ox < x or oy < y) for j, (ox, oy) in enumerate(points)
            if j != i
        )
    ]  # fmt: skip
    return sorted(front, key=lambda i: points[i])
