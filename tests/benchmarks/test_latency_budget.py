"""benchmarks/latency_budget.py: its lever table, its figures and tables, and one small run."""

from __future__ import annotations

import importlib.util
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from voicelab import ChainedLocalConfig, ConfigError, FeedConfig

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO / "benchmarks"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


budget = _load("budget_tables")


def test_switching_a_lever_moved_changes_only_its_settings() -> None:
    base = ChainedLocalConfig(input_mode="streamed", feed=FeedConfig(mode="realtime"))
    lever = budget.Lever("both", {"tts_buffer_size": 120, "feed.chunk_ms": 10})
    off = budget.lever_moved(base, lever)
    assert off.tts_buffer_size == 120
    assert off.feed == FeedConfig(mode="realtime", chunk_ms=10.0)
    assert off.input_mode == "streamed" and off.llm_threads == base.llm_threads


def test_every_lever_of_the_table_applies_to_the_default_config() -> None:
    base = ChainedLocalConfig()
    for lever in budget.LEVERS:
        assert budget.missing_settings(base, lever) == [], lever.name
        assert budget.lever_moved(base, lever) != base, lever.name


def test_a_lever_naming_a_setting_this_build_lacks_is_reported_and_refused() -> None:
    lever = budget.Lever("later", {"llama.prefix_reuse": False, "tts_buffer_size": 2})
    assert budget.missing_settings(ChainedLocalConfig(), lever) == ["llama.prefix_reuse"]
    with pytest.raises(ConfigError, match="unknown setting"):
        budget.lever_moved(ChainedLocalConfig(), lever)


def test_a_lever_value_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(ConfigError, match="tts_buffer_size"):
        budget.lever_moved(ChainedLocalConfig(), budget.Lever("bad", {"tts_buffer_size": "big"}))


@pytest.mark.parametrize(
    ("chunks", "text", "expected"),
    [
        (
            [(0.1, "Your"), (0.2, " order"), (0.3, " shipped."), (0.4, " It")],
            "Your order shipped.",
            0.3,
        ),
        ([(0.1, " Your  order"), (0.2, "\nshipped. ")], "Your order shipped.", 0.2),
        ([(0.1, "Your"), (0.2, " order")], "Your order shipped.", None),
        ([(0.1, "It is "), (0.2, "Friday.")], "Friday.", 0.2),
    ],
)
def test_covered_at(chunks: list[tuple[float, str]], text: str, expected: float | None) -> None:
    assert budget.covered_at(chunks, text) == expected


def _chunks(*timed: tuple[float, str, bool], total: float) -> object:
    seconds, texts, calls = zip(*timed, strict=True)
    return budget.ChunkTimes(seconds, texts, calls, total)


def test_agent_stages_alone_after_a_tool_call() -> None:
    call = _chunks((0.0, "", False), (1.0, "", True), (1.1, "", False), total=1.2)
    answer = _chunks(
        (0.0, "", False), (0.5, "Your", False), (0.6, " order.", False), (0.7, " It", False),
        total=0.9,
    )  # fmt: skip
    figures = budget.agent_stage_times([call, answer], "Your order.")
    assert figures["llm_ttft_s"] == pytest.approx(1.0)
    assert figures["agent_first_text_s"] == pytest.approx(0.2 + 0.5)  # rest of the call + answer
    assert figures["text_buffer_s"] == pytest.approx(0.1)


def test_agent_stages_alone_when_the_first_request_answers() -> None:
    answer = _chunks((0.0, "", False), (0.4, "Hi", False), (0.5, " there.", False), total=0.6)
    figures = budget.agent_stage_times([answer], "Hi there.")
    assert figures == pytest.approx(
        {"llm_ttft_s": 0.4, "agent_first_text_s": 0.0, "text_buffer_s": 0.1}
    )


def test_agent_stages_alone_are_missing_without_an_answer() -> None:
    call = _chunks((0.0, "", False), (1.0, "", True), total=1.1)
    figures = budget.agent_stage_times([call], None)
    assert figures["llm_ttft_s"] == 1.0
    assert math.isnan(figures["agent_first_text_s"]) and math.isnan(figures["text_buffer_s"])
    assert all(math.isnan(v) for v in budget.agent_stage_times([], None).values())


def _frame(**columns: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        columns, index=[f"clip{i}" for i in range(len(next(iter(columns.values()))))]
    )


def test_stage_rows_put_each_stage_beside_its_component_alone() -> None:
    stages = {s: [0.0, 0.0, 0.0] for s in budget.STAGES}
    stages["stt_s"] = [1.0, 2.0, 3.0]
    stages["llm_ttft_s"] = [0.5, 0.5, 0.5]
    frame = _frame(**stages, voice_to_voice_s=[1.5, 2.5, 3.5], endpointing_s=[0.5, 0.5, 0.5])
    alone = {s: [0.0, 0.0, 0.0] for s in budget.ALONE}
    alone["stt_s"] = [1.0, 1.0, 1.0]
    alone["llm_ttft_s"] = [0.25, 0.5, math.nan]
    rows = {row[0]: row[1:] for row in budget.stage_rows(frame, _frame(**alone), streamed=False)}
    p50, p90, a50, a90, ratio, paired = rows["stt_s"]
    assert (p50, a50, ratio) == (2.0, 1.0, 2.0)
    assert p90 == pytest.approx(2.8) and a90 == 1.0
    assert paired == 2.0  # per-turn ratios 1, 2, 3
    assert rows["llm_ttft_s"][2] == pytest.approx(0.375)  # the missing turn is left out
    assert rows["llm_ttft_s"][5] == pytest.approx(1.5)  # per-turn ratios 2 and 1
    assert math.isnan(rows["audio_delivery_s"][2])  # no component does the delivery
    assert rows["voice_to_voice_s"][2] == pytest.approx(1.375)  # sums 1.25, 1.5; NaN left out
    streamed = budget.stage_rows(frame, _frame(**alone), streamed=True)
    assert streamed[0][0] == "stt_s - endpointing_s" and streamed[0][1] == 1.5


def test_format_table() -> None:
    text = budget.format_table(
        ["stage", "p50", "n"], [["stt_s", 0.35, 158], ["audio_delivery_s", math.nan, None]]
    )
    assert text.splitlines() == [
        "stage               p50    n",
        "stt_s             0.350  158",
        "audio_delivery_s      -    -",
    ]


@pytest.mark.slow
def test_the_benchmark_runs_on_a_clip_of_each_dataset_with_one_lever() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCHMARKS / "latency_budget.py"), "--max-turns", "1",
         "--lever-turns", "1", "--lever", "SDK TTS buffer (120 chunks)"],
        capture_output=True, text=True, cwd=REPO, timeout=1800,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    number = r"\d+\.\d{3}"
    for title in ("stages, static input", "stages, streamed at a microphone's pace"):
        assert f"{title} (2 turns, 0 errors;" in out, out
    for stage in ("stt_s", "llm_ttft_s", "tts_ttfb_s", "stt_s - endpointing_s"):
        assert re.search(rf"^{re.escape(stage)} +{number} +{number} +{number} ", out, re.M), out
    for row in ("chained-local static", "chained-local streamed: minus endpointing_s",
                "realtime, voicelab serve, streamed"):  # fmt: skip
        assert re.search(rf"^{re.escape(row)} +{number} +{number} +2 +0 ", out, re.M), out
    assert re.search(rf"^support +2 +0 +{number} +{number} +{number}$", out, re.M), out
    for row in ("static: defaults", r"static: SDK TTS buffer \(120 chunks\)"):
        assert re.search(rf"^{row} +2 +{number} +{number} +{number}$", out, re.M), out
    assert re.search(rf"^static: SDK TTS buffer \(120 chunks\)( +-?{number}){{7}}$", out, re.M)
    assert "load average" in out
