"""Benchmark chained-local over the shared recordings: per-stage median/p90 and harness overhead.

    .venv/bin/python benchmarks/chained_local.py [--max-turns N] [--out runs/bench]

Prints, from one run: median and p90 seconds of each latency stage, voice-to-voice against the
sum of its stages (STT + LLM first output + TTS first audio, and the full partition), and the
harness's own overhead per turn (time measured inside voicelab's code, not estimated).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

import pandas as pd

from voicelab import RunOptions, build_pipeline, load_dataset, run_dataset

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
STAGES = ("stt_s", "llm_ttft_s", "agent_first_text_s", "text_buffer_s", "tts_ttfb_s",
          "audio_delivery_s")  # fmt: skip
REPORTED = (*STAGES, "voice_to_voice_s", "voice_to_audible_s", "turn_total_s")


async def _run(max_turns: int | None, out: Path) -> pd.DataFrame:
    pipeline = build_pipeline("chained-local")
    frames = []
    for name in ("fsdd-sample", "ljspeech-sample"):
        dataset = load_dataset(SHARED / name)
        if max_turns:
            dataset = dataset.head(max_turns)
        frames.append(
            await run_dataset(pipeline, dataset, out / name, options=RunOptions(save_audio=False))
        )
    return pd.concat(frames, ignore_index=True)


def _report(frame: pd.DataFrame) -> None:
    ok = frame[frame["error"].isna()]
    print(f"turns: {len(frame)}  errors: {len(frame) - len(ok)}")
    print(f"{'stage':<22}{'median_s':>10}{'p90_s':>10}")
    for column in REPORTED:
        values = ok[column].astype(float)
        print(f"{column:<22}{values.median():>10.3f}{values.quantile(0.9):>10.3f}")
    v2v = ok["voice_to_voice_s"].astype(float)
    three = ok[["stt_s", "llm_ttft_s", "tts_ttfb_s"]].astype(float).sum(axis=1)
    partition = ok[list(STAGES)].astype(float).sum(axis=1)
    print(f"voice_to_voice / (stt + llm_ttft + tts_ttfb), median: {(v2v / three).median():.2f}")
    print(f"voice_to_voice / sum of all stages, median: {(v2v / partition).median():.4f}")
    overhead_ms = ok["harness_overhead_s"].astype(float) * 1000
    print(
        f"harness overhead per turn: median {overhead_ms.median():.2f} ms, "
        f"p90 {overhead_ms.quantile(0.9):.2f} ms, max {overhead_ms.max():.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-turns", type=int, help="turns per dataset (default: all)")
    parser.add_argument("--out", type=Path, help="run folders (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _report(asyncio.run(_run(args.max_turns, args.out or Path(tmp))))


if __name__ == "__main__":
    main()
