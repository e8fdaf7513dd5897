"""Local models in worker processes: each worker loads the pipeline once and runs conversations.

Workers are started with ``spawn`` (llama.cpp's, CTranslate2's and onnxruntime's threads do not
survive ``fork``). Each builds the pipeline from the run's ``PipelineRecipe`` with its share of
the CPU (``cpu_share``: the machine's cores divided by the workers, capping every local model's
threads), then runs the conversations the driver sends it (the run's concurrency spread over
the workers), with the run's retry policy and its share of the rate limits. Each
worker has its own pipe to the driver (no lock shared between processes, which a killed worker
could leave held): a turn's outcome goes back as soon as it is finished, so the driver's sink
persists it at once. A worker that dies (crash, out of memory, kill) is replaced while work is
left (at most ``workers`` times in a run); the turns it had not reported become error rows
(see ``voicelab.execution.dispatch``). Workers ignore SIGINT: the driver, told by Ctrl-C, stops
them.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import pickle
import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any

from voicelab.datasets.types import Conversation
from voicelab.errors import ConfigError, ModelError, VoicelabError, WorkerLostError
from voicelab.execution.base import RunSink
from voicelab.execution.conversation import TurnOutcome, converse
from voicelab.execution.dispatch import Dispatch
from voicelab.execution.recipe import (
    PipelineFacts,
    PipelineRecipe,
    RemotePipeline,
    WorkerSettings,
    cpu_share,
)
from voicelab.execution.retry import RetryPolicy
from voicelab.pipelines.base import Pipeline
from voicelab.rate_limits import RateLimits, rate_limited

_STOP_GRACE_S = 10.0  # a worker told to stop has this long to exit before it is terminated


@dataclass(frozen=True)
class _Ready:
    facts: PipelineFacts


@dataclass(frozen=True)
class _BuildFailed:
    error: VoicelabError


@dataclass(frozen=True)
class _Turn:
    outcome: TurnOutcome


@dataclass(frozen=True)
class _Done:
    conversation_id: str


@dataclass(frozen=True)
class _Lost:
    exitcode: int | None


_Message = _Ready | _BuildFailed | _Turn | _Done | _Lost


def _picklable(error: BaseException, recipe: PipelineRecipe) -> VoicelabError:
    """The build error as it can cross the pipe: itself if it pickles, else a ModelError."""
    if isinstance(error, VoicelabError):
        try:
            pickle.loads(pickle.dumps(error))
            return error
        except Exception:  # an error class with required keyword arguments
            pass
    return ModelError(f"building {recipe.pipeline} failed: {type(error).__name__}: {error}")


def _worker_main(
    recipe: PipelineRecipe, threads: int, retry: RetryPolicy | None, limits: RateLimits,
    conn: Connection,
) -> None:  # fmt: skip
    """A worker process: build the pipeline once, then run conversations until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the driver, which stops us
    try:
        pipeline = recipe.build(threads=threads)
    except Exception as e:  # reported to the driver, which raises it
        conn.send(_BuildFailed(_picklable(e, recipe)))
        return
    conn.send(_Ready(PipelineFacts.of(pipeline)))
    with rate_limited(limits):
        asyncio.run(_serve(pipeline, retry, conn))


async def _serve(pipeline: Pipeline, retry: RetryPolicy | None, conn: Connection) -> None:
    """Run each conversation the driver sends; a failure to report one ends the worker."""
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[Conversation | None] = asyncio.Queue()
    threading.Thread(  # a daemon, unlike the loop's executor: it never holds the exit up
        target=_receive, args=(conn, loop, inbox), name="voicelab-worker-inbox", daemon=True
    ).start()
    async with asyncio.TaskGroup() as running:
        while (conversation := await inbox.get()) is not None:
            running.create_task(_run_conversation(pipeline, conversation, retry, conn))


def _receive(
    conn: Connection, loop: asyncio.AbstractEventLoop, inbox: asyncio.Queue[Conversation | None]
) -> None:
    """Inbox thread: the driver's conversations onto the worker's loop; None when it is gone."""
    while True:
        try:
            conversation = conn.recv()
        except (EOFError, OSError):  # the driver is gone
            conversation = None
        loop.call_soon_threadsafe(inbox.put_nowait, conversation)
        if conversation is None:
            return


async def _run_conversation(
    pipeline: Pipeline, conversation: Conversation, retry: RetryPolicy | None, conn: Connection
) -> None:
    async for outcome in converse(pipeline, conversation, retry=retry):
        conn.send(_Turn(outcome))
    conn.send(_Done(conversation.conversation_id))


@dataclass
class _Worker:
    """The driver's handle on one worker process."""

    slot: int
    process: BaseProcess
    conn: Connection
    lanes: int
    """Conversations it runs at once."""
    ready: bool = False
    alive: bool = True
    running: set[str] = field(default_factory=set)


class ProcessExecutor:
    """Conversations across ``workers`` processes, each holding its own copy of the pipeline.

    Use as an async context manager: entering starts the workers and waits for the first to
    be ready (its ``pipeline`` is then the driver's ``RemotePipeline``); leaving stops them.
    """

    def __init__(
        self, recipe: PipelineRecipe, workers: int = 2, settings: WorkerSettings | None = None,
        threads: int | None = None,
    ) -> None:  # fmt: skip
        if workers < 1:
            raise ConfigError(f"workers must be at least 1, not {workers}")
        self.recipe = recipe
        self.workers = workers
        self.settings = settings or WorkerSettings()
        self.threads = threads or cpu_share(workers)
        """CPU threads each worker's local models may use."""
        self._context = multiprocessing.get_context("spawn")
        self._slots: list[_Worker] = []
        self._respawns_left = workers
        self._events: asyncio.Queue[tuple[_Worker, _Message]] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pipeline: RemotePipeline | None = None

    @property
    def pipeline(self) -> RemotePipeline:
        """The pipeline the workers run, as the first one ready described it."""
        if self._pipeline is None:
            raise ConfigError("the process executor has not started: use 'async with' first")
        return self._pipeline

    def running(self) -> dict[str, int]:
        """Conversation id -> the pid of the worker process running it, now."""
        return {
            conversation_id: worker.process.pid
            for worker in self._slots
            if worker.alive and worker.process.pid is not None
            for conversation_id in worker.running
        }

    def describe(self) -> dict[str, Any]:
        """The execution settings recorded in run.json (they do not change the config hash)."""
        return {
            "executor": "processes", "workers": self.workers,
            "concurrency": sum(self.settings.lanes(i, self.workers) for i in range(self.workers)),
            "threads_per_worker": self.threads,
        }  # fmt: skip

    async def __aenter__(self) -> ProcessExecutor:
        self._loop = asyncio.get_running_loop()
        self._slots = [self._spawn(slot) for slot in range(self.workers)]
        try:
            await self._await_first_ready()
        except BaseException:
            await self._stop(grace_s=0.0)
            raise
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # on an error or Ctrl-C the in-flight turns are abandoned: no grace
        await self._stop(grace_s=_STOP_GRACE_S if error is None else 0.0)

    def _spawn(self, slot: int) -> _Worker:
        ours, theirs = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=_worker_main,
            args=(
                self.recipe,
                self.threads,
                self.settings.retry,
                self.settings.share(self.workers),
                theirs,
            ),
            name=f"voicelab-worker-{slot}",
            daemon=True,
        )
        process.start()
        theirs.close()  # the worker holds the only other end: its death closes the pipe
        worker = _Worker(slot, process, ours, self.settings.lanes(slot, self.workers))
        threading.Thread(
            target=self._read, args=(worker,), name=f"voicelab-worker-{slot}-reader", daemon=True
        ).start()
        return worker

    def _read(self, worker: _Worker) -> None:
        """Reader thread: the worker's messages onto the event loop, then its end."""
        assert self._loop is not None
        while True:
            try:
                message = worker.conn.recv()
            except (EOFError, OSError):
                break
            self._loop.call_soon_threadsafe(self._events.put_nowait, (worker, message))
        worker.process.join(timeout=_STOP_GRACE_S)
        lost = _Lost(worker.process.exitcode)
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for this worker
            self._loop.call_soon_threadsafe(self._events.put_nowait, (worker, lost))

    async def _await_first_ready(self) -> None:
        """Wait for a worker to build the pipeline; raise a build error if every one failed."""
        failures: list[VoicelabError] = []
        while self._pipeline is None:
            worker, message = await self._events.get()
            if isinstance(message, _Ready):
                worker.ready = True
                self._pipeline = RemotePipeline(message.facts)
            elif isinstance(message, _BuildFailed):
                failures.append(message.error)
            elif isinstance(message, _Lost):
                worker.alive = False
                if not any(w.alive for w in self._slots):
                    raise (
                        failures[0]
                        if failures
                        else WorkerLostError(
                            f"every worker process died while loading {self.recipe.pipeline} "
                            f"(last exit code {message.exitcode})"
                        )
                    )

    async def run(self, conversations: Sequence[Conversation], sink: RunSink) -> None:
        """Run ``conversations`` on the workers; return once every one has been reported."""
        dispatch = Dispatch(conversations, sink)
        for worker in self._slots:
            self._hand_out(worker, dispatch)
        while not dispatch.finished:
            if not any(w.alive for w in self._slots):
                await dispatch.fail_waiting(WorkerLostError("no worker process is left"))
                break
            worker, message = await self._events.get()
            if isinstance(message, _Turn):
                await dispatch.turn_done(message.outcome)
            elif isinstance(message, _Done):
                worker.running.discard(message.conversation_id)
                await dispatch.conversation_done(message.conversation_id)
            elif isinstance(message, _Ready):
                worker.ready = True
            elif isinstance(message, _Lost):
                await self._worker_lost(worker, message, dispatch)
            self._hand_out(worker, dispatch)

    def _hand_out(self, worker: _Worker, dispatch: Dispatch) -> None:
        """Fill a ready worker up to its concurrency."""
        while worker.alive and worker.ready and len(worker.running) < worker.lanes:
            conversation = dispatch.take()
            if conversation is None:
                return
            try:
                worker.conn.send(conversation)
            except OSError:  # it has just died; its end is on the way
                dispatch.put_back(conversation)
                return
            worker.running.add(conversation.conversation_id)

    async def _worker_lost(self, worker: _Worker, lost: _Lost, dispatch: Dispatch) -> None:
        worker.alive = False
        worker.conn.close()
        error = WorkerLostError(
            f"worker process {worker.slot} (pid {worker.process.pid}) died "
            f"({_exit_reason(lost.exitcode)}) before finishing its conversation"
        )
        for conversation_id in sorted(worker.running):
            await dispatch.lost(conversation_id, error)
        worker.running.clear()
        if dispatch.waiting and self._respawns_left > 0:
            self._respawns_left -= 1
            self._slots[worker.slot] = self._spawn(worker.slot)

    async def _stop(self, grace_s: float) -> None:
        """Tell the workers to stop; terminate any still running after ``grace_s``."""
        for worker in self._slots:
            if worker.alive and not worker.conn.closed:
                with contextlib.suppress(OSError):  # it died meanwhile
                    worker.conn.send(None)
        await asyncio.to_thread(_join_all, [w.process for w in self._slots], grace_s)


def _join_all(processes: list[BaseProcess], grace_s: float) -> None:
    for process in processes:
        process.join(timeout=grace_s)
    for process in processes:
        if process.is_alive():
            process.terminate()
            process.join(timeout=_STOP_GRACE_S)
        if process.is_alive():
            process.kill()
            process.join()


def _exit_reason(exitcode: int | None) -> str:
    if exitcode is None:
        return "still running after its pipe closed"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"
