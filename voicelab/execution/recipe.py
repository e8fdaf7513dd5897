"""What a worker needs to build the run's pipeline itself, and what the driver keeps of it.

A worker process or Ray actor builds its own pipeline (its own models) from a picklable
``PipelineRecipe``; the driver never loads the models. The first worker ready reports the
pipeline's labels and description (``PipelineFacts``), which the driver's run hashes and
records: the driver's ``RemotePipeline`` stands for the pipeline the workers run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from voicelab.datasets.types import Turn
from voicelab.errors import PipelineError
from voicelab.execution.retry import RetryPolicy
from voicelab.pipelines.base import ConversationState, Pipeline
from voicelab.rate_limits import RateLimits
from voicelab.turn_result import TurnResult


@dataclass(frozen=True, kw_only=True)
class PipelineRecipe:
    """A registered pipeline, its typed config and its agent, to be built in a worker."""

    pipeline: str
    """A name in ``voicelab.registry``."""
    config: Any = None
    """An instance of the entry's config class (None: its defaults)."""
    agent: str | None = None
    """A resolved agent spec (``/abs/path.py:NAME`` or ``package.module:NAME``); None: the demo."""
    api_key: str | None = field(default=None, repr=False)
    """Passed to the pipeline; pickled to the workers, never shown in a repr or a log."""

    def build(self, threads: int | None = None) -> Pipeline:
        """The pipeline, its models loaded in this process with at most ``threads`` threads."""
        from voicelab.agent.loading import load_agent
        from voicelab.registry import build_pipeline

        agent = load_agent(self.agent).agent if self.agent else None
        return build_pipeline(
            self.pipeline, agent=agent, config=self.config, api_key=self.api_key, threads=threads
        )


@dataclass(frozen=True, kw_only=True)
class WorkerSettings:
    """How the workers together run the conversations: the run's options, shared out."""

    concurrency: int = 1
    """Conversations in flight in total, spread over the workers (at least one each)."""
    retry: RetryPolicy | None = None
    """How each worker retries transient failures (None: ``RetryPolicy()``)."""
    rate_limits: RateLimits = field(default_factory=RateLimits)
    """The run's limits; each of ``n`` workers keeps ``1/n`` of every one (``share``)."""

    def lanes(self, worker: int, workers: int) -> int:
        """Conversations worker number ``worker`` of ``workers`` runs at once."""
        return max(1, self.concurrency // workers + (worker < self.concurrency % workers))

    def share(self, workers: int) -> RateLimits:
        """One worker's part of the rate limits: together they never exceed the run's."""
        limits = self.rate_limits
        return RateLimits(
            rpm={kind: value / workers for kind, value in limits.rpm.items()},
            tpm={kind: value / workers for kind, value in limits.tpm.items()},
            window_s=limits.window_s,
        )


def cpu_share(workers: int, cpus: int | None = None) -> int:
    """Threads each of ``workers`` processes may use so that together they fill the CPUs once."""
    return max(1, (cpus or os.cpu_count() or 1) // workers)


@dataclass(frozen=True)
class PipelineFacts:
    """A pipeline's labels and description: everything the driver's run needs of it."""

    name: str
    architecture: str
    backend: str
    models: Mapping[str, str]
    description: Mapping[str, Any]

    @classmethod
    def of(cls, pipeline: Pipeline) -> PipelineFacts:
        """The facts of a built pipeline (plain data: they cross process boundaries)."""
        return cls(
            pipeline.name, pipeline.architecture, pipeline.backend,
            dict(pipeline.models()), dict(pipeline.describe()),
        )  # fmt: skip


class RemotePipeline:
    """The driver's stand-in for a pipeline that runs in workers: labels only, no models."""

    def __init__(self, facts: PipelineFacts) -> None:
        self.facts = facts

    @property
    def name(self) -> str:
        return self.facts.name

    @property
    def architecture(self) -> str:
        return self.facts.architecture

    @property
    def backend(self) -> str:
        return self.facts.backend

    def models(self) -> Mapping[str, str]:
        return self.facts.models

    def describe(self) -> Mapping[str, Any]:
        return self.facts.description

    def _elsewhere(self) -> PipelineError:
        return PipelineError(
            f"{self.name} runs in worker processes: give run_dataset the executor that holds them"
        )

    async def start_conversation(self, conversation_id: str) -> ConversationState:
        raise self._elsewhere()

    async def run_turn(self, turn: Turn, state: ConversationState) -> TurnResult:
        raise self._elsewhere()

    async def end_conversation(self, state: ConversationState) -> None:
        raise self._elsewhere()
