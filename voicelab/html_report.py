"""One self-contained HTML report of runs: CI tables, the paired comparison, plots, audio.

Everything is inside the file (plots as base64 PNG, audio as base64 WAV, CSS inline), so it
opens offline and can be mailed or attached as it is.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from voicelab.errors import ResultsError
from voicelab.execution.trials import run_turn_id
from voicelab.report import (
    RunsReport,
    ci_columns,
    comparison_counts,
    comparison_frame,
    is_missing,
)
from voicelab.run_folder import AUDIO_DIR, CONVERSATIONS_DIR

_PLOT_DPI = 110
_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 75rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #ddd; padding: 0.2rem 0.5rem; text-align: right; }
th { background: #f3f3f3; } td.text { text-align: left; max-width: 22rem; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption, .note { color: #555; font-size: 0.85rem; }
audio { height: 2rem; width: 16rem; }
"""


@dataclass(frozen=True)
class ReportRun:
    """One run of the report: its folder (for audio) and its table."""

    folder: Path
    frame: pd.DataFrame


@dataclass(frozen=True)
class _Plot:
    title: str
    draw: Callable[[], object]


def figure_png_base64(figure: object) -> str:
    """A matplotlib Figure as base64 PNG text."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_PLOT_DPI)  # type: ignore[attr-defined]
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _wav_base64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def _plots(report: RunsReport, runs: Sequence[ReportRun]) -> list[_Plot]:
    from voicelab import plots

    frame = pd.concat([r.frame for r in runs], ignore_index=True)
    chosen: list[_Plot] = [
        _Plot("Voice-to-voice latency, ECDF per pipeline", lambda: plots.latency_ecdf(frame)),
        _Plot("Median latency by stage", lambda: plots.stage_bars(frame)),
        _Plot("One turn, stage by stage", lambda: plots.stage_waterfall(frame)),
        _Plot("Word error rate by pipeline", lambda: plots.wer_by(frame)),
    ]
    chosen += [
        _Plot(f"Word error rate by {tag}", partial(plots.wer_by, frame, by=tag))
        for tag in report.by
        if tag not in ("pipeline", "run_id")
    ]
    chosen.append(_Plot("Cost vs latency", lambda: plots.cost_vs_latency(frame)))
    if report.comparison is not None:
        a, b = runs[0].frame, runs[1].frame
        chosen.append(_Plot("Paired differences, B - A", lambda: plots.paired_differences(a, b)))
    return chosen


def _plot_section(plot: _Plot) -> str:
    title = html.escape(plot.title)
    try:
        figure = plot.draw()
    except ResultsError as e:  # a figure the data cannot make (no prices, no references)
        return f'<p class="note">{title}: not drawn ({html.escape(str(e))})</p>'
    data = figure_png_base64(figure)
    return (
        f'<figure><img alt="{title}" src="data:image/png;base64,{data}">'
        f"<figcaption>{title}</figcaption></figure>"
    )


def _table(frame: pd.DataFrame, index: bool = True) -> str:
    plain = frame.rename_axis(index=None, columns=None)
    return plain.to_html(escape=True, border=0, na_rep="-", index=index)


def _runs_table(runs: Sequence[ReportRun]) -> pd.DataFrame:
    rows = []
    for run in runs:
        frame = run.frame
        rows.append(
            {
                "run": str(run.folder),
                "pipeline": ", ".join(sorted(frame["pipeline"].astype(str).unique())),
                "dataset": ", ".join(sorted(frame["dataset"].dropna().astype(str).unique())),
                "turns": len(frame),
                "errors": int(frame["error"].notna().sum()),
            }
        )
    return pd.DataFrame.from_records(rows)


def _player(path: Path, kind: str) -> str:
    if not path.is_file():
        return '<span class="note">no audio</span>'
    data = _wav_base64(path)
    return f'<audio class="{kind}" controls preload="metadata" src="data:audio/wav;base64,{data}">'


def _text_cell(value: Any) -> str:
    text = "" if is_missing(value) else str(value)
    return f'<td class="text">{html.escape(text)}</td>'


def _audio_section(run: ReportRun, *, open_: bool) -> str:
    audio = run.folder / AUDIO_DIR
    state = " open" if open_ else ""
    parts = [f"<details{state}><summary>{html.escape(str(run.folder))}</summary>"]
    conversations = sorted((audio / CONVERSATIONS_DIR).glob("*.wav"))
    if conversations:
        parts.append("<h3>Conversations (user left, agent right, on the measured clock)</h3>")
        parts.append("<table><tr><th>conversation</th><th>listen</th></tr>")
        parts += [
            f'<tr><td class="text">{html.escape(p.stem)}</td>'
            f"<td>{_player(p, 'conversation')}</td></tr>"
            for p in conversations
        ]
        parts.append("</table>")
    parts.append(
        "<h3>Agent audio per turn</h3><table><tr><th>turn</th><th>reference</th><th>heard</th>"
        "<th>agent said</th><th>voice-to-voice (s)</th><th>listen</th></tr>"
    )
    for row in run.frame.to_dict("records"):
        v2v = row["voice_to_voice_s"]
        latency = "-" if is_missing(v2v) else f"{float(v2v):.3f}"
        ran_as = run_turn_id(row["conversation_id"], row["turn_index"], row["trial"])
        wav = audio / f"{ran_as}.wav"
        said = row["agent_text"] if is_missing(row["error"]) else f"error: {row['error']}"
        parts.append(
            f'<tr><td class="text">{html.escape(ran_as)}</td>'
            f"{_text_cell(row['reference_text'])}{_text_cell(row['user_transcript'])}"
            f"{_text_cell(said)}<td>{latency}</td>"
            f"<td>{_player(wav, 'turn')}</td></tr>"
        )
    parts.append("</table></details>")
    return "\n".join(parts)


def render_html(report: RunsReport, runs: Sequence[ReportRun], *, audio: bool = False) -> str:
    """The report as one HTML document with nothing outside it."""
    config = report.config
    method = (
        f"{config.confidence:.0%} confidence intervals: {config.method} bootstrap over turns "
        f"({config.n_resamples} resamples, seed {config.seed}) for latency quantiles, quality "
        "and cost; corpus WER resampled by turns; Wilson intervals for success and tool-call "
        "rates."
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>voicelab report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>voicelab report</h1>",
        f'<p class="note">Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. {method}</p>',
        "<h2>Runs</h2>",
        _table(_runs_table(runs), index=False),
        f"<h2>Summary by {html.escape(', '.join(report.by))}</h2>",
        '<p class="note">value [low, high]; latency figures over successful turns.</p>',
        _table(ci_columns(report.summary, report.by)),
    ]
    if report.comparison is not None:
        comparison = report.comparison
        parts += [
            "<h2>Paired comparison, B - A</h2>",
            f"<p>A = {html.escape(comparison.label_a)}, B = {html.escape(comparison.label_b)}."
            f" {html.escape(comparison_counts(comparison))}.</p>",
            _table(comparison_frame(comparison)),
        ]
    if report.note:
        parts.append(f'<p class="note">{html.escape(report.note)}</p>')
    parts.append("<h2>Plots</h2>")
    parts += [_plot_section(plot) for plot in _plots(report, runs)]
    if audio:
        parts.append("<h2>Audio</h2>")
        parts += [_audio_section(run, open_=i == 0) for i, run in enumerate(runs)]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html_report(
    path: str | Path, report: RunsReport, runs: Sequence[ReportRun], *, audio: bool = False
) -> Path:
    """Write the report to ``path`` (folders created) and return it."""
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_html(report, runs, audio=audio), encoding="utf-8")
    except OSError as e:
        raise ResultsError(f"{out}: cannot write the HTML report ({e.strerror})") from e
    return out
