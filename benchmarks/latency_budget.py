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
4. The defaults against each lever moved alone (``budget_tables.LEVERS``: switched off, or on
   for an opt-in one), on a subset, the configurations alternating conversation by
   conversation: voice-to-voice, the demo suite's quality, and the change in each stage's
   median.

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
    lever_moved,
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
from voicelab.providers.local_models import load_llamas_anew

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


def _own_model(name: str, config: ChainedLocalConfig) -> Pipeline:
    """A pipeline whose llama.cpp model (and so KV cache) no other arm uses: arms run the same
    conversation one after another, and one would otherwise find the other's prompt cached."""
    load_llamas_anew()
    return build_pipeline(name, config=config)


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
            (
                pipeline.diverged,
                "replayed otherwise (KV cache or answer): llama.cpp alone not timed",
            ),
        )
        if count
    ]
    counts = f"{len(ok)} turns, {len(frame) - len(ok)} errors"
    return "\n".join([f"{title} ({counts}; goal: x <= 1.1)", table, *notes])


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
    logs: dict[int, RequestLog] = {}
    static = WithDirectCalls(_own_model("chained-local", STATIC), logs)
    streamed = WithDirectCalls(_own_model("chained-local", STREAMED), logs)
    load_llamas_anew()  # after the wrappers: their direct calls share their arm's model
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
    suite_arm = Arm("suite", _own_model("chained-local", STATIC))
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
    goals = "static p50 <= 1.0 s, p90 <= 1.3 s; streamed minus endpointing p50 <= 0.5 s"
    return f"voice to voice (goals: {goals})\n{format_table(headers, rows)}"


def _quality_table(frame: pd.DataFrame) -> str:
    table = format_table(["suite", "turns", "errors", *QUALITY], [["support", *_quality(frame)]])
    goals = "tool_call_ok >= 0.75, answer_ok >= 0.6"
    return f"demo suite (data/support), chained-local static (goals: {goals})\n{table}"


def _present(levers: Sequence[Lever], base: ChainedLocalConfig, notes: list[str]) -> list[Lever]:
    """The levers this build's config has; a note for each it lacks."""
    present = []
    for lever in levers:
        missing = missing_settings(base, lever)
        if missing:
            notes.append(f"lever {lever.name!r} not measured: no setting {', '.join(missing)}")
        else:
            present.append(lever)
    return present


async def _lever_runs(
    levers: Sequence[Lever], datasets: Sequence[Dataset], suite: Dataset, out: Path
) -> str:
    """Per input mode: the defaults, and each lever moved alone, alternating per conversation;
    latency from the shared clips, quality from the demo suite."""
    rows: list[list[Any]] = []
    deltas: list[list[Any]] = []
    notes: list[str] = []
    for mode, base in {"static": STATIC, "streamed": STREAMED}.items():
        present = _present([lv for lv in levers if lv.input_mode == mode], base, notes)
        if not present:
            continue
        configs = [("defaults", base), *((lv.name, lever_moved(base, lv)) for lv in present)]
        arms = [Arm(f"{mode}: {name}", _own_model("chained-local", config))
                for name, config in configs]  # fmt: skip
        _say(f"levers, {mode}: {len(arms)} configurations")
        frames = await _interleaved(arms, [*datasets, suite], out / "levers")
        latency = {k: _ok(f[f["dataset"] != suite.name]) for k, f in frames.items()}
        quality = {k: _quality(f[f["dataset"] == suite.name])[-1] for k, f in frames.items()}
        for arm in arms:
            rows.append([arm.label, len(latency[arm.label]),
                         *quantiles(latency[arm.label]["voice_to_voice_s"]),
                         quality[arm.label]])  # fmt: skip
        for arm in arms[1:]:
            moved, defaults = latency[arm.label], latency[arms[0].label]
            deltas.append([arm.label, *(quantiles(moved[s])[0] - quantiles(defaults[s])[0]
                                        for s in (*STAGES, "voice_to_voice_s"))])  # fmt: skip
    headers = ["configuration", "turns", "v2v p50", "v2v p90", "quality"]
    text = "levers: the defaults, and each lever moved alone\n" + format_table(headers, rows)
    short = [s.removesuffix("_s").replace("voice_to_voice", "v2v") for s in STAGES]
    text += "\n\nlevers: each stage's median minus the defaults' (s)\n" + format_table(
        ["lever moved", *short, "v2v"], deltas
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
