"""Chained vs speech-to-speech on the same clips, both fed like a microphone.

    .venv/bin/python benchmarks/compare.py [--fsdd 12] [--lj 8]

chained-local runs in streamed mode (Silero VAD finds the turn end, Whisper transcribes,
SmolLM2 answers, Piper speaks); realtime talks the Realtime protocol to voicelab's local
server (its cascade of the same models, with server VAD), run as a separate process so the
server's Python work does not land in the client's measured overhead (they would share one
GIL in-process). Audio is paced in real time in
20 ms chunks for both, so ``voice_to_voice_s`` means the same thing in both columns. Prints
median and p90 of each figure per pipeline from one run, and each one's harness overhead.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

import pandas as pd

from voicelab import (
    ChainedLocalConfig,
    Dataset,
    FeedConfig,
    Pipeline,
    RealtimeConfig,
    RunOptions,
    SubprocessServer,
    build_pipeline,
    load_dataset,
    run_dataset,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FIGURES = ("endpointing_s", "voice_to_voice_s", "voice_to_audible_s", "turn_total_s",
           "harness_overhead_s")  # fmt: skip


def _dataset(fsdd: int, lj: int) -> Dataset:
    parts = [
        load_dataset(SHARED / "fsdd-sample").head(fsdd),
        load_dataset(SHARED / "ljspeech-sample").head(lj),
    ]
    return Dataset(name="shared-mix", conversations=tuple(c for d in parts for c in d))


def _pipelines(server: SubprocessServer) -> list[Pipeline]:
    realtime_feed = FeedConfig(mode="realtime")
    chained = build_pipeline(
        "chained-local", config=ChainedLocalConfig(input_mode="streamed", feed=realtime_feed)
    )
    realtime = build_pipeline(
        "realtime",
        config=RealtimeConfig(
            base_url=server.base_url, feed=realtime_feed, turn_detection="server_vad",
            tool_choice="required",
        ),
    )  # fmt: skip
    return [chained, realtime]


async def _run(dataset: Dataset, out: Path, server: SubprocessServer) -> pd.DataFrame:
    frames = []
    for pipeline in _pipelines(server):
        options = RunOptions(save_audio=False)
        frames.append(await run_dataset(pipeline, dataset, out / pipeline.name, options=options))
    return pd.concat(frames, ignore_index=True)


def _report(frame: pd.DataFrame) -> None:
    print(f"turns per pipeline: {frame.groupby('pipeline').size().to_dict()}")
    print(f"errors: {frame[frame['error'].notna()].groupby('pipeline').size().to_dict()}")
    ok = frame[frame["error"].isna()]
    rows = {}
    for figure in FIGURES:
        grouped = ok.groupby("pipeline")[figure].apply(lambda s: s.astype(float).dropna())
        for stat, q in (("p50", 0.5), ("p90", 0.9)):
            rows[f"{figure} {stat}"] = grouped.groupby(level=0).quantile(q)
    table = pd.DataFrame(rows).T
    table.loc["harness_overhead_s p50"] *= 1000
    table.loc["harness_overhead_s p90"] *= 1000
    table = table.rename(index={"harness_overhead_s p50": "harness_overhead_ms p50",
                                "harness_overhead_s p90": "harness_overhead_ms p90"})  # fmt: skip
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    backends = ok.groupby("pipeline")["backend"].first().to_dict()
    print(f"backends: {backends}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fsdd", type=int, default=12, help="spoken-digit clips")
    parser.add_argument("--lj", type=int, default=8, help="read-sentence clips")
    args = parser.parse_args()
    dataset = _dataset(args.fsdd, args.lj)
    with tempfile.TemporaryDirectory() as tmp, SubprocessServer() as server:
        _report(asyncio.run(_run(dataset, Path(tmp), server)))


if __name__ == "__main__":
    main()
