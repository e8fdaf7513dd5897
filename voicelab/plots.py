"""Figures of a result table: latency ECDFs, stage waterfall and bars, WER, cost, differences.

Each function takes the table ``run_dataset`` / ``load_run`` return and returns a
``matplotlib.figure.Figure`` made without pyplot (no global figure state, safe headless; a
notebook shows the returned figure). Every pipeline keeps one colour (``pipeline_colour``).
Latency figures use successful turns only; stages come from ``voicelab.metrics.latency``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, PercentFormatter, StrMethodFormatter

from voicelab.errors import ResultsError
from voicelab.grouping import with_group_columns
from voicelab.metrics.latency import LATENCY_SPANS, VOICE_TO_VOICE_STAGES
from voicelab.paired import compare_runs
from voicelab.plot_data import (
    CLEAN_CONDITION,
    column_label,
    pareto_front,
    pipeline_colour,
    require_columns,
    series_labels,
    succeeded,
    values_by_series,
    with_conditions,
)
from voicelab.stats import BootstrapConfig, Estimate, corpus_wer_ci, rate_ci
from voicelab.timeline import Event
from voicelab.trials import turn_succeeded

__all__ = [
    "cost_vs_latency",
    "latency_ecdf",
    "paired_differences",
    "pipeline_colour",
    "stage_bars",
    "stage_waterfall",
    "success_by",
    "vs_snr",
    "wer_by",
]

_NS_PER_S = 1e9
_MS_PER_S = 1000
_BOOTSTRAP = BootstrapConfig()  # seeded: the same table always draws the same intervals
_CI_PERCENT = round(_BOOTSTRAP.confidence * 100)
# short names of the stage columns, in the order a turn passes through them
_STAGE_NAMES = {
    "audio_send_s": "user audio sent",
    "endpointing_s": "endpointing",
    "stt_s": "STT",
    "response_created_s": "response created",
    "llm_ttft_s": "LLM first output",
    "agent_first_text_s": "tools → answer text",
    "text_buffer_s": "sentence buffering",
    "tts_ttfb_s": "TTS first byte",
    "audio_delivery_s": "audio delivery",
    "leading_silence_s": "leading silence",
}
_AGENT_AUDIO = "agent audio delivered"
_WATERFALL_SPANS: dict[str, tuple[str, str]] = {
    **{name: LATENCY_SPANS[column] for column, name in _STAGE_NAMES.items()},
    _AGENT_AUDIO: (Event.FIRST_AGENT_AUDIO, Event.LAST_AGENT_AUDIO),
}
_HATCHES = ("", "///", "...", "xxx", "\\\\\\", "ooo", "+++")
_REST_HATCH = "---"
_GREY = "#555555"
_EMPTY_COST_AXIS_USD = 0.01  # y range when every pipeline is free (local models)
_TICK_CHARS = 12  # longer group names (condition texts) are tilted so they do not overlap
_TEXT_MIN_FRACTION = 0.12  # a stacked segment narrower than this share of the axis gets no text


def latency_ecdf(frame: pd.DataFrame, column: str = "voice_to_voice_s") -> Figure:
    """ECDF of a latency column per pipeline, each median marked and written beside it."""
    series = values_by_series(frame, column, "latency_ecdf")
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.add_subplot()
    for label, values in series.items():
        colour = pipeline_colour(label)
        x = np.sort(values)
        y = np.arange(1, x.size + 1) / x.size
        ax.step(np.r_[x[0], x], np.r_[0, y], where="post", color=colour,
                label=f"{label} (n={x.size})")  # fmt: skip
        median = float(np.median(values))
        ax.plot([median], [0.5], marker="o", markersize=8, color=colour,
                markeredgecolor="black", linestyle="none", gid=f"median:{label}")  # fmt: skip
        ax.annotate(f"median {median:.2f} s", (median, 0.5), xytext=(6, -14),
                    textcoords="offset points", color=colour, fontsize=9)  # fmt: skip
    ax.axhline(0.5, color=_GREY, linewidth=0.6, linestyle=":")
    ax.set_xlabel(column_label(column))
    ax.set_ylabel("fraction of turns at or below")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{column} per pipeline (successful turns)")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    return fig


def stage_waterfall(frame: pd.DataFrame, turn_id: str | None = None) -> Figure:
    """One turn's stages on one clock from end of user speech, a panel per pipeline that ran it.

    Without ``turn_id``, the first successful turn of the table.
    """
    require_columns(frame, ["turn_id", "timeline_ns", "pipeline", "error"], "stage_waterfall")
    if turn_id is None:
        ok = succeeded(frame)
        if ok.empty:
            raise ResultsError("stage_waterfall: the table has no successful turn to draw")
        turn_id = str(ok["turn_id"].iloc[0])
    rows = frame[frame["turn_id"] == turn_id]
    if rows.empty:
        raise ResultsError(f"stage_waterfall: turn {turn_id!r} is not in the table")
    panels = [(label, _turn_spans(row)) for label, (_, row) in
              zip(series_labels(rows), rows.iterrows(), strict=True)]  # fmt: skip
    panels = [(label, spans) for label, spans in panels if spans]
    if not panels:
        raise ResultsError(f"stage_waterfall: turn {turn_id!r} has no end-of-speech stamp")
    heights = [len(spans) + 1 for _, spans in panels]
    fig = Figure(figsize=(9, 0.45 * sum(heights) + 1.2), layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False,
                        gridspec_kw={"height_ratios": heights})[:, 0]  # fmt: skip
    for ax, (label, spans) in zip(axes, panels, strict=True):
        _draw_waterfall(ax, label, spans)
    axes[-1].set_xlabel("time from end of user speech (s)")
    fig.suptitle(f"Turn {turn_id}: stages on one clock")
    return fig


def _turn_spans(row: pd.Series) -> dict[str, tuple[float, float]]:
    """Each waterfall span the row's timeline stamped, in seconds from end of speech."""
    stamps = json.loads(row["timeline_ns"]) if isinstance(row["timeline_ns"], str) else {}
    zero = stamps.get(Event.END_OF_SPEECH)
    if zero is None:
        return {}
    return {
        name: ((stamps[a] - zero) / _NS_PER_S, (stamps[b] - zero) / _NS_PER_S)
        for name, (a, b) in _WATERFALL_SPANS.items()
        if a in stamps and b in stamps
    }


def _draw_waterfall(ax: Axes, label: str, spans: dict[str, tuple[float, float]]) -> None:
    colour = pipeline_colour(label)
    names = list(spans)
    for y, name in enumerate(names):
        start, end = spans[name]
        bar_colour = _GREY if name in (_STAGE_NAMES["audio_send_s"], _AGENT_AUDIO) else colour
        ax.barh(y, end - start, left=start, color=bar_colour, alpha=0.85, height=0.6,
                gid=f"{label}:{name}")  # fmt: skip
        ax.annotate(f"{(end - start) * _MS_PER_S:.0f} ms", (max(start, end), y),
                    xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)  # fmt: skip
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(len(names) - 0.4, -0.6)
    ax.axvline(0, color="black", linewidth=0.8)
    first_audio = spans.get(_AGENT_AUDIO, (None, None))[0]
    if first_audio is not None:
        ax.axvline(first_audio, color=colour, linestyle="--", linewidth=1,
                   label=f"first agent audio: voice-to-voice {first_audio:.3f} s")  # fmt: skip
        ax.legend(loc="upper right", fontsize=8)
    ax.set_title(label, loc="left", color=colour, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    ax.margins(x=0.12)


def stage_bars(frame: pd.DataFrame) -> Figure:
    """Median of each voice-to-voice stage stacked per pipeline, median voice-to-voice marked.

    Medians do not add up: the stack can differ from the marked median voice-to-voice; what
    the stages leave of that median is drawn as "rest of voice-to-voice".
    """
    v2v = values_by_series(frame, "voice_to_voice_s", "stage_bars")
    ok = succeeded(frame)
    labels = series_labels(ok)
    stage_order = list(
        dict.fromkeys(c for stages in VOICE_TO_VOICE_STAGES.values() for c in stages)
    )
    hatch = {column: _HATCHES[i % len(_HATCHES)] for i, column in enumerate(stage_order)}
    fig = Figure(figsize=(9, 1.1 * len(v2v) + 2.2), layout="constrained")
    ax = fig.add_subplot()
    used: dict[str, str] = {}
    longest = max(float(np.median(v)) for v in v2v.values())
    for y, (label, values) in enumerate(v2v.items()):
        rows = ok[labels == label]
        colour = pipeline_colour(label)
        left = 0.0
        for column in VOICE_TO_VOICE_STAGES.get(str(rows["architecture"].iloc[0]), ()):
            stage = pd.to_numeric(rows[column], errors="coerce").astype("float64").dropna()
            if stage.empty:
                continue
            width = float(stage.median())
            ax.barh(y, width, left=left, color=colour, hatch=hatch[column], edgecolor="white",
                    height=0.6, gid=f"{label}:{column}")  # fmt: skip
            if width > 0:
                used[_STAGE_NAMES[column]] = hatch[column]
            if width > _TEXT_MIN_FRACTION * longest:
                _segment_text(ax, left, width, y, _STAGE_NAMES[column])
            left += width
        longest = max(longest, left)
        median = float(np.median(values))
        if median > left:
            ax.barh(y, median - left, left=left, color=colour, alpha=0.35, hatch=_REST_HATCH,
                    edgecolor="white", height=0.6, gid=f"{label}:rest")  # fmt: skip
            used["rest of voice-to-voice"] = _REST_HATCH
        ax.plot([median], [y], marker="D", color="black", linestyle="none",
                gid=f"median:{label}")  # fmt: skip
        ax.annotate(f"{median:.2f} s", (max(median, left), y), xytext=(8, 0),
                    textcoords="offset points", va="center", fontsize=9)  # fmt: skip
    ax.set_yticks(range(len(v2v)), list(v2v))
    for tick, label in zip(ax.get_yticklabels(), v2v, strict=True):
        tick.set_color(pipeline_colour(label))
    ax.set_ylim(len(v2v) - 0.4, -0.6)
    ax.set_xlim(0, longest * 1.15)
    ax.set_xlabel("median time from end of user speech (s)")
    ax.set_title("Median stage latencies per pipeline (◆ median voice-to-voice)")
    ax.grid(axis="x", alpha=0.3)
    handles = [Patch(facecolor="#bbbbbb", edgecolor="white", hatch=h, label=n)
               for n, h in used.items()]  # fmt: skip
    fig.legend(handles=handles, loc="outside lower center", ncols=min(4, len(handles) or 1),
               fontsize=8)  # fmt: skip
    return fig


def _segment_text(ax: Axes, left: float, width: float, y: float, name: str) -> None:
    """Name and duration inside a stacked segment, on a white box so hatching cannot hide it."""
    ax.annotate(f"{name}\n{width * _MS_PER_S:.0f} ms", (left + width / 2, y), ha="center",
                va="center", fontsize=7, annotation_clip=True,
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.8,
                      "linewidth": 0})  # fmt: skip


def wer_by(frame: pd.DataFrame, by: str = "pipeline") -> Figure:
    """Corpus WER with a bootstrap CI over turns, per pipeline or per value of a column or tag."""
    require_columns(frame, ["pipeline", "error", "reference_text", "user_transcript"], "wer_by")
    return _ci_bars(
        frame, by, lambda rows: corpus_wer_ci(rows, _BOOTSTRAP),
        ylabel=f"corpus WER (%, {_CI_PERCENT}% CI)",
        title=f"Word error rate by {by} ({_CI_PERCENT}% bootstrap CI over turns)",
        empty="wer_by: no successful turn has a reference transcript to score",
    )  # fmt: skip


def success_by(frame: pd.DataFrame, by: str = "pipeline") -> Figure:
    """Task success (``voicelab.trials.turn_succeeded``: no error, no failed check) with a
    Wilson CI, per pipeline or per value of a column or tag."""
    require_columns(frame, ["pipeline", "error", "answer_ok", "tool_call_ok"], "success_by")
    return _ci_bars(
        frame, by, lambda rows: rate_ci(turn_succeeded(rows), _BOOTSTRAP),
        ylabel=f"turns succeeded (%, {_CI_PERCENT}% CI)",
        title=f"Task success by {by} ({_CI_PERCENT}% Wilson CI over turns)",
        empty="success_by: the table has no turns", rate=True,
    )  # fmt: skip


def _ci_bars(
    frame: pd.DataFrame,
    by: str,
    estimate: Callable[[pd.DataFrame], Estimate],
    *,
    ylabel: str,
    title: str,
    empty: str,
    rate: bool = False,
) -> Figure:
    """Bars of ``estimate`` per group of ``by`` and series, with CI whiskers and n."""
    labels = series_labels(frame)
    groups = labels if by == "pipeline" else with_group_columns(frame, [by])[by].astype("string")
    cells = {
        (str(group), str(label)): estimated
        for (group, label), rows in frame.groupby([groups, labels], sort=True)
        if (estimated := estimate(rows)).n
    }
    if not cells:
        raise ResultsError(empty)
    group_names = list(dict.fromkeys(g for g, _ in cells))
    series = sorted({s for _, s in cells})
    width = 0.8 / len(series) if by != "pipeline" else 0.6
    fig = Figure(figsize=(max(6.0, 1.1 * len(group_names) * max(1, len(series) // 2) + 2), 4.5),
                 layout="constrained")  # fmt: skip
    ax = fig.add_subplot()
    for k, label in enumerate(series):
        offset = 0.0 if by == "pipeline" else (k - (len(series) - 1) / 2) * width
        legend_label: str | None = label
        for x, group in enumerate(group_names):
            if (cell := cells.get((group, label))) is None:
                continue
            low, high = cell.low, cell.high
            ax.bar(x + offset, cell.value, width, color=pipeline_colour(label), label=legend_label,
                   yerr=[[cell.value - low], [high - cell.value]], capsize=4,
                   gid=f"{group}:{label}")  # fmt: skip
            legend_label = None
            ax.annotate(f"{cell.value:.1%}\nn={cell.n}", (x + offset, high), xytext=(0, 3),
                        textcoords="offset points", ha="center", fontsize=8)  # fmt: skip
    long_names = max(len(g) for g in group_names) > _TICK_CHARS
    ax.set_xticks(range(len(group_names)), group_names, rotation=20 if long_names else 0,
                  ha="right" if long_names else "center")  # fmt: skip
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel(ylabel)
    ax.set_xlabel(by)
    ax.set_ylim(0, max(0.05, max(c.high for c in cells.values()) * 1.3))
    if rate:  # room above for the labels, but no tick past 100%
        ax.set_yticks(np.linspace(0.0, 1.0, 6))
    ax.set_title(title)
    if by != "pipeline":
        ax.legend(loc="upper left", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return fig


_SNR_FIGURES = {  # figure: (axis label, title, interval)
    "wer": ("corpus WER", "Word error rate", "bootstrap"),
    "task_success": ("turns succeeded", "Task success", "Wilson"),
}
_DODGE = 0.05  # x offset between series, so lines with equal values stay visible
_NOISE_STYLES = ("-", "--", ":", "-.")


def vs_snr(frame: pd.DataFrame, figure: str = "wer") -> Figure:
    """Corpus WER (``figure="wer"``) or task success (``"task_success"``) against the SNR of
    noise conditions, one line per pipeline and noise kind, with CIs; clean turns (no
    condition) are the left-most point of every line. Other conditions are left out."""
    if figure not in _SNR_FIGURES:
        raise ResultsError(f"vs_snr: figure must be one of {', '.join(_SNR_FIGURES)}")
    require_columns(frame, ["pipeline", "error", "answer_ok", "tool_call_ok"], "vs_snr")
    rows = with_conditions(frame)
    estimate: Callable[[pd.DataFrame], Estimate] = (
        (lambda part: corpus_wer_ci(part, _BOOTSTRAP)) if figure == "wer"
        else (lambda part: rate_ci(turn_succeeded(part), _BOOTSTRAP))
    )  # fmt: skip
    noisy = rows[rows["snr_db"].notna() & ~rows["condition"].str.contains(";", regex=False)]
    if noisy.empty:
        raise ResultsError(
            "vs_snr: no turn ran under a single noise condition (noise=...,snr_db=N)"
        )
    snrs = sorted(noisy["snr_db"].unique(), reverse=True)
    ticks = [CLEAN_CONDITION, *(f"{v:g} dB" for v in snrs)]
    labels = series_labels(rows)
    clean = rows[rows["condition"] == CLEAN_CONDITION]
    noises = sorted(noisy["noise"].astype(str).unique())
    series = [(label, noise) for label in sorted(labels.unique()) for noise in noises]
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.add_subplot()
    for j, (label, noise) in enumerate(series):
        parts = [clean[labels[clean.index] == label]] + [
            noisy[(labels[noisy.index] == label) & (noisy["noise"] == noise)
                  & (noisy["snr_db"] == snr)]
            for snr in snrs
        ]  # fmt: skip
        points = [(x, e) for x, part in enumerate(parts) if (e := estimate(part)).n]
        if not points:
            continue
        dodge = (j - (len(series) - 1) / 2) * _DODGE
        values = np.array([e.value for _, e in points])
        whiskers = np.array([[e.value - e.low, e.high - e.value] for _, e in points]).T
        style = _NOISE_STYLES[noises.index(noise) % len(_NOISE_STYLES)]
        drawn = ax.errorbar([x + dodge for x, _ in points], values, yerr=whiskers, capsize=4,
                            color=pipeline_colour(label), marker="o", linestyle=style,
                            label=f"{label}, {noise}")  # fmt: skip
        drawn.lines[0].set_gid(f"{label}:{noise}")  # the line through the points
    axis_label, title, interval = _SNR_FIGURES[figure]
    ax.set_xticks(range(len(ticks)), ticks)
    ax.set_xlabel("signal-to-noise ratio (louder noise to the right)")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel(f"{axis_label} (%, {_CI_PERCENT}% CI)")
    ax.set_ylim(0, 1.05 if figure == "task_success" else None)
    ax.set_title(f"{title} vs SNR ({_CI_PERCENT}% {interval} CI over turns)")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def cost_vs_latency(frame: pd.DataFrame, per: str = "turn") -> Figure:
    """Mean cost per turn (``per="turn"``) or total cost (``"run"``) vs median voice-to-voice.

    The Pareto front joins the pipelines no other is both cheaper and faster than. Pipelines
    whose cost is unknown (a price missing from the table) are left out and named.
    """
    if per not in ("turn", "run"):
        raise ResultsError(f"cost_vs_latency: per must be 'turn' or 'run', not {per!r}")
    v2v = values_by_series(frame, "voice_to_voice_s", "cost_vs_latency")
    require_columns(frame, ["cost_usd"], "cost_vs_latency")
    labels = series_labels(frame)
    points: list[tuple[float, float]] = []
    names: list[str] = []
    for label, values in v2v.items():
        costs = frame.loc[labels == label, "cost_usd"].astype("Float64").dropna()
        if costs.empty:
            continue
        cost = float(costs.mean() if per == "turn" else costs.sum())
        points.append((float(np.median(values)), cost))
        names.append(label)
    if not points:
        raise ResultsError("cost_vs_latency: no pipeline has a known cost (prices missing)")
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.add_subplot()
    front = pareto_front(points)
    ax.plot([points[i][0] for i in front], [points[i][1] for i in front], color=_GREY,
            linestyle="--", linewidth=1, marker="o", markersize=16, markerfacecolor="none",
            label="Pareto front", zorder=1, gid="pareto")  # fmt: skip
    for (x, y), name in zip(points, names, strict=True):
        ax.scatter([x], [y], s=80, color=pipeline_colour(name), edgecolor="black", label=name,
                   zorder=2, gid=f"point:{name}")  # fmt: skip
        ax.annotate(name, (x, y), xytext=(6, 6), textcoords="offset points", fontsize=9)
    ax.set_xlabel("median voice-to-voice latency (s)")
    ax.set_ylabel("mean cost per turn (USD)" if per == "turn" else "total cost of the run (USD)")
    ax.yaxis.set_major_formatter(StrMethodFormatter("${x:,.4f}"))
    ax.margins(x=0.2)
    top = max(y for _, y in points) * 1.3 or _EMPTY_COST_AXIS_USD
    ax.set_ylim(-0.05 * top, top)  # a little below zero, so free pipelines show whole markers
    unknown = sorted(set(v2v) - set(names))
    note = f"; cost unknown: {', '.join(unknown)}" if unknown else ""
    ax.set_title(f"Cost vs latency (lower left is better){note}")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def paired_differences(
    frame_a: pd.DataFrame, frame_b: pd.DataFrame, column: str = "voice_to_voice_s"
) -> Figure:
    """Per-turn differences B - A of ``column`` over the turns both ran, median and its CI.

    The median, its CI and p-value are ``voicelab.paired.compare_runs``'s figure for the column.
    """
    a, label_a = _one_side(frame_a, column, "frame_a")
    b, label_b = _one_side(frame_b, column, "frame_b")
    if label_a == label_b:  # the same pipeline twice: tell the runs apart
        label_a, label_b = (
            _run_names(f, label) for f, label in ((frame_a, label_a), (frame_b, label_b))
        )
    paired = a.index.intersection(b.index).sort_values()
    dropped = len(a.index.union(b.index)) - len(paired)
    if paired.empty:
        raise ResultsError(
            f"paired_differences: no turn_id has a successful {column} in both tables"
        )
    values = (b[paired] - a[paired]).sort_values().to_numpy(dtype=np.float64)
    (figure,) = compare_runs(frame_a, frame_b, _BOOTSTRAP, stages=[column]).figures[-1:]
    median, low, high = figure.difference, figure.low, figure.high
    colour = pipeline_colour(label_b)
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.add_subplot()
    ax.scatter(np.arange(values.size), values, s=18, color=colour, label="one turn", zorder=2)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.axhspan(low, high, color=colour, alpha=0.2, label=f"{_CI_PERCENT}% CI of the median")
    ax.axhline(median, color=colour, linewidth=2, gid="median",
               label=f"median {median:+.3f} s [{low:+.3f}, {high:+.3f}], "
                     f"{figure.test} p={figure.p_value:.2g}")  # fmt: skip
    ax.set_xlabel("turns, sorted by difference")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(f"{column}: {label_b} - {label_a} (s)")
    ax.set_title(f"Paired difference in {column} ({len(paired)} turns paired, {dropped} dropped)")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def _one_side(frame: pd.DataFrame, column: str, where: str) -> tuple[pd.Series, str]:
    """A run's successful values of ``column`` indexed by turn_id, and its series label."""
    require_columns(frame, ["turn_id", "pipeline", "error", column], f"paired_differences {where}")
    ok = succeeded(frame)
    values = pd.to_numeric(ok[column], errors="coerce").astype("float64")
    values.index = pd.Index(ok["turn_id"].astype(str))
    values = values.dropna()
    repeated = values.index[values.index.duplicated()].unique().tolist()
    if repeated:
        raise ResultsError(
            f"paired_differences: {where} holds turn {repeated[0]!r} more than once; pass one "
            "run per side"
        )
    label_set: Sequence[str] = sorted(series_labels(frame).unique()) if len(frame) else []
    return values, " + ".join(label_set) or where


def _run_names(frame: pd.DataFrame, label: str) -> str:
    runs = ", ".join(sorted(frame["run_id"].astype(str).unique())) if "run_id" in frame else ""
    return f"{label} ({runs})" if runs else label
