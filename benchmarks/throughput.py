"""Batch throughput of the harness: turns per second as conversations run concurrently.

    .venv/bin/python benchmarks/throughput.py [--levels 1 8 32 128] [--ttfb-ms 500] [--no-ray]

chained-openai and realtime run against ``voicelab serve --backend synthetic`` (a subprocess:
instant fixed answers, no model work) with ``ttfb_ms`` injected before the first byte of every
request, so a turn is almost all waiting and N conversations at once should go N times as fast.
For each concurrency level it prints turns per second, the speedup over one at a time, the
efficiency (speedup / concurrency: 1 is perfect), the median ``harness_overhead_s`` of the rows
(the harness's own time inside a turn), the wall time per turn beyond the ideal (one turn alone),
and the CPU time per turn of this process (the harness, all threads; for Ray, only the driver)
and of the server: on a 2-core machine, their sum times turns per second cannot pass 2 s/s.
The last lines run the same through ``--executor ray`` (2 actors on a local Ray instance).
Each level runs ``3 x concurrency`` conversations (at least 4) of 2 turns, so every lane is busy
for three conversations and the ramp at the end weighs little.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicelab.datasets import load_dataset
from voicelab.execution.choose import ExecutionSettings, open_execution
from voicelab.execution.recipe import PipelineRecipe
from voicelab.pipelines.chained.config import ChainedOpenAIConfig
from voicelab.pipelines.realtime.config import RealtimeConfig
from voicelab.runner import RunOptions, run_dataset
from voicelab.server.runner import SubprocessServer

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "support"
LEVELS = (1, 8, 32, 128)
PIPELINES = ("chained-openai", "realtime", "realtime-manual")
# realtime-manual: voicelab commits each turn, so the server runs no VAD (server_vad runs Silero
# on every appended chunk, model work even on the synthetic backend)
TURNS_PER_CONVERSATION = 2
CONVERSATIONS_PER_LANE = 3  # each lane runs three conversations: the final ramp weighs little
RAY_WORKERS = 2  # one actor per core of this machine
RAY_CONCURRENCY = 32
GOAL_SPEEDUP_AT_32 = 28.0  # the issue's goal (30 ideal)


@dataclass(frozen=True)
class Figures:
    """One measured run."""

    turns: int
    wall_s: float
    errors: int
    harness_p50_s: float
    driver_cpu_s: float
    """CPU time of this process (every thread) during the run."""
    server_cpu_s: float
    """CPU time of the server process during the run."""

    @property
    def turns_per_s(self) -> float:
        return self.turns / self.wall_s


def _manifest(folder: Path, conversations: int) -> Path:
    """``conversations`` x 2 turns reusing the demo recordings."""
    demo = [json.loads(line) for line in (DEMO / "manifest.jsonl").read_text().splitlines()]
    lines = []
    for c in range(conversations):
        for t in range(TURNS_PER_CONVERSATION):
            source = demo[(c * TURNS_PER_CONVERSATION + t) % len(demo)]
            record = {
                "audio": str((DEMO / source["audio"]).resolve()), "text": source["text"],
                "conversation_id": f"c{c:04d}", "turn_index": t,
            }  # fmt: skip
            lines.append(json.dumps(record))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "manifest.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _recipe(variant: str, base_url: str) -> PipelineRecipe:
    configs: dict[str, Any] = {
        "chained-openai": ChainedOpenAIConfig(base_url=base_url),
        "realtime": RealtimeConfig(base_url=base_url),
        "realtime-manual": RealtimeConfig(base_url=base_url, turn_detection="manual"),
    }
    pipeline = variant.removesuffix("-manual")
    return PipelineRecipe(pipeline=pipeline, config=configs[variant], api_key="synthetic")


def _cpu_s(pid: int | None = None) -> float:
    """User + system CPU seconds of a process (this one by default), all its threads."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


async def _measure(
    recipe: PipelineRecipe, concurrency: int, settings: ExecutionSettings, work: Path,
    server_pid: int | None,
) -> Figures:  # fmt: skip
    conversations = max(4, CONVERSATIONS_PER_LANE * concurrency)
    name = f"{recipe.pipeline}-{settings.executor}-{concurrency}"
    dataset = load_dataset(_manifest(work / name, conversations))
    options = RunOptions(save_audio=False, max_concurrency=concurrency)
    async with open_execution(settings, recipe, options) as (pipeline, executor):
        start, driver, server = time.perf_counter(), _cpu_s(), _cpu_s(server_pid)
        frame = await run_dataset(
            pipeline, dataset, work / name / "run", options=options, executor=executor
        )
        wall_s = time.perf_counter() - start
        driver, server = _cpu_s() - driver, _cpu_s(server_pid) - server
    return Figures(
        turns=len(frame), wall_s=wall_s, errors=int(frame["error"].notna().sum()),
        harness_p50_s=float(statistics.median(frame["harness_overhead_s"].dropna())),
        driver_cpu_s=driver, server_cpu_s=server,
    )  # fmt: skip


def _line(label: str, concurrency: int, figures: Figures, base: Figures) -> str:
    speedup = figures.turns_per_s / base.turns_per_s
    per_turn_s = 1 / base.turns_per_s  # one turn alone: the ideal lane time
    beyond_ms = (figures.wall_s * concurrency / figures.turns - per_turn_s) * 1000
    return (
        f"{label:<26}{concurrency:>6}{figures.turns:>7}{figures.turns_per_s:>9.2f}"
        f"{speedup:>9.1f}x{speedup / concurrency:>8.2f}{figures.harness_p50_s * 1000:>11.1f}"
        f"{beyond_ms:>10.0f}{figures.driver_cpu_s / figures.turns * 1000:>9.1f}"
        f"{figures.server_cpu_s / figures.turns * 1000:>9.1f}{figures.errors:>7}"
    )


async def _bench(
    pipelines: list[str], levels: list[int], ray: bool, work: Path, server: SubprocessServer
) -> None:
    print(
        f"{'pipeline / executor':<26}{'conc':>6}{'turns':>7}{'turns/s':>9}{'speedup':>10}"
        f"{'eff':>8}{'harness ms':>11}{'+ms/turn':>10}{'cpu ms':>9}{'srv ms':>9}{'errors':>7}"
    )
    local = ExecutionSettings()
    for pipeline in pipelines:
        recipe = _recipe(pipeline, server.base_url)
        work = work / pipeline
        base = await _measure(recipe, 1, local, work, server.pid)
        for level in levels:
            figures = base if level == 1 else await _measure(recipe, level, local, work, server.pid)
            print(_line(f"{pipeline} / local", level, figures, base), flush=True)
            if level == 32 and figures.turns_per_s / base.turns_per_s < GOAL_SPEEDUP_AT_32:
                print(f"  below the goal of {GOAL_SPEEDUP_AT_32:g}x at 32", flush=True)
        if ray:
            settings = ExecutionSettings(executor="ray", workers=RAY_WORKERS)
            figures = await _measure(recipe, RAY_CONCURRENCY, settings, work, server.pid)
            label = f"{pipeline} / ray x{RAY_WORKERS}"
            print(_line(label, RAY_CONCURRENCY, figures, base), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--levels", type=int, nargs="+", default=list(LEVELS))
    parser.add_argument("--ttfb-ms", type=float, default=500.0, help="injected per request")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray lines")
    parser.add_argument(
        "--pipelines", nargs="+", default=list(PIPELINES), choices=PIPELINES, help="what to run"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="voicelab-throughput-") as tmp:
        work = Path(tmp)
        faults = work / "faults.toml"
        faults.write_text(f'[endpoints."*"]\nttfb_ms = {args.ttfb_ms}\n')
        with SubprocessServer("--backend", "synthetic", "--faults", str(faults)) as server:
            print(f"synthetic server, {args.ttfb_ms:g} ms before every first byte")
            levels = sorted(set(args.levels) | {1})
            asyncio.run(_bench(args.pipelines, levels, not args.no_ray, work, server))


if __name__ == "__main__":
    main()
