from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from voicelab.datasets import load_dataset
from voicelab.errors import ResultsError
from voicelab.report import summarize
from voicelab.results import COLUMN_NAMES
from voicelab.run_folder import RunFolderWarning, load_run, load_run_info
from voicelab.runner import RunOptions, run_dataset
from voicelab.testing import ScriptedCrash, ScriptedPipeline


async def test_failed_turn_is_a_row_and_the_rest_go_on(demo_data: Path, tmp_path: Path) -> None:
    dataset = load_dataset(demo_data)
    pipeline = ScriptedPipeline(fail_turns=frozenset({"refund#0"}))
    frame = await run_dataset(pipeline, dataset, tmp_path / "run")
    assert list(frame.columns) == list(COLUMN_NAMES)
    assert len(frame) == dataset.num_turns
    failed = frame[frame["turn_id"] == "refund#0"].iloc[0]
    assert failed["error_type"] == "UnexpectedError"
    assert failed["error_transient"] is not pd.NA and not failed["error_transient"]
    assert "refund#0" in failed["error"] and "RuntimeError: scripted failure" in failed["error"]
    ok = frame[frame["error"].isna()]
    assert ok["error_transient"].isna().all()
    assert len(ok) == dataset.num_turns - 1
    assert (ok["wer"] == 0.0).all() and (ok["tool_call_ok"]).all()
    assert ok["stt_s"].tolist() == [0.3] * len(ok)
    assert ok["voice_to_voice_s"].tolist() == pytest.approx([0.55] * len(ok))
    assert (ok["cost_usd"] == 0.0).all()
    assert (tmp_path / "run" / "results.parquet").exists()
    assert (tmp_path / "run" / "audio" / "order-status#0.wav").exists()
    info = load_run_info(tmp_path / "run")
    assert info["pipeline"] == "scripted" and "packages" in info["environment"]
    summary = summarize(frame)
    assert summary.loc["scripted", "errors"] == 1
    assert summary.loc["scripted", "stt_s_p50"] == pytest.approx(0.3)


async def test_rows_the_runner_writes_match_the_schema_exactly(
    demo_data: Path, tmp_path: Path
) -> None:
    dataset = load_dataset(demo_data).head(3)
    failing = ScriptedPipeline(fail_turns=frozenset({"order-status#1"}))
    await run_dataset(failing, dataset, tmp_path / "run")
    rows = [json.loads(line) for line in (tmp_path / "run" / "rows.jsonl").read_text().splitlines()]
    assert len(rows) == dataset.num_turns and any(r["error"] for r in rows)
    assert all(list(r) == list(COLUMN_NAMES) for r in rows)


async def test_crashed_run_resumes_without_losing_or_repeating(
    demo_data: Path, tmp_path: Path
) -> None:
    dataset = load_dataset(demo_data)
    out = tmp_path / "run"
    with pytest.raises(ScriptedCrash):
        await run_dataset(ScriptedPipeline(crash_after=3), dataset, out)
    # turns 0-1 (conversation 1) and turn 0 of conversation 2 were logged before the crash
    assert len((out / "rows.jsonl").read_text().splitlines()) == 3
    second = ScriptedPipeline()
    frame = await run_dataset(second, dataset, out)
    assert second.turns_run == dataset.num_turns - 2  # the complete conversation is skipped
    assert sorted(frame["turn_id"]) == sorted(t.turn_id for c in dataset for t in c.turns)
    assert frame["turn_id"].is_unique
    again = ScriptedPipeline()
    await run_dataset(again, dataset, out)
    assert again.turns_run == 0
    assert len(load_run(out)) == dataset.num_turns


async def test_a_truncated_last_line_is_ignored(demo_data: Path, tmp_path: Path) -> None:
    dataset = load_dataset(demo_data)
    out = tmp_path / "run"
    await run_dataset(ScriptedPipeline(), dataset, out)
    with (out / "rows.jsonl").open("a") as f:
        f.write('{"turn_id": "cut-off mid-wr')
    with pytest.warns(RunFolderWarning, match="incomplete"):
        assert len(load_run(out)) == dataset.num_turns


async def test_another_config_refuses_the_folder(demo_data: Path, tmp_path: Path) -> None:
    dataset = load_dataset(demo_data)
    await run_dataset(ScriptedPipeline(), dataset, tmp_path / "run")
    other = ScriptedPipeline(stage_ms={"stt": 1, "llm": 1, "tts": 1})
    with pytest.raises(ResultsError, match="another pipeline configuration"):
        await run_dataset(other, dataset, tmp_path / "run")


async def test_secrets_never_reach_rows_or_run_info(demo_data: Path, tmp_path: Path) -> None:
    secret = "sk-test-abcdefghijklmnop"
    dataset = load_dataset(demo_data).head(2)

    class Leaky(ScriptedPipeline):
        def describe(self):  # type: ignore[no-untyped-def]
            return {**super().describe(), "api_key": secret, "url": f"wss://x?key={secret}"}

    pipeline = Leaky(fail_turns=frozenset({"order-status#0"}))
    original = pipeline.run_turn

    async def leaky_turn(turn, state):  # type: ignore[no-untyped-def]
        result = await original(turn, state)
        if result.error:
            from dataclasses import replace

            return replace(result, error=f"auth failed for {secret}")
        return result

    pipeline.run_turn = leaky_turn  # type: ignore[method-assign]
    await run_dataset(pipeline, dataset, tmp_path / "run", options=RunOptions(secrets=(secret,)))
    for name in ("rows.jsonl", "run.json"):
        assert secret not in (tmp_path / "run" / name).read_text()
    row = json.loads((tmp_path / "run" / "rows.jsonl").read_text().splitlines()[0])
    assert row["error"] == "auth failed for ***"


def test_load_run_of_a_non_run_folder(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="not a voicelab run folder"):
        load_run(tmp_path)
