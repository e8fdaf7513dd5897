"""Batch execution: every turn of a dataset through a pipeline, persisted row by row, resumable.

Resume works per conversation, because later turns depend on the context of earlier ones:
a conversation whose turns are all logged is skipped; one cut off part-way is run again from
its first turn, its earlier rows set aside by the run folder (see ``voicelab.run_folder``).
With ``RunOptions.repeat = k`` every conversation runs k times (trials), each from fresh
conversation state, and all of the above holds per (conversation, trial)
(``voicelab.execution.trials``).
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
from voicelab.datasets.types import Conversation, Dataset
from voicelab.environment import describe_environment
from voicelab.execution.base import Executor
from voicelab.execution.conversation import TurnOutcome
from voicelab.execution.local import AsyncioExecutor
from voicelab.execution.retry import RetryPolicy
from voicelab.execution.settings import run_settings_record
from voicelab.execution.trials import TrialPlan, TrialTurn, plan_trials
from voicelab.experiment import RUN_INFO_KEY, Experiment
from voicelab.metrics.cost import PriceTable, load_price_table, run_pricing_for
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
    repeat: int = 1
    """Trials: times each conversation runs, each from fresh conversation state (pass^k)."""

    def run_settings(self) -> dict[str, Any]:
        """The execution settings as the experiment's ``[run]`` table."""
        record = run_settings_record(self.max_concurrency, self.retry, self.rate_limits)
        return {**record, "repeat": self.repeat}


def config_hash(description: Mapping[str, Any]) -> str:
    """A short, stable hash of a pipeline's resolved configuration."""
    blob = json.dumps(description, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


class _Run:
    def __init__(
        self, pipeline: Pipeline, dataset: Dataset, folder: RunFolder, prices: PriceTable,
        options: RunOptions, progress: ProgressCallback | None, experiment: Experiment | None,
        execution: Mapping[str, Any], price_as: str | None, evaluator: Evaluator | None = None,
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
        self.pricing = run_pricing_for(self.models, pipeline.backend, prices, price_as)
        self.plan = TrialPlan((), {}, {})
        """The (conversation, trial) pairs to run, set once the folder is claimed."""
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
        """Rows finished in this process, by the id the turn ran under (a conversation's
        recording needs them)."""
        default = Experiment(pipeline=pipeline.name, config=self.description.get("config", {}))
        self.experiment = replace(experiment or default, run=options.run_settings())

    def claim(self) -> TrialPlan:
        """Check the folder belongs to this run; plan the (conversation, trial) pairs not done."""
        info = {
            RUN_INFO_KEY: redact_config(self.experiment.record(), self.options.secrets),
            "pipeline": self.pipeline.name,
            "config_hash": self.hash,
            "pipeline_config": self.description,
            "execution": self.execution,
            "evaluation": redact_config(
                self.evaluator.describe() if self.evaluator else {}, self.options.secrets
            ),
            "models": self.models,
            "prices": {
                "as_of": self.prices.as_of,
                "source": self.prices.source,
                "cost_basis": self.pricing.basis,
                "priced_as": dict(self.pricing.models),
                "projection": self.pricing.projection,
                "rates_digest": self.prices.digest,
            },
            "environment": describe_environment(),
        }
        done = self.folder.claim(info, self.dataset, self.options.repeat)
        self.plan = plan_trials(self.dataset, self.options.repeat, done)
        return self.plan

    async def turn_done(self, outcome: TurnOutcome) -> None:
        """Evaluate a finished turn, then persist its row (its audio first)."""
        evaluation = None
        if self.evaluator is not None:
            evaluation = await self.evaluator.evaluate(outcome.turn, outcome.result)
        self.finish(self.plan.turn(outcome.turn), outcome.result, evaluation)

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
        self, ran: TrialTurn, result: TurnResult, evaluation: TurnEvaluation | None = None
    ) -> dict[str, Any]:
        row = build_row(
            {**self.run_fields, "trial": ran.trial}, ran.turn, result, pricing=self.pricing,
            secrets=self.options.secrets, evaluation=evaluation,
        )  # fmt: skip
        if self.options.save_audio and result.agent_audio is not None:
            self.folder.save_audio(ran.run_turn_id, result.agent_audio)  # before the row commits
        self.folder.append(row)
        self.rows[ran.run_turn_id] = row
        if self.progress:
            self.progress(row)
        return row


async def run_dataset(
    pipeline: Pipeline,
    dataset: Dataset,
    out_dir: str | Path,
    *,
    prices: PriceTable | None = None,
    price_as: str | None = None,
    options: RunOptions | None = None,
    progress: ProgressCallback | None = None,
    experiment: Experiment | None = None,
    executor: Executor | None = None,
    evaluator: Evaluator | None = None,
) -> pd.DataFrame:
    """Run every turn not yet in ``out_dir``; return the folder's whole result table.

    Interrupted (Ctrl-C, or the task cancelled), the turns in flight are abandoned and
    ``results.parquet`` is written from the rows finished so far; running again resumes.

    ``price_as`` (``STT,LLM,TTS`` or ``COMPONENT=MODEL,...``) prices the usage as if it had run
    on those models, labelled a projection in ``cost_basis``.
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
        options, progress, experiment, executor.describe(), price_as, evaluator,
    )  # fmt: skip
    plan = run.claim()
    if isinstance(progress, ProgressReporter):
        total = dataset.num_turns * options.repeat
        progress.begin(total, total - len(plan.turns))
    try:
        with rate_limited(run.options.rate_limits):  # workers of other executors hold their own
            await executor.run(plan.conversations, run)
    except (asyncio.CancelledError, KeyboardInterrupt):
        if (run.folder.path / ROWS_FILE).exists():  # the table holds every row finished so far
            run.folder.write_table()
        raise
    return run.folder.write_table()
