"""What the plots draw, as numbers: series labels, colours, per-turn values and bootstrap CIs.

Kept apart from ``voicelab.plots`` so every plotted number is a plain function of the table.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from voicelab.errors import ResultsError
from voicelab.metrics.wer import error_rates, normalize_english
from voicelab.results import SCHEMA

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

BOOTSTRAP_RESAMPLES = 2_000  # percentile CIs settle to ~0.01 of their width by here
BOOTSTRAP_SEED = 0  # figures are reproducible: the same table always draws the same CI
CONFIDENCE = 0.95

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


def bootstrap_ci(
    statistic: Callable[[IntArray], FloatArray], n: int, *, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Seeded percentile bootstrap CI of a statistic of ``n`` items resampled with replacement.

    ``statistic`` takes a (resamples, n) array of item indices and returns one value per row.
    """
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    indices = rng.integers(0, n, size=(BOOTSTRAP_RESAMPLES, n))
    estimates = statistic(indices)
    tail = (1 - confidence) / 2 * 100
    low, high = np.nanpercentile(estimates, [tail, 100 - tail])
    return float(low), float(high)


def median_ci(values: FloatArray) -> tuple[float, float]:
    """Bootstrap CI of the median of ``values``."""
    return bootstrap_ci(lambda idx: np.median(values[idx], axis=1), values.size)


@dataclass(frozen=True)
class CorpusWer:
    """Corpus WER of a group of turns with its bootstrap CI over turns."""

    wer: float
    ci: tuple[float, float]
    turns: int


def turn_edit_counts(frame: pd.DataFrame) -> tuple[FloatArray, FloatArray]:
    """Word errors and reference words per scored turn (successful, with a reference)."""
    scored = succeeded(frame)
    scored = scored[scored["reference_text"].notna()]
    errors, words = [], []
    for reference, hypothesis in zip(
        scored["reference_text"].astype(str), scored["user_transcript"].fillna("").astype(str),
        strict=True,
    ):  # fmt: skip
        if not normalize_english(reference):
            continue  # error_rates skips empty references too
        rates = error_rates([reference], [hypothesis])
        errors.append(rates.substitutions + rates.deletions + rates.insertions)
        words.append(rates.reference_words)
    return np.asarray(errors, dtype=np.float64), np.asarray(words, dtype=np.float64)


def corpus_wer(frame: pd.DataFrame) -> CorpusWer | None:
    """Corpus WER (all word errors over all reference words) with a CI; None if no turn scores."""
    errors, words = turn_edit_counts(frame)
    if not errors.size:
        return None
    ci = bootstrap_ci(lambda idx: errors[idx].sum(axis=1) / words[idx].sum(axis=1), errors.size)
    return CorpusWer(float(errors.sum() / words.sum()), ci, int(errors.size))


def tag_values(frame: pd.DataFrame, tag: str) -> pd.Series:
    """Each row's value of one tag (from the ``tags`` JSON column); NA where it is absent."""
    require_columns(frame, ["tags"], "tag_values")

    def one(cell: Any) -> Any:
        tags = json.loads(cell) if isinstance(cell, str) and cell else {}
        value = tags.get(tag) if isinstance(tags, dict) else None
        return pd.NA if value is None else str(value)

    return frame["tags"].map(one).astype("string")


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
