"""Confidence intervals for a run's figures: bootstrap CIs, Wilson intervals, corpus WER by turns.

Every interval is seeded (``BootstrapConfig.seed``), so a report is reproducible. scipy is
imported inside the functions that need it: ``import voicelab`` stays light.

- Latency medians/p90s, mean quality and mean cost: ``scipy.stats.bootstrap`` over turns,
  bias-corrected and accelerated (BCa) by default, falling back to the percentile method when
  BCa is undefined (its jackknife is flat, as with heavily tied values).
- Rates of yes/no outcomes (success, tool_call_ok): the Wilson score interval, which stays
  honest at 0 % and 100 % where a bootstrap collapses to a point.
- Corpus WER (all edits / all reference words): bootstrap over turns, each turn carrying its
  edit count and reference length together.

Repeated trials (``voicelab run --repeat k``): a group where some turn ran more than once is
first reduced to one row per turn (``per_turn``: the share of its trials that succeeded, and
means over them), so that the trials of a turn, which are not independent, count once and every
interval resamples turns. ``turns`` is then the number of distinct turns and ``trials`` the rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from voicelab.grouping import iter_groups
from voicelab.metrics.latency import LATENCY_COLUMNS
from voicelab.metrics.wer import error_rates

FloatArray = npt.NDArray[np.float64]
Statistic = Callable[..., Any]
_RELATIVE_TIE = 1e-9  # values this close (relative) are one value: a bootstrap of them is a point


@dataclass(frozen=True, kw_only=True)
class BootstrapConfig:
    """How confidence intervals are computed."""

    confidence: float = 0.95
    """Two-sided confidence level of every interval."""
    n_resamples: int = 2000
    """Bootstrap resamples per interval."""
    method: Literal["BCa", "percentile", "basic"] = "BCa"
    """scipy.stats.bootstrap method (BCa falls back to percentile where it is undefined)."""
    seed: int = 0
    """Seed of the resampling, so the same table gives the same intervals."""

    def __post_init__(self) -> None:
        from voicelab.errors import ConfigError

        if not 0.0 < self.confidence < 1.0:
            raise ConfigError(f"confidence must be between 0 and 1, not {self.confidence}")
        if self.n_resamples < 100:
            raise ConfigError(f"n_resamples must be at least 100, not {self.n_resamples}")


@dataclass(frozen=True)
class Estimate:
    """A figure with its confidence interval and the number of turns behind it."""

    value: float
    low: float
    high: float
    n: int

    @classmethod
    def empty(cls) -> Estimate:
        """No data: every number NaN."""
        return cls(math.nan, math.nan, math.nan, 0)


def _as_array(values: Sequence[float] | pd.Series | FloatArray) -> FloatArray:
    array = pd.Series(values, dtype="Float64").dropna().to_numpy(dtype=np.float64)
    return np.asarray(array, dtype=np.float64)


def _is_constant(*arrays: FloatArray) -> bool:
    return all(np.allclose(a, a[0], rtol=_RELATIVE_TIE, atol=_RELATIVE_TIE * 1e-3) for a in arrays)


def bootstrap_estimate(
    samples: Sequence[FloatArray], statistic: Statistic, config: BootstrapConfig
) -> tuple[float, float, float, FloatArray | None]:
    """(value, low, high, bootstrap distribution) of a vectorised statistic of paired samples."""
    from scipy import stats as sps

    value = float(statistic(*samples, axis=-1))
    n = len(samples[0])
    if n < 2 or _is_constant(*samples):
        return value, value, value, None
    methods = [config.method] + (["percentile"] if config.method == "BCa" else [])
    for method in methods:
        with np.errstate(invalid="ignore", divide="ignore"):
            result = _scipy_bootstrap(sps, samples, statistic, config, method)
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
        if math.isfinite(low) and math.isfinite(high):
            return value, low, high, np.asarray(result.bootstrap_distribution, dtype=np.float64)
    return value, math.nan, math.nan, None


def _scipy_bootstrap(
    sps: Any, samples: Sequence[FloatArray], statistic: Statistic, config: BootstrapConfig,
    method: str,
) -> Any:  # fmt: skip
    import warnings

    with warnings.catch_warnings():
        # a degenerate BCa interval comes back as NaN and is retried with the percentile method
        warnings.simplefilter("ignore", sps.DegenerateDataWarning)
        return sps.bootstrap(
            tuple(samples),
            statistic,
            n_resamples=config.n_resamples,
            vectorized=True,
            paired=len(samples) > 1,
            confidence_level=config.confidence,
            method=method,
            rng=np.random.default_rng(config.seed),
        )


def _quantile(q: float) -> Statistic:
    def statistic(x: FloatArray, axis: int = -1) -> Any:
        return np.quantile(x, q, axis=axis)

    return statistic


def _mean(x: FloatArray, axis: int = -1) -> Any:
    return np.mean(x, axis=axis)


def _ratio(numerator: FloatArray, denominator: FloatArray, axis: int = -1) -> Any:
    return np.sum(numerator, axis=axis) / np.sum(denominator, axis=axis)


def quantile_ci(values: Sequence[float] | pd.Series, q: float, config: BootstrapConfig) -> Estimate:
    """The q-quantile (0.5: median) of the values, NA dropped, with its bootstrap CI."""
    x = _as_array(values)
    if not len(x):
        return Estimate.empty()
    value, low, high, _ = bootstrap_estimate([x], _quantile(q), config)
    return Estimate(value, low, high, len(x))


def mean_ci(values: Sequence[float] | pd.Series, config: BootstrapConfig) -> Estimate:
    """The mean of the values, NA dropped, with its bootstrap CI."""
    x = _as_array(values)
    if not len(x):
        return Estimate.empty()
    value, low, high, _ = bootstrap_estimate([x], _mean, config)
    return Estimate(value, low, high, len(x))


def rate_ci(outcomes: Sequence[bool] | pd.Series, config: BootstrapConfig) -> Estimate:
    """The rate of True outcomes, NA dropped, with its Wilson score interval."""
    from scipy import stats as sps

    x = _as_array(pd.Series(outcomes, dtype="boolean").astype("Float64"))
    if not len(x):
        return Estimate.empty()
    successes = int(x.sum())
    interval = sps.binomtest(successes, len(x)).proportion_ci(
        confidence_level=config.confidence, method="wilson"
    )
    return Estimate(successes / len(x), float(interval.low), float(interval.high), len(x))


def turn_edits(
    references: Sequence[str],
    hypotheses: Sequence[str],
    languages: Sequence[str | None] | None = None,
) -> tuple[FloatArray, FloatArray]:
    """(word edits, reference words) per turn, so that their sums give the corpus WER.

    Each turn is normalised for its language (``languages``; None or absent: English).
    """
    edits, words = [], []
    langs = languages if languages is not None else [None] * len(references)
    for reference, hypothesis, language in zip(references, hypotheses, langs, strict=True):
        try:
            rates = error_rates([reference], [hypothesis], language)
        except ValueError:  # nothing left of the reference after normalisation: not scored
            edits.append(0.0)
            words.append(0.0)
            continue
        edits.append(float(rates.substitutions + rates.deletions + rates.insertions))
        words.append(float(rates.reference_words))
    return np.asarray(edits, dtype=np.float64), np.asarray(words, dtype=np.float64)


def scored_turns(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows WER applies to: no error, a reference transcript."""
    return frame[frame["error"].isna() & frame["reference_text"].notna()]


def wer_inputs(frame: pd.DataFrame) -> tuple[FloatArray, FloatArray]:
    """Per-turn (edits, reference words) of the rows WER applies to."""
    scored = scored_turns(frame)
    return turn_edits(
        scored["reference_text"].astype(str).tolist(),
        scored["user_transcript"].fillna("").astype(str).tolist(),
        row_languages(scored),
    )


def row_languages(frame: pd.DataFrame, column: str = "language") -> list[str | None]:
    """Each row's language (None where unknown, or for tables from before the column)."""
    if column not in frame.columns:
        return [None] * len(frame)
    return [None if pd.isna(v) else str(v) for v in frame[column]]


def corpus_wer(frame: pd.DataFrame) -> float:
    """Corpus WER of the table's scored turns (all edits over all reference words); NaN if none."""
    edits, words = wer_inputs(frame)
    return float(edits.sum() / words.sum()) if words.sum() else math.nan


def corpus_wer_ci(frame: pd.DataFrame, config: BootstrapConfig) -> Estimate:
    """Corpus WER of the table's scored turns, with a bootstrap CI from resampling turns."""
    return wer_ci(*wer_inputs(frame), config)


def wer_ci(edits: FloatArray, words: FloatArray, config: BootstrapConfig) -> Estimate:
    """Corpus WER of per-turn (edits, reference words), turns without words left out, with a
    bootstrap CI from resampling turns."""
    keep = words > 0
    edits, words = edits[keep], words[keep]
    if not len(words):
        return Estimate.empty()
    value, low, high, _ = bootstrap_estimate([edits, words], _ratio, config)
    return Estimate(value, low, high, len(words))


def latency_stages(frame: pd.DataFrame) -> tuple[str, ...]:
    """The latency columns (and harness overhead) with at least one value in the table."""
    columns = (*LATENCY_COLUMNS, "harness_overhead_s")
    return tuple(c for c in columns if c in frame.columns and frame[c].notna().any())


TURN_KEY = ("dataset", "turn_id")
"""What one turn is: a turn of a dataset (a conditioned copy is another dataset, same ids)."""


def _turn_key(frame: pd.DataFrame) -> list[str]:
    return [c for c in TURN_KEY if c in frame.columns]


def per_turn(frame: pd.DataFrame, stages: Sequence[str] = ()) -> pd.DataFrame:
    """One row per turn (``TURN_KEY``): ``success`` (share of its trials without an error),
    ``ok_trials``, the mean ``cost_usd`` over all its trials, and over its successful trials the
    mean quality, tool_call_ok and each stage in ``stages``, and the WER ``edits`` and reference
    ``words`` summed (NA where it has none)."""
    key = _turn_key(frame)
    ok = frame["error"].isna()
    scored = frame[ok & frame["reference_text"].notna()]
    edits, words = turn_edits(
        scored["reference_text"].astype(str).tolist(),
        scored["user_transcript"].fillna("").astype(str).tolist(),
        row_languages(scored),
    )
    trials = frame.assign(_ok=ok.astype(float)).groupby(key, sort=False, dropna=False)["_ok"]
    turns = pd.DataFrame({"success": trials.mean(), "ok_trials": trials.sum()})
    cost = frame.assign(_cost=frame["cost_usd"].astype("Float64").astype(float))
    turns["cost_usd"] = cost.groupby(key, dropna=False)["_cost"].agg(lambda c: c.mean(skipna=False))
    succeeded = frame[ok]
    for column in ("quality", "tool_call_ok", *stages):
        values = succeeded.assign(_value=succeeded[column].astype("Float64").astype(float))
        turns[column] = values.groupby(key, dropna=False)["_value"].mean()
    wer = scored[key].assign(edits=edits, words=words)
    turns = turns.join(wer.groupby(key, dropna=False).sum())
    return turns.reset_index()


def _has_repeats(group: pd.DataFrame) -> bool:
    return "trial" in group.columns and bool(group.duplicated(_turn_key(group)).any())


def _trial_mean_estimates(
    group: pd.DataFrame, config: BootstrapConfig, stages: Sequence[str]
) -> dict[str, Estimate]:
    """The summary figures of a group with repeated trials, from its per-turn means."""
    turns = per_turn(group, stages)
    edits, words = (np.asarray(turns[c].astype(float).fillna(0.0)) for c in ("edits", "words"))
    return {
        "turns": _count(len(turns)),
        "trials": _count(len(group)),
        "errors": _count(int(group["error"].notna().sum()), len(group)),
        "success_rate": mean_ci(turns["success"], config),
        "wer": wer_ci(edits, words, config),
        "quality": mean_ci(turns["quality"], config),
        "tool_call_ok": mean_ci(turns["tool_call_ok"], config),
        "cost_usd_per_turn": mean_ci(turns["cost_usd"], config),
        **_stage_estimates(turns, stages, config),
    }


def _count(value: int, of: int | None = None) -> Estimate:
    """A count: no interval; ``of`` rows behind it (the count itself by default)."""
    return Estimate(value, math.nan, math.nan, value if of is None else of)


def _stage_estimates(
    rows: pd.DataFrame, stages: Sequence[str], config: BootstrapConfig
) -> dict[str, Estimate]:
    """Median and p90 of each latency stage in ``stages`` with their CIs."""
    figures = {}
    for column in stages:
        figures[f"{column}_p50"] = quantile_ci(rows[column], 0.5, config)
        figures[f"{column}_p90"] = quantile_ci(rows[column], 0.9, config)
    return figures


def figure_estimates(
    group: pd.DataFrame, config: BootstrapConfig, stages: Sequence[str]
) -> dict[str, Estimate]:
    """Every summary figure of one group of rows, each with its CI (per-turn means first when
    the group holds repeated trials)."""
    if _has_repeats(group):
        return _trial_mean_estimates(group, config, stages)
    ok = group[group["error"].isna()]
    return {
        "turns": _count(len(group)),
        "errors": _count(int(group["error"].notna().sum()), len(group)),
        "success_rate": rate_ci(group["error"].isna(), config),
        "wer": corpus_wer_ci(group, config),
        "quality": mean_ci(ok["quality"], config),
        "tool_call_ok": rate_ci(ok["tool_call_ok"], config),
        "cost_usd_per_turn": mean_ci(group["cost_usd"], config),
        **_evaluation_estimates(ok, group, config),
        **_stage_estimates(ok, stages, config),
    }


def _evaluation_estimates(
    ok: pd.DataFrame, group: pd.DataFrame, config: BootstrapConfig
) -> dict[str, Estimate]:
    """The judge's mean score and the mean agent_wer, only where a judge or agent_wer ran."""
    figures = {}
    for figure, values in (
        ("judge_score", ok["judge_score"]),
        ("agent_wer_mean", group["agent_wer"]),
    ):
        if values.notna().any():
            figures[figure] = mean_ci(values, config)
    return figures


def summarize_ci(
    frame: pd.DataFrame,
    by: Sequence[str] = ("pipeline",),
    config: BootstrapConfig | None = None,
    stages: Sequence[str] | None = None,
) -> pd.DataFrame:
    """A tidy table: one row per (group, figure) with value, low, high, n.

    ``by`` names columns or tags (e.g. "speaker"); ``stages`` defaults to every latency column
    with data. Counts (turns, errors) have no interval.
    """
    config = config or BootstrapConfig()
    stages = latency_stages(frame) if stages is None else tuple(stages)
    records = []
    for key, group in iter_groups(frame, by):
        for name, estimate in figure_estimates(group, config, stages).items():
            records.append(
                {
                    **dict(zip(by, key, strict=True)),
                    "figure": name,
                    "value": estimate.value,
                    "low": estimate.low,
                    "high": estimate.high,
                    "n": estimate.n,
                }
            )
    return pd.DataFrame.from_records(records, columns=[*by, "figure", "value", "low", "high", "n"])
