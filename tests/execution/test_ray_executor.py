"""Ray: a local Ray instance runs conversations in actors; the rows equal the local executor's,
timings aside, for chained-local (real models) and chained-openai (the synthetic server)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import ray  # the test set-up installs voicelab[ray] (see the Makefile)

from voicelab.datasets import load_dataset
from voicelab.errors import ConfigError
from voicelab.execution.ray_executor import RayExecutor
from voicelab.execution.recipe import PipelineRecipe, WorkerSettings
from voicelab.pipelines.chained.config import ChainedLocalConfig
from voicelab.run_folder import load_run_info
from voicelab.runner import RunOptions, run_dataset
from voicelab.server.runner import LocalServer

pytestmark = pytest.mark.slow  # a Ray instance takes seconds to start; actors load the pipeline

RUN_DEADLINE_S = 300.0


@pytest.fixture(scope="module", autouse=True)
def ray_instance() -> Iterator[None]:
    """One local Ray instance for the module (the executor uses it rather than its own)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


async def _both(
    recipe: PipelineRecipe, dataset: Any, tmp_path: Path, workers: int, concurrency: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of the local executor, then of ``workers`` Ray actors, on the same input."""
    options = RunOptions(save_audio=False)
    local = await run_dataset(recipe.build(), dataset, tmp_path / "local", options=options)
    settings = WorkerSettings(concurrency=concurrency)
    async with RayExecutor(recipe, workers, settings) as executor:
        remote = await asyncio.wait_for(
            run_dataset(
                executor.pipeline, dataset, tmp_path / "ray", options=options, executor=executor
            ),
            RUN_DEADLINE_S,
        )
    return local, remote


async def test_chained_openai_on_ray_gives_the_local_rows(
    synthetic: LocalServer, openai_recipe: Callable[[LocalServer], PipelineRecipe],
    content: Any, demo_data: Path, tmp_path: Path,
) -> None:  # fmt: skip
    dataset = load_dataset(demo_data)
    local, remote = await _both(openai_recipe(synthetic), dataset, tmp_path, 2, 4)
    assert len(remote) == dataset.num_turns and remote["error"].isna().all()
    assert content.differences(remote, local) == []
    info = load_run_info(tmp_path / "ray")
    assert info["execution"]["executor"] == "ray" and info["execution"]["concurrency"] == 4
    assert info["config_hash"] == load_run_info(tmp_path / "local")["config_hash"]
    assert "sk-test-key" not in (tmp_path / "ray" / "run.json").read_text()


async def test_chained_local_on_ray_gives_the_local_rows(
    content: Any, demo_data: Path, tmp_path: Path
) -> None:
    dataset = load_dataset(demo_data).head(2)  # one conversation of two turns: real models
    recipe = PipelineRecipe(pipeline="chained-local", config=ChainedLocalConfig())
    local, remote = await _both(recipe, dataset, tmp_path, 1, 1)
    assert len(remote) == 2 and remote["error"].isna().all()
    assert remote["user_transcript"].str.len().min() > 0
    assert content.differences(remote, local) == []


async def test_a_killed_actor_gives_error_rows_and_the_run_goes_on(
    slow_synthetic: LocalServer, openai_recipe: Callable[[LocalServer], PipelineRecipe],
    demo_data: Path, tmp_path: Path,
) -> None:  # fmt: skip
    dataset = load_dataset(demo_data)
    killed: list[str] = []
    async with RayExecutor(openai_recipe(slow_synthetic), workers=1) as executor:
        (pid,) = await asyncio.gather(*(a.pid.remote() for a in executor.actors))

        def kill_on_first_row(row: Mapping[str, Any]) -> None:
            if not killed:  # its turn 1 is under way (200 ms a request)
                killed.append(str(row["conversation_id"]))
                os.kill(pid, signal.SIGKILL)

        frame = await asyncio.wait_for(
            run_dataset(
                executor.pipeline, dataset, tmp_path / "run", progress=kill_on_first_row,
                options=RunOptions(save_audio=False), executor=executor,
            ),
            RUN_DEADLINE_S,
        )  # fmt: skip
    assert sorted(frame["turn_id"]) == sorted(t.turn_id for c in dataset for t in c.turns)
    lost = frame[frame["error"].notna()]
    assert lost["turn_id"].tolist() == [f"{killed[0]}#1"]
    assert lost["error_type"].tolist() == ["WorkerLostError"]
    assert frame[frame["conversation_id"] != killed[0]]["error"].isna().all()  # restarted actor


async def test_an_actor_that_cannot_build_the_pipeline_says_why(tmp_path: Path) -> None:
    config = ChainedLocalConfig(whisper_model=str(tmp_path / "no-such-model"))
    with pytest.raises(ConfigError, match=r"Whisper model not found at .*no-such-model"):
        async with RayExecutor(PipelineRecipe(pipeline="chained-local", config=config), 1):
            pass
