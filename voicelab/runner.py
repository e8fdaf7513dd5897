"""Batch execution: every turn of a dataset through a pipeline, persisted row by row, resumable.

Resume works per conversation, because later turns depend on the context of earlier ones:
a conversation whose turns are all logged is skipped; one cut off part-way is run again from
its first turn, its earlier rows set aside by the run folder (see ``voicelab.run_folder``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from voicelab.conversation_audio import conversation_stereo, user_clip
from voicelab.datasets.types import Conversation, Dataset, Turn
from voicelab.environment import describe_environment
from voicelab.execution.base import Executor
from voicelab.execution.conversation import TurnOutcome
from voicelab.execution.local import AsyncioExecutor
from voicelab.execution.retry import RetryPolicy
from voicelab.execution.settings import run_settings_record
from voicelab.experiment import RUN_INFO_KEY, Experiment
from voicelab.metrics.cost import PriceTable, load_price_table
from voicelab.pipelines.base import Pipeline
from voicelab.progress import ProgressReporter
from voicelab.rate_limits import RateLimits, rate_limited
from voicelab.redact import redact_config
from voicelab.run_folder import ROWS_FILE, RunFolder
from voicelab.scoring import build_row
from voicelab.turn_result import TurnResult

if TYPE_CHECKING:
    from voicelab.evaluation.evaluator import Evaluator, TurnEvaluation

ProgressCallback = Callable[[Mapping[str, Any]], None]


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """How a batch run executes."""

    save_audio: bool = True
    """Write each turn's agent speech to ``audio/<turn>.wav`` in the run folder, and each
    conversation as heard to ``audio/conversations/<conversation>.wav``."""
    max_concurrency: int = 1
    """Conversations run at once (local models share the CPU: 1 is right for them)."""
    secrets: tuple[str, ...] = ()
    """Strings that must never reach rows or run.json (API keys)."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    """How transient failures (429, 5xx, timeouts, drops) are retried."""
    rate_limits: RateLimits = field(default_factory=RateLimits)
    """Requests and tokens per minute per endpoint (none by default)."""

    def run_settings(self) -> dict[str, Any]:
        """The execution settings as the experiment's ``[run]`` table."""
        return run_settings_record(self.max_concurrency, self.retry, self.rate_limits)


def config_hash(description: Mapping[str, Any]) -> str:
    """A short, stable hash of a pipeline's resolved configuration."""
    blob = json.dumps(description, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


class _Run:
    def __init__(
        self, pipeline: Pipeline, dataset: Dataset, folder: RunFolder, prices: PriceTable,
        options: RunOptions, progress: ProgressCallback | None, experiment: Experiment | None,
        execution: Mapping[str, Any], evaluator: Evaluator | None = None,
    ) -> None:  # fmt: skip
        self.pipeline = pipeline
        self.dataset = dataset
        self.folder = folder
        self.prices = prices
        self.options = options
        self.progress = progress
        self.execution = dict(execution)
        """How the run executes (the executor's own description): recorded, never hashed."""
        self.evaluator = evaluator
        """What is evaluated after each turn, in this driver: recorded, never hashed."""
        self.description = redact_config(dict(pipeline.describe()), options.secrets)
        self.hash = config_hash(self.description)
        self.models = dict(pipeline.models())  # resolved once: the rows price with it
        self.run_fields = {
            "run_id": folder.run_id,
            "pipeline": pipeline.name,
            "architecture": pipeline.architecture,
            "backend": pipeline.backend,
            "tool_choice": self.description.get("tool_choice"),
            "config_hash": self.hash,
            "dataset": dataset.name,
        }
        self.rows: dict[str, dict[str, Any]] = {}
        """Rows finished in this process, by turn id (a conversation's recording needs them)."""
        default = Experiment(pipeline=pipeline.name, config=self.description.get("config", {}))
        self.experiment = replace(experiment or default, run=options.run_settings())

    def claim(self) -> set[str]:
        """Check the folder belongs to this run; return the conversations already complete."""
        info = {
            RUN_INFO_KEY: redact_config(self.experiment.record(), self.options.secrets),
            "pipeline": self.pipeline.name,
            "config_hash": self.hash,
            "pipeline_config": self.description,
            "execution": self.execution,
            "evaluation": redact_config(
                self.evaluator.describe() if self.evaluator else {}, self.options.secrets
            ),
            "prices": {"as_of": self.prices.as_of, "source": self.prices.source},
            "environment": describe_environment(),
        }
        return self.folder.claim(info, self.dataset)

    async def turn_done(self, outcome: TurnOutcome) -> None:
        """Evaluate a finished turn, then persist its row (its audio first)."""
        evaluation = None
        if self.evaluator is not None:
            evaluation = await self.evaluator.evaluate(outcome.turn, outcome.result)
        self.finish(outcome.turn, outcome.result, evaluation)

    def conversation_done(
        self, conversation: Conversation, outcomes: Sequence[TurnOutcome]
    ) -> None:
        """Save the conversation as heard (user left, agent right)."""
        rows = [self.rows.pop(o.turn.turn_id) for o in outcomes]
        if not self.options.save_audio:
            return
        users = [user_clip(o.turn) for o in outcomes]
        stereo = conversation_stereo(rows, users, [o.result.agent_audio for o in outcomes])
        self.folder.save_conversation_audio(conversation.conversation_id, stereo)

    def finish(
        self, turn: Turn, result: TurnResult, evaluation: TurnEvaluation | None = None
    ) -> dict[str, Any]:
        row = build_row(
            self.run_fields, turn, result, models=self.models,
            prices=self.prices, secrets=self.options.secrets, evaluation=evaluation,
        )  # fmt: skip
        if self.options.save_audio and result.agent_audio is not None:
            self.folder.save_audio(turn.turn_id, result.agent_audio)  # before the row commits it
        self.folder.append(row)
        self.rows[turn.turn_id] = row
        if self.progress:
            self.progress(row)
        return row


async def run_dataset(
    pipeline: Pipeline,
    dataset: Dataset,
    out_dir: str | Path,
    *,
    prices: PriceTable | None = None,
    options: RunOptions | None = None,
    progress: ProgressCallback | None = None,
    experiment: Experiment | None = None,
    executor: Executor | None = None,
    evaluator: Evaluator | None = None,
) -> pd.DataFrame:
    """Run every turn not yet in ``out_dir``; return the folder's whole result table.

    Interrupted (Ctrl-C, or the task cancelled), the turns in flight are abandoned and
    ``results.parquet`` is written from the rows finished so far; running again resumes.

    ``experiment`` (what the CLI ran: pipeline, config, dataset path, agent spec) is stored in
    ``run.json`` so the run can be repeated from it. ``executor`` runs the conversations
    (default: ``pipeline`` in this event loop, ``options.max_concurrency`` at once); for worker
    processes or Ray, ``pipeline`` is the executor's ``RemotePipeline`` (see
    ``voicelab.execution.choose``). ``evaluator`` (a judge, the agent's intelligibility) runs
    in this driver after each turn and before its row is written, whatever the executor.
    """
    options = options or RunOptions()
    executor = executor or AsyncioExecutor(pipeline, options.max_concurrency, retry=options.retry)
    run = _Run(
        pipeline, dataset, RunFolder.open(out_dir), prices or load_price_table(),
        options, progress, experiment, executor.describe(), evaluator,
    )  # fmt: skip
    complete = run.claim()
    pending = [c for c in dataset if c.conversation_id not in complete]
    if isinstance(progress, ProgressReporter):
        done = sum(len(c.turns) for c in dataset if c.conversation_id in complete)
        progress.begin(dataset.num_turns, done)
    try:
        with rate_limited(run.options.rate_limits):  # workers of other executors hold their own
            await executor.run(pending, run)
    except (asyncio.CancelledError, KeyboardInterrupt):
        if (run.folder.path / ROWS_FILE).exists():  # the table holds every row finished so far
            run.folder.write_table()
        raise
    return run.folder.write_table()
