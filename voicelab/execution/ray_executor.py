"""Conversations on Ray: one actor per worker holds the pipeline; rows come back to the driver.

``ray.init(address=...)`` joins a cluster (``--ray-address``); without one, a local Ray instance
is started (or the one this process already runs is used). Each actor builds the pipeline from
the run's ``PipelineRecipe`` once, with its share of its node's CPUs, and streams every turn's
outcome back as it finishes (a Ray streaming generator); the driver's sink persists it, so the
run folder, its schema and its resume rules are the local executor's. An actor that dies is
restarted by Ray (its models loaded again); the turns it had not reported become error rows,
as with worker processes (see ``voicelab.execution.dispatch``). Ray is an optional extra,
imported only here: ``pip install 'voicelab[ray]'``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any

from voicelab._imports import require
from voicelab.datasets.types import Conversation
from voicelab.errors import ConfigError, VoicelabError, WorkerLostError
from voicelab.execution.base import RunSink
from voicelab.execution.conversation import TurnOutcome, converse
from voicelab.execution.dispatch import Dispatch
from voicelab.execution.recipe import (
    PipelineFacts,
    PipelineRecipe,
    RemotePipeline,
    WorkerSettings,
)
from voicelab.execution.retry import RetryPolicy
from voicelab.rate_limits import RateLimiter, RateLimits, rate_limited

_ACTOR_RESTARTS = 1  # an actor that dies is rebuilt once; after that its conversations fail
_RESTART_POLL_S = 0.2  # how often a lane asks whether its restarting actor is back


class PipelineActor:
    """A Ray actor's body: the pipeline built once, conversations run on request."""

    def __init__(
        self, recipe: PipelineRecipe, threads: int, retry: RetryPolicy | None, limits: RateLimits
    ) -> None:
        self.build_error: VoicelabError | None = None
        """Why the pipeline could not be built, told to the driver by ``facts`` (an actor whose
        constructor raises is only reported as dead, its cause lost in a message)."""
        try:
            self.pipeline = recipe.build(threads=threads)
        except VoicelabError as e:
            self.build_error = e
        self.retry = retry
        self.limiter = RateLimiter(limits)
        """One limiter for all of the actor's conversations: its share of the run's limits."""

    def facts(self) -> PipelineFacts:
        """The pipeline's labels and description, for the driver's run."""
        if self.build_error is not None:
            raise self.build_error
        return PipelineFacts.of(self.pipeline)

    def pid(self) -> int:
        """The actor's process id (tests kill it)."""
        return os.getpid()

    async def converse(self, conversation: Conversation) -> AsyncIterator[TurnOutcome]:
        """Each turn's outcome as it finishes."""
        with rate_limited(self.limiter):
            async for outcome in converse(self.pipeline, conversation, retry=self.retry):
                yield outcome


class RayExecutor:
    """Conversations across ``workers`` Ray actors, the run's concurrency spread over them.

    Use as an async context manager: entering connects to Ray, starts the actors and waits
    until they have loaded the pipeline; leaving releases them (and shuts down a Ray instance
    it started itself).
    """

    def __init__(
        self, recipe: PipelineRecipe, workers: int = 2, settings: WorkerSettings | None = None,
        *, address: str | None = None, cpus_per_worker: float = 1.0,
    ) -> None:  # fmt: skip
        if workers < 1:
            raise ConfigError(f"workers must be at least 1, not {workers}")
        self.ray: Any = require("ray", extra="ray")
        self.recipe = recipe
        self.workers = workers
        self.settings = settings or WorkerSettings()
        self.lanes = [self.settings.lanes(i, workers) for i in range(workers)]
        """Conversations each actor runs at once."""
        self.address = address
        self.cpus_per_worker = cpus_per_worker
        """CPUs each actor reserves in Ray's scheduling (its models get as many threads)."""
        self.actors: list[Any] = []
        self._started_ray = False
        self._pipeline: RemotePipeline | None = None

    @property
    def pipeline(self) -> RemotePipeline:
        """The pipeline the actors run, as the first one described it."""
        if self._pipeline is None:
            raise ConfigError("the Ray executor has not started: use 'async with' first")
        return self._pipeline

    def describe(self) -> dict[str, Any]:
        """The execution settings recorded in run.json (they do not change the config hash)."""
        return {
            "executor": "ray", "workers": self.workers, "concurrency": sum(self.lanes),
            "ray_address": self.address, "cpus_per_worker": self.cpus_per_worker,
        }  # fmt: skip

    async def __aenter__(self) -> RayExecutor:
        await asyncio.to_thread(self._connect)
        try:
            await self._start_actors()
        except BaseException:
            self._release()
            raise
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._release()

    def _connect(self) -> None:
        if self.ray.is_initialized():
            return
        try:
            self.ray.init(
                address=self.address, include_dashboard=False, log_to_driver=False,
                **({} if self.address else {"num_cpus": self._local_cpus()}),
            )  # fmt: skip
        except (ConnectionError, RuntimeError, ValueError) as e:
            where = self.address or "a local Ray instance"
            raise ConfigError(f"cannot start or join Ray at {where}: {e}") from e
        self._started_ray = True

    def _local_cpus(self) -> int:
        return max(os.cpu_count() or 1, int(self.workers * self.cpus_per_worker + 0.999))

    async def _start_actors(self) -> None:
        cpus = self.ray.cluster_resources().get("CPU", 0)
        needed = self.workers * self.cpus_per_worker
        if needed > cpus:
            raise ConfigError(
                f"{self.workers} Ray workers need {needed:g} CPUs but the cluster has {cpus:g}: "
                "give fewer --workers"
            )
        threads = max(1, int(self.cpus_per_worker))
        limits = self.settings.share(self.workers)
        actor_class = self.ray.remote(PipelineActor)
        self.actors = [
            actor_class.options(
                num_cpus=self.cpus_per_worker, max_concurrency=lanes, max_restarts=_ACTOR_RESTARTS
            ).remote(self.recipe, threads, self.settings.retry, limits)
            for lanes in self.lanes
        ]
        try:
            facts = await asyncio.gather(*(actor.facts.remote() for actor in self.actors))
        except self.ray.exceptions.RayTaskError as e:
            raise _build_error(e) from None  # the cause says it all; Ray's trace is noise
        except self.ray.exceptions.RayActorError as e:
            raise WorkerLostError(f"a Ray actor died while building the pipeline: {e}") from e
        self._pipeline = RemotePipeline(facts[0])

    def _release(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor, no_restart=True)
        self.actors = []
        if self._started_ray:
            self.ray.shutdown()
            self._started_ray = False

    async def run(self, conversations: Sequence[Conversation], sink: RunSink) -> None:
        """Run ``conversations`` on the actors; return once every one has been reported."""
        dispatch = Dispatch(conversations, sink)
        await asyncio.gather(
            *(
                self._drive(actor, dispatch)
                for actor, lanes in zip(self.actors, self.lanes, strict=True)
                for _ in range(lanes)
            )
        )
        await dispatch.fail_waiting(WorkerLostError("every Ray actor has died"))

    async def _drive(self, actor: Any, dispatch: Dispatch) -> None:
        """One lane of an actor: its conversations one after another, while the actor lives."""
        while (conversation := dispatch.take()) is not None:
            try:
                stream = actor.converse.options(num_returns="streaming").remote(conversation)
                async for ref in stream:
                    await dispatch.turn_done(await ref)
            except self.ray.exceptions.RayActorError as e:
                await dispatch.lost(conversation.conversation_id, _lost_error(e))
                if not await self._restarted(actor):
                    return
            else:
                await dispatch.conversation_done(conversation.conversation_id)

    async def _restarted(self, actor: Any) -> bool:
        """Wait for Ray to restart a failed actor; False if it is gone for good."""
        while True:
            try:
                await actor.pid.remote()
                return True
            except self.ray.exceptions.ActorUnavailableError:
                await asyncio.sleep(_RESTART_POLL_S)  # still restarting: calls are refused
            except self.ray.exceptions.RayActorError:
                return False


def _lost_error(error: Exception) -> WorkerLostError:
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return WorkerLostError(
        f"the Ray actor running the conversation died ({type(error).__name__}: {first_line})"
    )


def _build_error(error: Any) -> VoicelabError:
    """The error an actor raised building its pipeline, as voicelab's error."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, VoicelabError):
        return cause
    return WorkerLostError(f"a Ray actor could not build the pipeline: {cause or error}")
