"""The judge against the local server (synthetic backend: a forced call is answered at once with
schema-valid arguments): rows store its prompt, model, verdict and cost apart from the agent's;
a judge failure lands in its own columns and leaves the agent's row as it was."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from voicelab.datasets import load_dataset
from voicelab.evaluation import EvaluationSettings, Evaluator, JudgeSettings, build_evaluator
from voicelab.evaluation.judge_prompt import load_rubric
from voicelab.execution.processes import ProcessExecutor
from voicelab.execution.recipe import PipelineRecipe
from voicelab.execution.retry import RetryPolicy
from voicelab.metrics.cost import load_price_table
from voicelab.pipelines.chained.config import ChainedOpenAIConfig
from voicelab.registry import build_pipeline
from voicelab.run_folder import load_run_info
from voicelab.runner import RunOptions, run_dataset
from voicelab.server.faults import FaultConfig, with_endpoint
from voicelab.server.runner import LocalServer
from voicelab.server.state import ServerConfig
from voicelab.testing import ScriptedPipeline

JUDGE_MODEL = "gpt-4o-mini"
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.0, jitter=0.0)
PRICES = """
as_of = "test"
source = "hand-written"
free_prefixes = ["local/"]
[models."gpt-4o-mini"]
text_input_per_1m_tokens = 1000.0
text_output_per_1m_tokens = 3000.0
[models."gpt-4o"]
text_input_per_1m_tokens = 10.0
text_output_per_1m_tokens = 20.0
[models."gpt-4o-transcribe"]
audio_input_per_minute = 0.5
[models."gpt-4o-mini-tts"]
audio_output_per_minute = 0.25
"""


@pytest.fixture(scope="module")
def synthetic() -> Iterator[LocalServer]:
    with LocalServer(ServerConfig(port=0, backend="synthetic")) as running:
        yield running


@pytest.fixture(scope="module")
def failing_judge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """Synthetic server whose Chat Completions (the judge's endpoint only) always answer 500;
    the agent's Responses, STT and TTS requests are served."""
    log = tmp_path_factory.mktemp("log") / "requests.jsonl"
    faults = with_endpoint(FaultConfig(), "chat", error_rate=1.0, error_status=500)
    config = ServerConfig(port=0, backend="synthetic", faults=faults, request_log=log)
    with LocalServer(config) as running:
        yield running


def _evaluator(base_url: str, **judge: Any) -> Evaluator | None:
    settings = EvaluationSettings(
        judge=JudgeSettings(model=JUDGE_MODEL, base_url=base_url, **judge)
    )
    return build_evaluator(settings, retry=FAST_RETRY, environ={})


async def _run(
    server: LocalServer, demo_data: Path, out: Path, evaluator: Evaluator | None = None
) -> pd.DataFrame:
    pipeline = build_pipeline(
        "chained-openai", config=ChainedOpenAIConfig(base_url=server.base_url)
    )
    prices_file = out.parent / f"{out.name}-prices.toml"
    prices_file.write_text(PRICES)
    return await run_dataset(
        pipeline, load_dataset(demo_data).head(2), out,
        prices=load_price_table(prices_file), evaluator=evaluator,
        options=RunOptions(save_audio=False, retry=FAST_RETRY),
    )  # fmt: skip


async def test_rows_store_the_judges_prompt_model_verdict_and_rationale(
    synthetic: LocalServer, demo_data: Path, tmp_path: Path
) -> None:
    frame = await _run(synthetic, demo_data, tmp_path / "judged", _evaluator(synthetic.base_url))
    assert frame["error"].isna().all(), frame["error"].dropna().tolist()
    assert (frame["judge_model"] == JUDGE_MODEL).all()
    assert frame["judge_error"].isna().all(), frame["judge_error"].dropna().tolist()
    rubric = load_rubric()
    for row in frame.itertuples():
        messages = json.loads(row.judge_prompt)
        assert messages[0] == {"role": "system", "content": rubric}
        assert f"The agent answered: {row.agent_text}" in messages[1]["content"]
        assert "lookup_order(" in messages[1]["content"]  # the tool call and its result
        assert f"The agent heard: {row.user_transcript}" in messages[1]["content"]
    # the synthetic engine answers a forced call with its schema's example: false, and a word
    assert frame["judge_task_done"].tolist() == [False, False]
    assert frame["judge_grounded"].tolist() == [False, False]
    assert frame["judge_speech_ok"].tolist() == [False, False]
    assert frame["judge_score"].tolist() == [0.0, 0.0]
    assert frame["judge_rationale"].str.len().gt(0).all()


async def test_the_judges_cost_is_its_own_column_and_the_agents_cost_is_unchanged(
    synthetic: LocalServer, demo_data: Path, tmp_path: Path
) -> None:
    plain = await _run(synthetic, demo_data, tmp_path / "plain")
    judged = await _run(synthetic, demo_data, tmp_path / "judged", _evaluator(synthetic.base_url))
    assert (judged["judge_input_tokens"] > 0).all() and (judged["judge_output_tokens"] > 0).all()
    by_hand = [
        (i * 1000.0 + o * 3000.0) / 1_000_000
        for i, o in zip(judged["judge_input_tokens"], judged["judge_output_tokens"], strict=True)
    ]
    assert judged["judge_cost_usd"].tolist() == pytest.approx(by_hand)
    assert judged["cost_usd"].tolist() == pytest.approx(plain["cost_usd"].tolist())
    assert plain["judge_cost_usd"].isna().all() and plain["judge_model"].isna().all()


async def test_a_judge_served_by_voicelabs_own_server_is_priced_as_a_projection(
    synthetic: LocalServer, demo_data: Path, tmp_path: Path
) -> None:
    # the synthetic server answers for gpt-4o-mini: nobody paid OpenAI for these tokens
    judged = await _run(synthetic, demo_data, tmp_path / "judged", _evaluator(synthetic.base_url))
    assert judged["judge_cost_usd"].notna().all()
    assert (judged["judge_cost_basis"] == "projection: gpt-4o-mini, prices as of test").all()
    assert load_run_info(tmp_path / "judged")["evaluation"]["judge"]["backend"] == "synthetic"
    unjudged = await _run(synthetic, demo_data, tmp_path / "plain")
    assert unjudged["judge_cost_basis"].isna().all()


async def test_a_judge_answering_500_fills_judge_error_and_the_agents_row_is_intact(
    failing_judge: LocalServer, demo_data: Path, tmp_path: Path
) -> None:
    plain = await _run(failing_judge, demo_data, tmp_path / "plain")
    judged = await _run(
        failing_judge, demo_data, tmp_path / "judged", _evaluator(failing_judge.base_url)
    )
    assert judged["error"].isna().all(), judged["error"].dropna().tolist()
    assert (judged["judge_error_type"] == "ServerSideError").all()
    assert judged["judge_error"].str.contains("500").all()
    assert judged["judge_score"].isna().all() and judged["judge_task_done"].isna().all()
    assert judged["judge_prompt"].notna().all()  # what was sent is kept for the record
    agent = [
        "user_transcript",
        "agent_text",
        "tool_calls",
        "wer",
        "quality",
        "cost_usd",
        "attempts",
    ]
    assert judged[agent].astype(object).equals(plain[agent].astype(object))
    log = failing_judge.config.request_log
    assert log is not None
    chats = [json.loads(line) for line in log.read_text().splitlines()]
    chats = [e for e in chats if e["endpoint"] == "chat"]
    assert len(chats) == 2 * FAST_RETRY.max_attempts  # a 500 is transient: each turn retried
    assert all(e["status"] == 500 for e in chats)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_judge_at_a_closed_port_is_a_connection_error_of_the_judge_only(
    demo_data: Path, tmp_path: Path
) -> None:
    evaluator = _evaluator(f"http://127.0.0.1:{_closed_port()}/v1", timeout_s=5.0)
    frame = await run_dataset(
        ScriptedPipeline(), load_dataset(demo_data).head(2), tmp_path / "run",
        options=RunOptions(save_audio=False), evaluator=evaluator,
    )  # fmt: skip
    assert frame["error"].isna().all()
    assert (frame["judge_error_type"] == "ConnectionFailedError").all()
    assert frame["judge_error"].str.contains("127.0.0.1").all()
    assert frame["judge_cost_usd"].isna().all()  # no tokens reported: the cost is unknown


async def test_a_failed_turn_is_not_judged(
    synthetic: LocalServer, demo_data: Path, tmp_path: Path
) -> None:
    dataset = load_dataset(demo_data).head(2)
    failing = next(iter(dataset)).turns[0].turn_id
    frame = await run_dataset(
        ScriptedPipeline(fail_turns=frozenset({failing})), dataset, tmp_path / "run",
        options=RunOptions(save_audio=False), evaluator=_evaluator(synthetic.base_url),
    )  # fmt: skip
    rows = frame.set_index("turn_id")
    assert rows.loc[failing, "error"] is not pd.NA
    assert (
        rows.loc[failing, ["judge_model", "judge_prompt", "judge_score", "judge_error"]]
        .isna()
        .all()
    )
    judged = rows.drop(index=failing)
    assert (judged["judge_model"] == JUDGE_MODEL).all() and judged["judge_error"].isna().all()


async def test_run_json_records_the_judge_but_the_config_hash_ignores_it(
    synthetic: LocalServer, demo_data: Path, tmp_path: Path
) -> None:
    rubric = tmp_path / "rubric.txt"
    rubric.write_text("Grade strictly. Record the verdict with record_verdict.")
    dataset = load_dataset(demo_data).head(2)
    await run_dataset(
        ScriptedPipeline(), dataset, tmp_path / "plain", options=RunOptions(save_audio=False)
    )
    frame = await run_dataset(
        ScriptedPipeline(), dataset, tmp_path / "judged", options=RunOptions(save_audio=False),
        evaluator=_evaluator(synthetic.base_url, rubric=str(rubric)),
    )  # fmt: skip
    info = load_run_info(tmp_path / "judged")
    assert info["evaluation"]["judge"]["rubric"] == rubric.read_text()
    assert info["evaluation"]["judge"]["model"] == JUDGE_MODEL
    assert info["config_hash"] == load_run_info(tmp_path / "plain")["config_hash"]
    assert json.loads(frame["judge_prompt"].iloc[0])[0]["content"] == rubric.read_text()


@pytest.mark.slow  # worker processes import the SDK: seconds to start
async def test_rows_from_worker_processes_are_judged_in_the_driver_in_order(
    synthetic: LocalServer, demo_data: Path, tmp_path: Path
) -> None:
    config = ChainedOpenAIConfig(base_url=synthetic.base_url)
    recipe = PipelineRecipe(pipeline="chained-openai", config=config)
    dataset = load_dataset(demo_data)
    async with ProcessExecutor(recipe, workers=2) as executor:
        frame = await run_dataset(
            executor.pipeline, dataset, tmp_path, options=RunOptions(save_audio=False),
            executor=executor, evaluator=_evaluator(synthetic.base_url),
        )  # fmt: skip
    assert len(frame) == dataset.num_turns and frame["error"].isna().all()
    assert (frame["judge_model"] == JUDGE_MODEL).all() and frame["judge_error"].isna().all()
    for row in frame.itertuples():  # each verdict is about its own turn
        assert (
            f"The agent heard: {row.user_transcript}" in json.loads(row.judge_prompt)[1]["content"]
        )
    by_conversation: dict[str, list[int]] = {}
    for line in (tmp_path / "rows.jsonl").open():
        row = json.loads(line)
        by_conversation.setdefault(row["conversation_id"], []).append(row["turn_index"])
    assert all(indices == sorted(indices) for indices in by_conversation.values())
