"""A paired comparison of two runs over the same turns, joined on ``turn_id``.

Each figure is B minus A with a confidence interval and a two-sided p-value:

- latency stages: the median of the per-turn differences, its bootstrap CI, and the Wilcoxon
  signed-rank test (zero differences split between the signs, so identical runs give p = 1);
- corpus WER, success rate, quality and tool_call_ok: the difference of the two figures on the
  same resampled turns (a paired bootstrap); p is the share of resampled differences at least
  as far from the observed one as the observed one is from 0 (the bootstrap under a shift to
  the null), with a +1 correction so it is never 0.

Turns run in only one of the runs are dropped and counted; so are turns that failed in either.

Repeated trials (``voicelab run --repeat k``) are compared as means per turn, never trial by
trial: each side is first reduced to one row per turn (the share of its trials without an
error; the mean over its successful trials of each latency stage, quality and tool_call_ok; its
WER edits and reference words summed over them), so a turn counts once however many trials it
had, and every bootstrap resamples turns, the independent unit. A turn "failed" when none of its
trials succeeded. With one trial per turn this is exactly the comparison of the rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from voicelab.errors import ResultsError
from voicelab.stats import (
    BootstrapConfig,
    FloatArray,
    Statistic,
    bootstrap_estimate,
    latency_stages,
    per_turn,
)

WILCOXON = "wilcoxon signed-rank"
PAIRED_BOOTSTRAP = "paired bootstrap"


@dataclass(frozen=True)
class PairedFigure:
    """One figure of two runs on the same turns, and the difference B - A."""

    figure: str
    a: float
    """The figure of run A on the paired turns (for a latency stage: its median)."""
    b: float
    difference: float
    """B - A; for a latency stage, the median of the per-turn differences."""
    low: float
    high: float
    p_value: float
    test: str
    n: int
    """Turns behind the figure."""


@dataclass(frozen=True)
class PairedComparison:
    """Run B against run A on the turns both ran, and what was left out."""

    label_a: str
    label_b: str
    common_turns: int
    """Turns present in both runs."""
    paired_turns: int
    """Common turns that succeeded in both runs: the turns every figure but success uses."""
    dropped_errors: int
    """Common turns dropped because they failed in A, in B or in both."""
    only_in_a: int
    only_in_b: int
    figures: tuple[PairedFigure, ...]

    def table(self) -> pd.DataFrame:
        """The figures as a DataFrame indexed by figure."""
        names = [f.name for f in fields(PairedFigure)]
        rows = [{name: getattr(f, name) for name in names} for f in self.figures]
        return pd.DataFrame.from_records(rows, columns=names).set_index("figure")


def _label(frame: pd.DataFrame, side: str) -> str:
    """``pipeline (run)`` when the side is one run of one pipeline, else what is unique."""
    unique = {c: frame[c].dropna().unique() for c in ("pipeline", "run_id")}
    pipeline, run = (str(v[0]) if len(v) == 1 else None for v in unique.values())
    if pipeline and run:
        return f"{pipeline} ({run})"
    return pipeline or run or side


def _check_one_run(frame: pd.DataFrame, side: str) -> None:
    key = ["turn_id", "trial"] if "trial" in frame.columns else ["turn_id"]
    duplicated = frame["turn_id"][frame.duplicated(key)].unique()
    if len(duplicated):
        raise ResultsError(
            f"run {side} holds turn {duplicated[0]} more than once ({len(duplicated)} such turns): "
            "compare one run per side"
        )


def _no_data(name: str, test: str) -> PairedFigure:
    nan = math.nan
    return PairedFigure(name, nan, nan, nan, nan, nan, nan, test, 0)


def _bootstrap_p(observed: float, distribution: FloatArray | None, n_resamples: int) -> float:
    if distribution is None:  # every resample gives the observed value
        distribution = np.full(n_resamples, observed)
    finite = distribution[np.isfinite(distribution)]
    extreme = np.count_nonzero(np.abs(finite - observed) >= abs(observed) - 1e-12)
    return float((1 + extreme) / (1 + len(finite)))


def _bootstrap_difference(
    name: str, samples: Sequence[FloatArray], statistic: Statistic, a: float, b: float,
    config: BootstrapConfig,
) -> PairedFigure:  # fmt: skip
    n = len(samples[0])
    if n == 0:
        return _no_data(name, PAIRED_BOOTSTRAP)
    value, low, high, distribution = bootstrap_estimate(samples, statistic, config)
    p_value = _bootstrap_p(value, distribution, config.n_resamples)
    return PairedFigure(name, a, b, value, low, high, p_value, PAIRED_BOOTSTRAP, n)


def _mean_difference(d: FloatArray, axis: int = -1) -> object:
    return np.mean(d, axis=axis)


def _wer_difference(
    edits_a: FloatArray, words_a: FloatArray, edits_b: FloatArray, words_b: FloatArray,
    axis: int = -1,
) -> object:  # fmt: skip
    return np.sum(edits_b, axis=axis) / np.sum(words_b, axis=axis) - np.sum(
        edits_a, axis=axis
    ) / np.sum(words_a, axis=axis)


def _mean_figure(name: str, a: pd.Series, b: pd.Series, config: BootstrapConfig) -> PairedFigure:
    both = a.notna() & b.notna()
    xa = a[both].astype("Float64").to_numpy(dtype=np.float64)
    xb = b[both].astype("Float64").to_numpy(dtype=np.float64)
    mean_a = float(xa.mean()) if len(xa) else math.nan
    mean_b = float(xb.mean()) if len(xb) else math.nan
    return _bootstrap_difference(name, [xb - xa], _mean_difference, mean_a, mean_b, config)


def _wer_figure(paired: pd.DataFrame, config: BootstrapConfig) -> PairedFigure:
    columns = ("edits_a", "words_a", "edits_b", "words_b")
    edits_a, words_a, edits_b, words_b = (
        np.asarray(paired[c].astype(float).fillna(0.0), dtype=np.float64) for c in columns
    )
    keep = (words_a > 0) & (words_b > 0)
    samples = [edits_a[keep], words_a[keep], edits_b[keep], words_b[keep]]
    if not keep.any():
        return _no_data("wer", PAIRED_BOOTSTRAP)
    wer_a = float(samples[0].sum() / samples[1].sum())
    wer_b = float(samples[2].sum() / samples[3].sum())
    return _bootstrap_difference("wer", samples, _wer_difference, wer_a, wer_b, config)


def _median(x: FloatArray, axis: int = -1) -> object:
    return np.median(x, axis=axis)


def _latency_figure(
    column: str, paired: pd.DataFrame, config: BootstrapConfig
) -> PairedFigure | None:
    from scipy import stats as sps

    a, b = paired[f"{column}_a"], paired[f"{column}_b"]
    both = a.notna() & b.notna()
    if not both.any():
        return None
    xa = a[both].astype("Float64").to_numpy(dtype=np.float64)
    xb = b[both].astype("Float64").to_numpy(dtype=np.float64)
    d = xb - xa
    value, low, high, _ = bootstrap_estimate([d], _median, config)
    if np.allclose(d, 0.0, atol=1e-12):
        p_value = 1.0  # no turn differs: nothing to test (scipy's zero split agrees)
    else:
        p_value = float(sps.wilcoxon(d, zero_method="zsplit").pvalue)
    name = f"{column}_p50"
    a_median, b_median = float(np.median(xa)), float(np.median(xb))
    return PairedFigure(name, a_median, b_median, value, low, high, p_value, WILCOXON, len(d))


def compare_runs(
    frame_a: pd.DataFrame,
    frame_b: pd.DataFrame,
    config: BootstrapConfig | None = None,
    stages: Sequence[str] | None = None,
) -> PairedComparison:
    """Run B against run A on the turns both ran (joined on ``turn_id``, trials as means per
    turn): B - A per figure."""
    config = config or BootstrapConfig()
    _check_one_run(frame_a, "A")
    _check_one_run(frame_b, "B")
    if stages is None:
        stages = [s for s in latency_stages(frame_a) if s in latency_stages(frame_b)]
    turns_a, turns_b = per_turn(frame_a, stages), per_turn(frame_b, stages)
    merged = turns_a.merge(turns_b, on="turn_id", suffixes=("_a", "_b"), how="inner")
    ok_a, ok_b = merged["ok_trials_a"] > 0, merged["ok_trials_b"] > 0
    paired = merged[ok_a & ok_b]
    success = _mean_figure("success_rate", merged["success_a"], merged["success_b"], config)
    figures = [
        success,
        _wer_figure(paired, config),
        _mean_figure("quality", paired["quality_a"], paired["quality_b"], config),
        _mean_figure(
            "tool_call_ok",
            paired["tool_call_ok_a"].astype("Float64"),
            paired["tool_call_ok_b"].astype("Float64"),
            config,
        ),
    ]
    figures += [f for f in (_latency_figure(c, paired, config) for c in stages) if f is not None]
    return PairedComparison(
        label_a=_label(frame_a, "A"),
        label_b=_label(frame_b, "B"),
        common_turns=len(merged),
        paired_turns=len(paired),
        dropped_errors=len(merged) - len(paired),
        only_in_a=int((~turns_a["turn_id"].isin(turns_b["turn_id"])).sum()),
        only_in_b=int((~turns_b["turn_id"].isin(turns_a["turn_id"])).sum()),
        figures=tuple(figures),
    )
