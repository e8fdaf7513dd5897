"""Choosing how a run executes: in this event loop, in worker processes, or on Ray.

Execution settings never change what is measured: the pipeline's config and its ``config_hash``
are the same whichever executor runs it, so a run may be resumed with other settings. They are
recorded in ``run.json`` under ``"execution"``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

from voicelab.errors import ConfigError
from voicelab.execution.base import Executor
from voicelab.execution.local import AsyncioExecutor
from voicelab.execution.recipe import PipelineRecipe, WorkerSettings
from voicelab.pipelines.base import Pipeline
from voicelab.runner import RunOptions

ExecutorKind = Literal["local", "processes", "ray"]
EXECUTORS: tuple[ExecutorKind, ...] = ("local", "processes", "ray")


@dataclass(frozen=True, kw_only=True)
class ExecutionSettings:
    """Where a run's conversations execute."""

    executor: ExecutorKind = "local"
    """"local": this process's event loop; "processes": worker processes on this machine;
    "ray": Ray actors, on a local Ray instance or the cluster at ``ray_address``."""
    workers: int = 1
    """Worker processes or Ray actors, each loading the pipeline's models once."""
    ray_address: str | None = None
    """A Ray cluster to join (``ray://host:10001`` or ``host:6379``); None starts a local one."""

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise ConfigError(
                f"executor must be one of {', '.join(EXECUTORS)}, not {self.executor!r}"
            )
        if self.workers < 1:
            raise ConfigError(f"workers must be at least 1, not {self.workers}")
        if self.executor == "local" and self.workers > 1:
            raise ConfigError(
                "the local executor has no workers: use --executor processes (or ray) with "
                "--workers, or --concurrency for API-backed pipelines"
            )
        if self.ray_address is not None and self.executor != "ray":
            raise ConfigError("--ray-address needs --executor ray")


def execution_settings(
    executor: str | None, workers: int | None, ray_address: str | None
) -> ExecutionSettings:
    """Settings from the command line: ``--workers`` alone means worker processes."""
    chosen = executor or ("processes" if workers is not None else "local")
    kind = next((k for k in EXECUTORS if k == chosen), None)
    if kind is None:
        raise ConfigError(f"--executor must be one of {', '.join(EXECUTORS)}, not {chosen!r}")
    return ExecutionSettings(
        executor=kind,
        workers=(2 if kind == "processes" else 1) if workers is None else workers,
        ray_address=ray_address,
    )


@asynccontextmanager
async def open_execution(
    settings: ExecutionSettings, recipe: PipelineRecipe, options: RunOptions | None = None
) -> AsyncIterator[tuple[Pipeline, Executor]]:
    """The pipeline (the driver's view of it) and the executor that runs it, ready to run.

    ``options`` gives the concurrency (in total, spread over the workers), the retry policy
    and the rate limits (each worker keeps its share of them).
    """
    options = options or RunOptions()
    work = WorkerSettings(
        concurrency=options.max_concurrency, retry=options.retry, rate_limits=options.rate_limits
    )
    if settings.executor == "local":
        pipeline = recipe.build()
        yield pipeline, AsyncioExecutor(pipeline, options.max_concurrency, retry=options.retry)
    elif settings.executor == "processes":
        from voicelab.execution.processes import ProcessExecutor

        async with ProcessExecutor(recipe, settings.workers, work) as processes:
            yield processes.pipeline, processes
    else:
        from voicelab.execution.ray_executor import RayExecutor

        ray = RayExecutor(recipe, settings.workers, work, address=settings.ray_address)
        async with ray:
            yield ray.pipeline, ray
