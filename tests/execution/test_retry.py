"""Retries inside ``converse``: attempts counted, Retry-After honoured, permanent errors final."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path
from typing import Any

import pytest

from voicelab.datasets import load_dataset
from voicelab.datasets.types import Conversation
from voicelab.errors import ConfigError, RateLimitedError
from voicelab.execution.conversation import TurnOutcome, converse
from voicelab.execution.retry import NO_RETRY, RetryPolicy
from voicelab.runner import RunOptions, run_dataset
from voicelab.testing import ScriptedPipeline, ScriptedState

FAST = RetryPolicy(max_attempts=3, base_delay_s=0.001, jitter=0.0)


def _conversation(demo_data: Path, conversation_id: str = "order-status") -> Conversation:
    dataset = load_dataset(demo_data)
    return next(c for c in dataset if c.conversation_id == conversation_id)


async def _outcomes(
    pipeline: ScriptedPipeline, conversation: Conversation, retry: RetryPolicy
) -> list[TurnOutcome]:
    return [o async for o in converse(pipeline, conversation, retry=retry)]


async def test_a_turn_that_recovers_counts_its_attempts(demo_data: Path) -> None:
    conversation = _conversation(demo_data)
    first = conversation.turns[0].turn_id
    pipeline = ScriptedPipeline(transient_failures={first: 2})
    outcomes = await _outcomes(pipeline, conversation, FAST)
    result = outcomes[0].result
    assert result.ok and result.attempts == 3
    assert result.retried_errors == ("RateLimitedError", "RateLimitedError")
    assert [o.result.attempts for o in outcomes[1:]] == [1] * (len(outcomes) - 1)
    assert len(pipeline.attempt_started_ns[first]) == 3


async def test_a_turn_that_keeps_failing_is_an_error_row_after_the_last_attempt(
    demo_data: Path,
) -> None:
    conversation = _conversation(demo_data)
    first = conversation.turns[0].turn_id
    pipeline = ScriptedPipeline(transient_failures={first: 10})
    result = (await _outcomes(pipeline, conversation, FAST))[0].result
    assert result.error_type == "RateLimitedError" and result.error_transient
    assert result.attempts == 3 and result.retried_errors == ("RateLimitedError",) * 2
    assert len(pipeline.attempt_started_ns[first]) == 3


async def test_permanent_errors_are_not_retried(demo_data: Path) -> None:
    conversation = _conversation(demo_data)
    first = conversation.turns[0].turn_id
    pipeline = ScriptedPipeline(fail_turns=frozenset({first}))
    result = (await _outcomes(pipeline, conversation, FAST))[0].result
    assert result.error_type == "UnexpectedError" and not result.error_transient
    assert result.attempts == 1 and result.retried_errors == ()
    assert len(pipeline.attempt_started_ns[first]) == 1


async def test_no_retry_policy_reports_the_first_failure(demo_data: Path) -> None:
    conversation = _conversation(demo_data)
    first = conversation.turns[0].turn_id
    pipeline = ScriptedPipeline(transient_failures={first: 1})
    result = (await _outcomes(pipeline, conversation, NO_RETRY))[0].result
    assert result.error_type == "RateLimitedError" and result.attempts == 1


async def test_retry_after_is_honoured(demo_data: Path) -> None:
    conversation = _conversation(demo_data)
    first = conversation.turns[0].turn_id
    wait_s = 0.3  # far above the policy's 1 ms backoff: only Retry-After explains the wait
    pipeline = ScriptedPipeline(transient_failures={first: 2}, retry_after_s=wait_s)
    result = (await _outcomes(pipeline, conversation, FAST))[0].result
    assert result.ok and result.attempts == 3
    started = pipeline.attempt_started_ns[first]
    gaps_s = [(b - a) / 1e9 for a, b in itertools.pairwise(started)]
    assert len(gaps_s) == 2 and min(gaps_s) >= wait_s, gaps_s


async def test_the_history_holds_a_retried_turn_once(demo_data: Path) -> None:
    conversation = _conversation(demo_data)
    states: list[ScriptedState] = []

    class Recording(ScriptedPipeline):
        async def start_conversation(self, conversation_id: str) -> ScriptedState:
            state = await super().start_conversation(conversation_id)
            states.append(state)
            return state

    failing = {t.turn_id: 2 for t in conversation.turns}
    outcomes = await _outcomes(Recording(transient_failures=failing), conversation, FAST)
    assert all(o.result.ok and o.result.attempts == 3 for o in outcomes)
    assert states[0].history == [t.reference_text or "" for t in conversation.turns]


async def test_opening_the_conversation_is_retried(demo_data: Path) -> None:
    conversation = _conversation(demo_data)

    class Refusing(ScriptedPipeline):
        def __init__(self, refusals: int) -> None:
            super().__init__()
            self.refusals = refusals
            self.opened = 0

        async def start_conversation(self, conversation_id: str) -> ScriptedState:
            self.opened += 1
            if self.opened <= self.refusals:
                raise RateLimitedError("too many sessions", status=429, retry_after_s=0.01)
            return await super().start_conversation(conversation_id)

    pipeline = Refusing(1)
    outcomes = await _outcomes(pipeline, conversation, FAST)
    assert pipeline.opened == 2 and all(o.result.ok for o in outcomes)

    never = Refusing(10)
    failed = await _outcomes(never, conversation, FAST)
    assert [o.result.error_type for o in failed] == ["RateLimitedError"] * len(failed)
    assert all(o.result.attempts == 3 for o in failed) and never.opened == 3


async def test_rows_record_attempts_and_retried_errors(demo_data: Path, tmp_path: Path) -> None:
    dataset = load_dataset(demo_data).head(3)
    first = dataset.conversations[0].turns[0].turn_id
    pipeline = ScriptedPipeline(transient_failures={first: 1})
    frame = await run_dataset(pipeline, dataset, tmp_path / "run", options=RunOptions(retry=FAST))
    rows = frame.set_index("turn_id")
    assert rows.loc[first, "attempts"] == 2
    assert json.loads(rows.loc[first, "retried_errors"]) == ["RateLimitedError"]
    others = rows.drop(index=first)
    assert (others["attempts"] == 1).all()
    assert others["retried_errors"].map(json.loads).map(len).eq(0).all()


@pytest.mark.parametrize(
    ("attempt", "retry_after_s", "expected_s"),
    [(1, None, 1.0), (2, None, 2.0), (3, None, 4.0), (6, None, 10.0), (1, 7.5, 7.5), (3, 0.5, 4.0)],
)
def test_backoff_doubles_up_to_the_cap_and_retry_after_wins(
    attempt: int, retry_after_s: float | None, expected_s: float
) -> None:
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=10.0, jitter=0.0)
    assert policy.delay_s(attempt, retry_after_s, random.Random(0)) == expected_s


def test_jitter_stretches_the_backoff_within_bounds_and_repeats_per_turn() -> None:
    policy = RetryPolicy(base_delay_s=1.0, jitter=0.5, seed=3)
    waits = [policy.delay_s(2, None, policy.rng(f"c#{i}")) for i in range(50)]
    assert all(2.0 <= w < 3.0 for w in waits) and len(set(waits)) == 50
    assert waits[7] == policy.delay_s(2, None, policy.rng("c#7"))


@pytest.mark.parametrize("fields", [{"max_attempts": 0}, {"base_delay_s": -1.0}, {"jitter": -0.1}])
def test_policy_rejects(fields: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="retry"):
        RetryPolicy(**fields)
