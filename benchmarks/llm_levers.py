"""A/B of the llama.cpp engine's speed levers in chained-local, interleaved in blocks of turns.

    .venv/bin/python benchmarks/llm_levers.py [--max-turns N] [--block K] [--levers name ...]

Every variant (the defaults; each lever switched alone) runs a block of shared clips before the
next block starts, so machine load falls on all variants alike. Blocks rather than single
turns: variants that share a model share its KV cache, which a block warms for its variant.
Prints the median LLM stages and voice-to-voice per variant, and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from dataclasses import replace
from pathlib import Path
from statistics import median
from typing import Any

from voicelab import ChainedLocalConfig, build_pipeline, load_dataset
from voicelab.metrics.latency import latency_figures

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
LEVERS: dict[str, dict[str, Any]] = {
    "llm_threads_batch": {"llm_threads_batch": 2},  # off: llama.cpp's default, every core
    "llm_stable_prompt_prefix": {"llm_stable_prompt_prefix": False},
    "llm_prefill_call_opening": {"llm_prefill_call_opening": False},
    "llm_prefill_argument_name": {"llm_prefill_argument_name": False},
    "llm_idle_decode_threads": {"llm_idle_decode_threads": 1},
    "llm_answer_token_mask": {"llm_answer_token_mask": False},
    "llm_reuse_decoded_tokens": {"llm_reuse_decoded_tokens": True},  # off by default: on here
}
COLUMNS = ("llm_ttft_s", "agent_first_text_s", "voice_to_voice_s")
Figures = dict[str, list[float]]


async def _turn(pipeline: Any, turn: Any, conversation_id: str, into: Figures) -> None:
    state = await pipeline.start_conversation(conversation_id)
    result = await pipeline.run_turn(turn, state)
    await pipeline.end_conversation(state)
    if result.error:
        print(f"{conversation_id}: turn {turn.turn_id}: {result.error}")
        return
    values = latency_figures(result.timeline)
    for column in COLUMNS:
        value = values[column]
        if value is not None:
            into[column].append(value)


async def _run(max_turns: int, levers: list[str], block: int) -> dict[str, Figures]:
    base = ChainedLocalConfig()
    variants = {"defaults": base} | {
        ",".join(f"{k}={v}" for k, v in LEVERS[name].items()): replace(base, **LEVERS[name])
        for name in levers
    }
    pipelines = {label: build_pipeline("chained-local", config=c) for label, c in variants.items()}
    figures: dict[str, Figures] = {label: {c: [] for c in COLUMNS} for label in variants}
    turns = [
        turn
        for name in ("fsdd-sample", "ljspeech-sample")
        for conversation in load_dataset(SHARED / name).head(max_turns)
        for turn in conversation.turns
    ]
    for start in range(0, len(turns), block):
        for label, pipeline in pipelines.items():
            for index, turn in enumerate(turns[start : start + block], start):
                await _turn(pipeline, turn, f"{label}-{index}", figures[label])
        done = min(start + block, len(turns))
        print(f"turns {done}/{len(turns)}, load {os.getloadavg()[0]:.1f}", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-turns", type=int, default=10, help="turns per dataset")
    parser.add_argument("--block", type=int, default=5, help="turns a variant runs in a row")
    parser.add_argument("--levers", nargs="*", choices=list(LEVERS), default=list(LEVERS))
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    figures = asyncio.run(_run(args.max_turns, args.levers, args.block))
    print(f"load average after: {os.getloadavg()}")
    print(f"{'median seconds':<30}{'turns':>6}" + "".join(f"{c:>20}" for c in COLUMNS))
    for label, columns in figures.items():
        cells = "".join(f"{median(v):>20.3f}" if v else f"{'-':>20}" for v in columns.values())
        print(f"{label:<30}{len(columns[COLUMNS[0]]):>6}{cells}")


if __name__ == "__main__":
    main()
