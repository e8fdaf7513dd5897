"""Summaries of a result table per group (pipeline, run, any tag) and their text tables."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from voicelab.costs import cost_summary
from voicelab.grouping import group_table, iter_groups
from voicelab.paired import PairedComparison, compare_runs
from voicelab.stats import BootstrapConfig, corpus_wer, summarize_ci
from voicelab.trials import has_trials, trial_summary

SUMMARY_LATENCIES = (
    "stt_s", "llm_ttft_s", "tts_ttfb_s", "voice_to_voice_s", "voice_to_audible_s", "turn_total_s",
    "harness_overhead_s",
)  # fmt: skip

_SUMMARY_COSTS = ("cost_usd_per_turn", "cost_usd_per_1k_turns", "cost_usd_per_successful_task")
_SUMMARY_FIGURES = (
    "turns", "errors", "wer", "quality", "tool_call_ok", "cost_usd", *_SUMMARY_COSTS,
    "judge_score", "agent_wer_mean", "judge_cost_usd",
)  # fmt: skip
"""The columns of ``summarize`` after its group columns, before the latency percentiles."""


def summarize(
    frame: pd.DataFrame,
    latencies: tuple[str, ...] = SUMMARY_LATENCIES,
    by: Sequence[str] = ("pipeline",),
) -> pd.DataFrame:
    """One row per group: counts, corpus WER, mean quality, median/p90 latencies, cost (total,
    per turn, per 1,000 turns, per successful task: ``voicelab.costs``).

    ``by`` names columns or tags of the turns (e.g. ``["pipeline", "speaker"]``).
    """
    costs = cost_summary(frame, by)  # one row per group, in iter_groups' order
    records = []
    for (key, group), (_, cost) in zip(iter_groups(frame, by), costs.iterrows(), strict=True):
        ok = group[group["error"].isna()]
        record: dict[str, object] = {
            **dict(zip(by, key, strict=True)),
            "turns": len(group),
            "errors": int(group["error"].notna().sum()),
            "wer": corpus_wer(group),
            "quality": ok["quality"].astype("Float64").mean(),
            "tool_call_ok": ok["tool_call_ok"].astype("Float64").mean(),
            "cost_usd": cost["cost_usd_total"],
            **{c: cost[c] for c in _SUMMARY_COSTS},
            "judge_score": ok["judge_score"].astype("Float64").mean(),  # evaluators
            "agent_wer_mean": group["agent_wer"].astype("Float64").mean(),  # evaluators
            "judge_cost_usd": group["judge_cost_usd"].astype("Float64").sum(min_count=1),
        }
        for column in latencies:
            values = ok[column].astype("Float64").dropna()
            record[f"{column}_p50"] = values.median() if len(values) else float("nan")
            record[f"{column}_p90"] = values.quantile(0.9) if len(values) else float("nan")
        records.append(record)
    percentiles = [f"{column}_{p}" for column in latencies for p in ("p50", "p90")]
    return group_table(records, by, [*_SUMMARY_FIGURES, *percentiles])


def format_summary(summary: pd.DataFrame) -> str:
    """The summary as a transposed text table (groups as columns), 3 decimals."""
    return summary.T.map(_cell).to_string()


def is_missing(value: object) -> bool:
    """None, pandas NA or a float NaN."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _cell(value: object) -> str:
    if is_missing(value):
        return "-"
    if isinstance(value, int | float) and float(value).is_integer() and abs(value) < 1e9:
        return str(int(value))
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def format_interval(value: float, low: float, high: float) -> str:
    """``0.550 [0.541, 0.562]``; a count or a figure without an interval alone."""
    if math.isnan(low) or math.isnan(high):
        return _cell(float(value))
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"


def group_label(key: Sequence[object]) -> str:
    """A group's key as one label, e.g. ``chained-local / george``."""
    return " / ".join("-" if is_missing(k) else str(k) for k in key)


def ci_columns(table: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """The tidy CI table as figures x groups of formatted cells, in figure order."""
    labels = table[list(by)].apply(lambda row: group_label(tuple(row)), axis=1)
    cells = [
        format_interval(v, lo, hi)
        for v, lo, hi in table[["value", "low", "high"]].itertuples(index=False)
    ]
    wide = pd.DataFrame({"group": labels, "figure": table["figure"], "cell": cells})
    figures = list(dict.fromkeys(table["figure"]))
    groups = list(dict.fromkeys(labels))
    return wide.pivot(index="figure", columns="group", values="cell").loc[figures, groups]


def format_summary_ci(table: pd.DataFrame, by: Sequence[str], confidence: float) -> str:
    """The CI summary (``voicelab.stats.summarize_ci``) as text: figures x groups."""
    heading = f"value [{confidence:.0%} CI] by {', '.join(by)}"
    return f"{heading}\n{ci_columns(table, by).rename_axis(None, axis=1).to_string()}"


def comparison_frame(comparison: PairedComparison) -> pd.DataFrame:
    """The paired figures as formatted text cells."""
    table = comparison.table()
    return pd.DataFrame(
        {
            "A": table["a"].map(lambda v: _cell(float(v))),
            "B": table["b"].map(lambda v: _cell(float(v))),
            "B - A [CI]": [
                format_interval(d, lo, hi)
                for d, lo, hi in table[["difference", "low", "high"]].itertuples(index=False)
            ],
            "p": table["p_value"].map(lambda p: "-" if math.isnan(p) else f"{p:.3g}"),
            "test": table["test"],
            "n": table["n"],
        },
        index=table.index,
    )


def comparison_counts(comparison: PairedComparison) -> str:
    """How many turns were paired and why the others were dropped."""
    return (
        f"{comparison.paired_turns} turns paired of {comparison.common_turns} in both runs; "
        f"dropped: {comparison.dropped_errors} with an error on either side, "
        f"{comparison.only_in_a} only in A, {comparison.only_in_b} only in B"
    )


def format_comparison(comparison: PairedComparison) -> str:
    """The paired comparison as text: a heading, the turn counts, one line per figure."""
    heading = f"paired comparison, B - A: A = {comparison.label_a}, B = {comparison.label_b}"
    body = comparison_frame(comparison).to_string()
    return f"{heading}\n{comparison_counts(comparison)}\n{body}"


@dataclass(frozen=True)
class RunsReport:
    """What ``voicelab report`` shows: the CI summary per group and, for two runs, the pairing."""

    summary: pd.DataFrame
    """Tidy table from ``voicelab.stats.summarize_ci``."""
    by: tuple[str, ...]
    config: BootstrapConfig
    comparison: PairedComparison | None
    note: str | None
    """Why there is no paired comparison, when two runs could not be paired."""
    costs: pd.DataFrame | None = None
    """``voicelab.costs.cost_summary`` per group."""
    trials: pd.DataFrame | None = None
    """``voicelab.trials.trial_summary`` per group, when a task ran more than once."""


def default_grouping(frames: Sequence[pd.DataFrame]) -> str:
    """``pipeline`` when every run has its own pipeline name, else ``run_id``."""
    names = [tuple(f["pipeline"].dropna().unique()) for f in frames]
    distinct = len({n for names_ in names for n in names_}) == sum(len(n) for n in names)
    return "pipeline" if distinct else "run_id"


def _pairing_note(frame_a: pd.DataFrame, frame_b: pd.DataFrame) -> str | None:
    datasets = [tuple(sorted(f["dataset"].dropna().unique())) for f in (frame_a, frame_b)]
    if datasets[0] != datasets[1]:
        shown = " and ".join(", ".join(d) or "?" for d in datasets)
        return f"no paired comparison: the runs are over different datasets ({shown})"
    if not frame_a["turn_id"].isin(frame_b["turn_id"]).any():
        return "no paired comparison: the runs share no turn id"
    return None


def build_report(
    frames: Sequence[pd.DataFrame],
    by: Sequence[str] = (),
    config: BootstrapConfig | None = None,
) -> RunsReport:
    """Summaries with CIs of one or more runs, grouped by ``by`` after the run's pipeline (or
    run id); for exactly two runs over the same dataset, their paired comparison."""
    config = config or BootstrapConfig()
    first = default_grouping(frames)
    keys = tuple(by) if {"pipeline", "run_id"} & set(by) else (first, *by)
    combined = pd.concat(frames, ignore_index=True)
    summary = summarize_ci(combined, keys, config)
    comparison, note = None, None
    if len(frames) == 2:
        note = _pairing_note(*frames)
        if note is None:
            comparison = compare_runs(frames[0], frames[1], config)
    trials = trial_summary(combined, by=keys) if has_trials(combined) else None
    return RunsReport(summary, keys, config, comparison, note, cost_summary(combined, keys), trials)


def format_report(report: RunsReport) -> str:
    """The whole text report."""
    parts = [format_summary_ci(report.summary, report.by, report.config.confidence)]
    if report.trials is not None:
        parts.append(format_trials(report.trials))
    if report.costs is not None:
        parts.append(format_costs(report.costs))
    if report.comparison is not None:
        parts.append(format_comparison(report.comparison))
    if report.note:
        parts.append(report.note)
    return "\n\n".join(parts)


def format_trials(trials: pd.DataFrame) -> str:
    """The repeated-trials table as text: pass^k, pass@k and flakiness per group."""
    heading = (
        "repeated trials (task = conversation; success = every turn without error and all its "
        "checks passed): pass^k = all k trials succeed, pass@k = at least one does"
    )
    return f"{heading}\n{format_summary(trials)}"


def format_costs(costs: pd.DataFrame) -> str:
    """The cost table as text: per turn, per 1,000 turns, per successful task, and the basis."""
    table = costs.drop(columns=["cost_basis"])
    bases = [f"  {group_label(k if isinstance(k, tuple) else (k,))}: {b or 'unknown'}"
             for k, b in costs["cost_basis"].items()]  # fmt: skip
    return "cost (USD; NA where a price or usage is unknown)\n" + "\n".join(
        [format_summary(table), "cost basis:", *bases]
    )
