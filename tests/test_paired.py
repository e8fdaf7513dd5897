from __future__ import annotations

import asyncio
from pathlib import Path

import pandas as pd
import pytest

from voicelab.datasets import Dataset, load_dataset
from voicelab.errors import ResultsError
from voicelab.execution.trials import trial_conversation_id
from voicelab.paired import PAIRED_BOOTSTRAP, WILCOXON, compare_runs
from voicelab.runner import RunOptions, run_dataset
from voicelab.stats import BootstrapConfig
from voicelab.testing import ScriptedPipeline

SHIFT_MS = 50
STAGES = {"stt": 300, "llm": 150, "tts": 100}


@pytest.fixture(scope="module")
def fsdd(shared_data: Path) -> Dataset:
    return load_dataset(shared_data / "fsdd-sample")


def _run(dataset: Dataset, out: Path, **kwargs: object) -> pd.DataFrame:
    return asyncio.run(run_dataset(ScriptedPipeline(**kwargs), dataset, out))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def run_a(fsdd: Dataset, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return _run(fsdd, tmp_path_factory.mktemp("paired") / "a", jitter_ms=40, seed=1)


def test_a_run_against_itself_differs_by_nothing(run_a: pd.DataFrame) -> None:
    comparison = compare_runs(run_a, run_a)
    table = comparison.table()
    measured = table[table["n"] > 0]
    assert {"success_rate", "wer", "stt_s_p50", "voice_to_voice_s_p50"} <= set(measured.index)
    assert (measured["difference"] == 0.0).all()
    assert (measured["low"] == 0.0).all() and (measured["high"] == 0.0).all()
    assert (measured["p_value"] == 1.0).all()
    assert comparison.paired_turns == comparison.common_turns == len(run_a) == 150
    assert comparison.dropped_errors == comparison.only_in_a == comparison.only_in_b == 0


def test_an_injected_latency_shift_is_detected(
    fsdd: Dataset, run_a: pd.DataFrame, tmp_path: Path
) -> None:
    # another jitter draw per turn, and STT slower by exactly SHIFT_MS on every turn
    slower = {**STAGES, "stt": STAGES["stt"] + SHIFT_MS}
    run_b = _run(fsdd, tmp_path / "b", jitter_ms=40, seed=2, stage_ms=slower)
    table = compare_runs(run_a, run_b, BootstrapConfig(seed=7)).table()
    for column in ("stt_s_p50", "voice_to_voice_s_p50", "turn_total_s_p50"):
        row = table.loc[column]
        assert row["test"] == WILCOXON and row["n"] == 150
        assert row["difference"] == pytest.approx(SHIFT_MS / 1000, abs=0.008)
        assert 0.0 < row["low"] <= row["difference"] <= row["high"]
        assert row["p_value"] < 1e-6
    # the stages that were not shifted differ only by the jitter: no effect found
    for column in ("llm_ttft_s_p50", "tts_ttfb_s_p50"):
        assert table.loc[column, "low"] <= 0.0 <= table.loc[column, "high"]
        assert table.loc[column, "p_value"] > 0.05


def test_a_wer_difference_is_found_by_the_paired_bootstrap(run_a: pd.DataFrame) -> None:
    run_b = run_a.copy()
    misheard = run_b.index[::5]  # 30 of 150 one-word turns heard wrong
    run_b.loc[misheard, "user_transcript"] = "banana"
    row = compare_runs(run_a, run_b).table().loc["wer"]
    assert row["test"] == PAIRED_BOOTSTRAP and row["n"] == 150
    assert (row["a"], row["b"]) == (0.0, pytest.approx(0.2))
    assert row["difference"] == pytest.approx(0.2)
    assert 0.0 < row["low"] < 0.2 < row["high"]
    assert row["p_value"] < 0.01


def test_turns_dropped_for_errors_or_missing_are_counted(
    fsdd: Dataset, run_a: pd.DataFrame, tmp_path: Path
) -> None:
    failing_a = frozenset({"0_jackson_0#0", "0_jackson_1#0"})
    failing_b = frozenset({"0_jackson_1#0", "0_jackson_2#0", "9_george_4#0"})
    a = _run(fsdd, tmp_path / "a", fail_turns=failing_a)
    b = _run(fsdd.head(100), tmp_path / "b", fail_turns=failing_b)
    in_b = set(b["turn_id"])
    assert "9_george_4#0" not in in_b and {"0_jackson_0#0", "0_jackson_2#0"} <= in_b
    comparison = compare_runs(a, b)
    assert comparison.common_turns == 100
    assert comparison.only_in_a == 50 and comparison.only_in_b == 0
    assert comparison.dropped_errors == 3  # jackson_0 (A), jackson_1 (both), jackson_2 (B)
    assert comparison.paired_turns == 97
    table = comparison.table()
    assert table.loc["stt_s_p50", "n"] == 97
    assert table.loc["success_rate", "n"] == 100
    assert table.loc["success_rate", "a"] == pytest.approx(98 / 100)
    assert table.loc["success_rate", "b"] == pytest.approx(98 / 100)


def test_one_run_per_side(run_a: pd.DataFrame) -> None:
    twice = pd.concat([run_a, run_a], ignore_index=True)
    with pytest.raises(ResultsError, match=r"run B holds turn .* more than once"):
        compare_runs(run_a, twice)


def test_repeated_trials_are_paired_as_means_per_turn(fsdd: Dataset, tmp_path: Path) -> None:
    dataset = fsdd.head(6)
    first = dataset.conversations[0].conversation_id
    fails = frozenset({f"{trial_conversation_id(first, 1)}#0"})  # trial 1 of turn 0 fails in A
    slower = {**STAGES, "stt": STAGES["stt"] + SHIFT_MS}
    options = RunOptions(repeat=3)
    a = asyncio.run(run_dataset(ScriptedPipeline(fail_turns=fails), dataset, tmp_path / "a",
                                options=options))  # fmt: skip
    b = asyncio.run(run_dataset(ScriptedPipeline(stage_ms=slower), dataset, tmp_path / "b",
                                options=options))  # fmt: skip
    assert len(a) == len(b) == 18
    comparison = compare_runs(a, b)
    assert comparison.common_turns == comparison.paired_turns == 6  # turns, not turn-trials
    assert comparison.dropped_errors == 0  # the failing turn succeeded in 2 of its 3 trials
    table = comparison.table()
    success = table.loc["success_rate"]
    assert success["n"] == 6
    assert success["a"] == pytest.approx((5 + 2 / 3) / 6) and success["b"] == 1.0
    stt = table.loc["stt_s_p50"]
    assert stt["n"] == 6 and stt["difference"] == pytest.approx(SHIFT_MS / 1000)
    itself = compare_runs(a, a).table()
    assert (itself.loc[itself["n"] > 0, "difference"] == 0.0).all()
    with pytest.raises(ResultsError, match="more than once"):
        compare_runs(a, pd.concat([b, b], ignore_index=True))
