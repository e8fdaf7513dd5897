"""Where chained-local's voice-to-voice time goes, beside its components alone; what levers buy.

    .venv/bin/python benchmarks/latency_budget.py [--max-turns N] [--lever-turns N]
        [--skip-levers | --lever NAME ...] [--out DIR]

One run over the shared clips (../shared/data: fsdd-sample, ljspeech-sample) prints:

1. Each stage of chained-local, static input and streamed at a microphone's pace, median and
   p90, beside the same component alone on the same input in the same run (Whisper on the
   audio it transcribed, llama.cpp on the exact chat requests the agent sent, Piper on the
   first text it spoke; see ``budget_components``), with the ratio of the medians and the
   median of the per-turn ratios. The static and streamed turns alternate clip by clip.
2. Voice-to-voice median/p90, static and streamed (and streamed minus endpointing: the wait
   after the turn end is heard), and realtime against ``voicelab serve`` in this process.
3. The demo suite's quality (data/support: tool_call_ok, answer_ok, quality).
4. Each lever switched off alone (``budget_tables.LEVERS``) against all levers on, on a subset,
   the configurations alternating conversation by conversation: voice-to-voice, the change in
   each stage's median, and the demo suite's quality.

Every figure comes from this one run; the machine's load average is printed with them.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from budget_components import RequestLog, WithDirectCalls
from budget_tables import (
    LEVERS,
    STAGES,
    Lever,
    format_table,
    lever_off,
    missing_settings,
    quantiles,
    stage_rows,
)

from voicelab import (
    ChainedLocalConfig,
    Dataset,
    FeedConfig,
    LocalServer,
    Pipeline,
    RealtimeConfig,
    RunOptions,
    ServerConfig,
    Turn,
    build_pipeline,
    load_dataset,
    run_dataset,
)
from voicelab.providers.local_config import LlamaConfig

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SUITE = ROOT / "data" / "support"
STATIC = ChainedLocalConfig()
STREAMED = ChainedLocalConfig(input_mode="streamed", feed=FeedConfig(mode="realtime"))
QUALITY = ("tool_call_ok", "answer_ok", "quality")


@dataclass(frozen=True)
class Arm:
    """One configuration in an interleaved comparison."""

    label: str
    pipeline: Pipeline


def _say(message: str) -> None:
    print(f"[latency_budget] {message}", file=sys.stderr, flush=True)


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


async def _warm_up(pipeline: Pipeline, turn: Turn) -> None:
    """One unrecorded turn: first-call costs (allocations, grammar caches) stay out of the rows."""
    state = await pipeline.start_conversation("warm-up")
    await pipeline.run_turn(turn, state)
    await pipeline.end_conversation(state)


async def _interleaved(
    arms: Sequence[Arm], datasets: Sequence[Dataset], out: Path
) -> dict[str, pd.DataFrame]:
    """Every conversation through every arm in turn, each arm in its own run folder."""
    for arm in arms:
        await _warm_up(arm.pipeline, datasets[0].conversations[0].turns[0])
    frames: dict[str, list[pd.DataFrame]] = {arm.label: [] for arm in arms}
    options = RunOptions(save_audio=False)
    for dataset in datasets:
        last: dict[str, pd.DataFrame] = {}
        for index, conversation in enumerate(dataset, start=1):
            one = Dataset(name=dataset.name, conversations=(conversation,))
            for arm in arms:
                folder = out / _slug(arm.label) / dataset.name
                last[arm.label] = await run_dataset(arm.pipeline, one, folder, options=options)
            if index % 10 == 0 or index == len(dataset.conversations):
                _say(f"{', '.join(a.label for a in arms)}: {dataset.name} {index}/"
                     f"{len(dataset.conversations)}")  # fmt: skip
        for label, frame in last.items():
            frames[label].append(frame)
    return {label: pd.concat(parts, ignore_index=True) for label, parts in frames.items()}


def _ok(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["error"].isna()]


def _stage_table(title: str, frame: pd.DataFrame, pipeline: WithDirectCalls, streamed: bool) -> str:
    ok = _ok(frame).set_index("audio")
    alone = pd.DataFrame.from_dict(pipeline.direct, orient="index").reindex(ok.index)
    headers = ["stage", "p50", "p90", "alone p50", "alone p90", "x p50", "x paired"]
    table = format_table(headers, stage_rows(ok, alone, streamed))
    notes = [
        f"{count} turn(s) {what}"
        for count, what in (
            (
                pipeline.unreplayable,
                "had a chat request not read to its end: llama.cpp alone not timed",
            ),
            (pipeline.diverged, "replayed to another answer than the pipeline's"),
        )
        if count
    ]
    return "\n".join([f"{title} ({len(ok)} turns, {len(frame) - len(ok)} errors)", table, *notes])


def _v2v_rows(label: str, frame: pd.DataFrame, streamed: bool) -> list[list[Any]]:
    ok = _ok(frame)
    v2v = ok["voice_to_voice_s"].astype(float)
    harness_ms = quantiles(ok["harness_overhead_s"].astype(float) * 1000)[0]
    errors = len(frame) - len(ok)
    rows = [[label, *quantiles(v2v), len(ok), errors, harness_ms]]
    if streamed:
        after = v2v - ok["endpointing_s"].astype(float)
        rows.append([f"{label}: minus endpointing_s", *quantiles(after), len(ok), errors, None])
        rows.append([f"{label}: endpointing_s", *quantiles(ok["endpointing_s"]), len(ok),
                     errors, None])  # fmt: skip
    return rows


def _quality(frame: pd.DataFrame) -> list[Any]:
    ok = _ok(frame)
    return [len(ok), len(frame) - len(ok), *(_mean(ok[c]) for c in QUALITY)]


def _mean(values: pd.Series) -> float:
    clean = values.dropna().astype(float)
    return float(clean.mean()) if not clean.empty else float("nan")


async def _main_runs(
    datasets: Sequence[Dataset], suite: Dataset, out: Path
) -> tuple[str, dict[str, pd.DataFrame]]:
    """Static and streamed with their components alone; realtime; the demo suite's quality."""
    logs: dict[LlamaConfig, RequestLog] = {}
    static = WithDirectCalls(build_pipeline("chained-local", config=STATIC), logs)
    streamed = WithDirectCalls(build_pipeline("chained-local", config=STREAMED), logs)
    _say("static and streamed chained-local, components alone after each turn")
    frames = await _interleaved(
        [Arm("static", static), Arm("streamed", streamed)], datasets, out / "main"
    )
    _say("realtime against voicelab serve (in this process)")
    with LocalServer(ServerConfig(port=0)) as server:
        realtime = build_pipeline("realtime", config=RealtimeConfig(
            base_url=server.base_url, feed=FeedConfig(mode="realtime"),
            turn_detection="server_vad", tool_choice="required",
        ))  # fmt: skip
        frames |= await _interleaved([Arm("realtime", realtime)], datasets, out / "main")
    _say("the demo suite, static chained-local")
    suite_arm = Arm("suite", build_pipeline("chained-local", config=STATIC))
    frames |= await _interleaved([suite_arm], [suite], out / "main")
    sections = [
        _stage_table("stages, static input", frames["static"], static, False),
        _stage_table("stages, streamed at a microphone's pace", frames["streamed"], streamed, True),
        _v2v_table(frames),
        _quality_table(frames["suite"]),
    ]
    return "\n\n".join(sections), frames


def _v2v_table(frames: dict[str, pd.DataFrame]) -> str:
    rows = [
        *_v2v_rows("chained-local static", frames["static"], False),
        *_v2v_rows("chained-local streamed", frames["streamed"], True),
        *_v2v_rows("realtime, voicelab serve, streamed", frames["realtime"], False),
    ]
    headers = ["voice_to_voice_s", "p50", "p90", "turns", "errors", "harness ms p50"]
    return "voice to voice\n" + format_table(headers, rows)


def _quality_table(frame: pd.DataFrame) -> str:
    table = format_table(["suite", "turns", "errors", *QUALITY], [["support", *_quality(frame)]])
    return f"demo suite (data/support), chained-local static\n{table}"


async def _lever_runs(
    levers: Sequence[Lever], datasets: Sequence[Dataset], suite: Dataset, out: Path
) -> str:
    """Per input mode: all levers on, then each lever off alone, alternating per conversation."""
    base_of = {"static": STATIC, "streamed": STREAMED}
    rows: list[list[Any]] = []
    deltas: list[list[Any]] = []
    notes = []
    for mode, base in base_of.items():
        present = []
        for lever in (lv for lv in levers if lv.input_mode == mode):
            missing = missing_settings(base, lever)
            if missing:
                notes.append(f"lever {lever.name!r} skipped: no setting {', '.join(missing)}")
            else:
                present.append(lever)
        if not present:
            continue
        configs = [("all on", base), *((lv.name, lever_off(base, lv)) for lv in present)]
        arms = [Arm(f"{mode} {name}", build_pipeline("chained-local", config=c))
                for name, c in configs]  # fmt: skip
        _say(f"levers, {mode}: {', '.join(a.label for a in arms)}")
        frames = await _interleaved(arms, [*datasets, suite], out / "levers")
        in_suite = {label: f["dataset"] == suite.name for label, f in frames.items()}
        on = _ok(frames[arms[0].label][~in_suite[arms[0].label]])
        on_quality = _quality(frames[arms[0].label][in_suite[arms[0].label]])[-1]
        on50, on90 = quantiles(on["voice_to_voice_s"])
        for arm in arms[1:]:
            off = _ok(frames[arm.label][~in_suite[arm.label]])
            off50, off90 = quantiles(off["voice_to_voice_s"])
            off_quality = _quality(frames[arm.label][in_suite[arm.label]])[-1]
            rows.append([arm.label, len(off), on50, off50, off50 - on50, on90, off90,
                         on_quality, off_quality])  # fmt: skip
            deltas.append(
                [arm.label, *(quantiles(off[s])[0] - quantiles(on[s])[0] for s in STAGES)]
            )
    headers = ["lever off", "turns", "on p50", "off p50", "off-on", "on p90", "off p90",
               "quality on", "quality off"]  # fmt: skip
    text = "levers: voice_to_voice_s with all on vs this one off\n" + format_table(headers, rows)
    text += "\n\nlevers: change of each stage's median when switched off (s)\n" + format_table(
        ["lever off", *(s.removesuffix("_s") for s in STAGES)], deltas
    )
    return "\n".join([text, *notes])


def _datasets(max_turns: int | None) -> list[Dataset]:
    loaded = [load_dataset(SHARED / "fsdd-sample"), load_dataset(SHARED / "ljspeech-sample")]
    return [d.head(max_turns) if max_turns else d for d in loaded]


def _load_average() -> str:
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


async def _run(args: argparse.Namespace, out: Path) -> str:
    datasets = _datasets(args.max_turns)
    suite = load_dataset(SUITE)
    if args.max_turns:
        suite = suite.head(args.max_turns)
    start_load = _load_average()
    started = datetime.datetime.now().isoformat(timespec="seconds")
    report, _frames = await _main_runs(datasets, suite, out)
    if not args.skip_levers:
        levers = [lv for lv in LEVERS if not args.lever or lv.name in args.lever]
        lever_sets = _datasets(args.lever_turns)
        report += "\n\n" + await _lever_runs(levers, lever_sets, suite, out)
    counts = ", ".join(f"{d.name} {d.num_turns}" for d in datasets)
    header = (
        f"latency budget, chained-local, {started}: {counts} turns; {os.cpu_count()} cores; "
        f"load average 1/5/15 min at start {start_load}, at end {_load_average()}"
    )
    return f"{header}\n\n{report}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-turns", type=int, help="turns per dataset (default: all)")
    parser.add_argument(
        "--lever-turns", type=int, default=15, help="turns per dataset in the lever runs"
    )
    parser.add_argument("--skip-levers", action="store_true", help="no lever runs")
    parser.add_argument(
        "--lever", action="append", choices=[lv.name for lv in LEVERS],
        help="measure only this lever (repeatable; default: every lever)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, help="keep the run folders here (default: none)")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.out is not None and args.out.exists() and any(args.out.iterdir()):
        parser.error(f"--out {args.out} is not empty: the figures must come from one run")
    with tempfile.TemporaryDirectory() as tmp:
        print(asyncio.run(_run(args, args.out or Path(tmp))), flush=True)


if __name__ == "__main__":
    main()
