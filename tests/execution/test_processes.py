"""Worker processes: the same rows as the local executor, a killed worker's turns as error rows,
resume across executors; each worker builds its own pipeline (chained-openai on the synthetic
server: the harness is under test, not the models)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from voicelab.datasets import load_dataset
from voicelab.errors import ConfigError
from voicelab.execution.processes import ProcessExecutor
from voicelab.execution.recipe import PipelineRecipe, WorkerSettings
from voicelab.pipelines.chained.config import ChainedLocalConfig
from voicelab.run_folder import load_run, load_run_info
from voicelab.runner import RunOptions, run_dataset
from voicelab.server.runner import LocalServer

pytestmark = pytest.mark.slow  # each worker process imports the SDK: seconds to start

REPO = Path(__file__).resolve().parents[2]
RUN_DEADLINE_S = 240.0


async def _run_local(recipe: PipelineRecipe, dataset: Any, out: Path) -> pd.DataFrame:
    return await run_dataset(recipe.build(), dataset, out, options=RunOptions(save_audio=False))


async def test_two_workers_give_the_local_executors_rows(
    synthetic: LocalServer, openai_recipe: Callable[[LocalServer], PipelineRecipe],
    content: Any, demo_data: Path, tmp_path: Path,
) -> None:  # fmt: skip
    recipe, dataset = openai_recipe(synthetic), load_dataset(demo_data)
    local = await _run_local(recipe, dataset, tmp_path / "local")
    async with ProcessExecutor(recipe, workers=2) as executor:
        frame = await run_dataset(
            executor.pipeline, dataset, tmp_path / "workers",
            options=RunOptions(save_audio=False), executor=executor,
        )  # fmt: skip
    assert len(frame) == dataset.num_turns and frame["error"].isna().all()
    assert content.differences(frame, local) == []
    info = load_run_info(tmp_path / "workers")
    assert info["execution"] == {
        "executor": "processes", "workers": 2, "concurrency": 2, "threads_per_worker": 1,
    }  # fmt: skip
    assert load_run_info(tmp_path / "local")["config_hash"] == info["config_hash"]
    assert "sk-test-key" not in (tmp_path / "workers" / "run.json").read_text()


async def test_a_killed_worker_gives_error_rows_and_the_run_goes_on(
    slow_synthetic: LocalServer, openai_recipe: Callable[[LocalServer], PipelineRecipe],
    demo_data: Path, tmp_path: Path,
) -> None:  # fmt: skip
    dataset = load_dataset(demo_data)
    killed: dict[str, int] = {}

    async with ProcessExecutor(openai_recipe(slow_synthetic), workers=2) as executor:

        def kill_on_first_row(row: Mapping[str, Any]) -> None:
            conversation = str(row["conversation_id"])
            if not killed and row["turn_index"] == 0:  # its turn 1 is under way (200 ms a request)
                killed[conversation] = executor.running()[conversation]
                os.kill(killed[conversation], signal.SIGKILL)

        frame = await asyncio.wait_for(
            run_dataset(
                executor.pipeline, dataset, tmp_path / "run", progress=kill_on_first_row,
                options=RunOptions(save_audio=False), executor=executor,
            ),
            RUN_DEADLINE_S,
        )  # fmt: skip
    ((conversation, pid),) = killed.items()
    assert sorted(frame["turn_id"]) == sorted(t.turn_id for c in dataset for t in c.turns)
    lost = frame[frame["error"].notna()]
    assert lost["turn_id"].tolist() == [f"{conversation}#1"]
    assert lost["error_type"].tolist() == ["WorkerLostError"]
    assert bool(lost["error_transient"].iloc[0])
    assert f"(pid {pid}) died (killed by SIGKILL)" in lost["error"].iloc[0]
    others = frame[frame["conversation_id"] != conversation]
    assert others["error"].isna().all() and len(others) == dataset.num_turns - 2


async def test_a_run_stopped_part_way_resumes_on_another_executor(
    slow_synthetic: LocalServer, openai_recipe: Callable[[LocalServer], PipelineRecipe],
    demo_data: Path, tmp_path: Path, rows_file: Callable[[Path], list[bytes]],
) -> None:  # fmt: skip
    recipe, dataset, out = openai_recipe(slow_synthetic), load_dataset(demo_data), tmp_path / "run"
    three_rows = asyncio.Event()

    def count(row: Mapping[str, Any]) -> None:
        if len(rows_file(out)) >= 3:
            three_rows.set()

    async with ProcessExecutor(recipe, workers=2, settings=WorkerSettings(concurrency=2)) as ex:
        running = asyncio.create_task(
            run_dataset(
                ex.pipeline, dataset, out, progress=count, options=RunOptions(save_audio=False),
                executor=ex,
            )
        )  # fmt: skip
        await asyncio.wait_for(three_rows.wait(), RUN_DEADLINE_S)
        running.cancel()  # as Ctrl-C does: the turns in flight are abandoned
        with pytest.raises(asyncio.CancelledError):
            await running
    before = rows_file(out)
    finished = {json.loads(line)["conversation_id"] for line in before}
    complete = {
        c.conversation_id for c in dataset
        if sum(json.loads(line)["conversation_id"] == c.conversation_id for line in before)
        == len(c.turns)
    }  # fmt: skip
    assert 3 <= len(before) < dataset.num_turns and finished
    frame = await _run_local(recipe, dataset, out)  # another executor: the same config hash
    assert sorted(frame["turn_id"]) == sorted(t.turn_id for c in dataset for t in c.turns)
    assert frame["error"].isna().all()
    kept = [line for line in before if json.loads(line)["conversation_id"] in complete]
    assert rows_file(out)[: len(kept)] == kept  # finished conversations: byte-identical rows
    assert load_run_info(out)["execution"] == {"executor": "local", "concurrency": 1}
    assert len(load_run(out)) == dataset.num_turns


def test_cli_workers_run_and_report_the_execution(
    synthetic: LocalServer, content: Any, demo_data: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    env |= {"PYTHONPATH": str(REPO), "OPENAI_API_KEY": "sk-cli-secret"}
    outs = {}
    for name, flags in (("local", []), ("workers", ["--workers", "2"])):
        outs[name] = tmp_path / name
        done = subprocess.run(
            [
                sys.executable, "-m", "voicelab.cli", "run", "--pipeline", "chained-openai",
                "--base-url", synthetic.base_url, "--dataset", str(demo_data),
                "--out", str(outs[name]), "--no-audio", *flags,
            ],
            env=env, capture_output=True, text=True, timeout=RUN_DEADLINE_S, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "sk-cli-secret" not in done.stdout + done.stderr
    assert content.differences(load_run(outs["workers"]), load_run(outs["local"])) == []
    assert load_run_info(outs["workers"])["execution"]["workers"] == 2
    assert "sk-cli-secret" not in (outs["workers"] / "run.json").read_text()


async def test_workers_that_cannot_build_the_pipeline_say_why(tmp_path: Path) -> None:
    config = ChainedLocalConfig(whisper_model=str(tmp_path / "no-such-model"))
    recipe = PipelineRecipe(pipeline="chained-local", config=config)
    with pytest.raises(ConfigError, match=r"Whisper model not found at .*no-such-model"):
        async with ProcessExecutor(recipe, workers=2):
            pass
