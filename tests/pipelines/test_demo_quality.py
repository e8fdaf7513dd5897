"""The demo suite through chained-local: the 135M model calls the right tool and answers from
what it returned (issue 11). The floors are the figures measured on the branch ``agent-quality``,
the same in two runs (temperature 0)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voicelab.datasets import load_dataset
from voicelab.registry import build_pipeline
from voicelab.runner import run_dataset

pytestmark = pytest.mark.slow

TOOL_CALL_OK_FLOOR = 0.75
"""Measured 6/8 in two runs (5/8 before the tool was chosen by its description). The two misses
are Whisper tiny's ("order 220" for "two two nine zero", "55521" for "five five two one"): no
call can carry a number the user was not heard to say."""
ANSWER_OK_FLOOR = 0.625
"""Measured 5/8 in two runs (0/8 at first, 4/8 before the order lookup said its arrival day in
one sentence); the answer must say the expected keyword."""


async def test_demo_suite_calls_the_right_tools_and_answers_from_them(
    demo_data: Path, tmp_path: Path
) -> None:
    pipeline = build_pipeline("chained-local")
    frame = await run_dataset(pipeline, load_dataset(demo_data), tmp_path / "demo")
    assert frame["error"].isna().all(), frame["error"].dropna().tolist()
    per_turn = frame[["turn_id", "user_transcript", "tool_calls", "agent_text"]].to_dict("records")
    assert frame["tool_call_ok"].mean() >= TOOL_CALL_OK_FLOOR, per_turn
    assert frame["answer_ok"].mean() >= ANSWER_OK_FLOOR, per_turn
    for row in frame.itertuples():  # every turn called a tool and spoke an answer after it
        calls = json.loads(str(row.tool_calls))
        assert len(calls) == 1 and calls[0]["output"], (row.turn_id, calls)
        assert str(row.agent_text).strip(), row.turn_id
    run = json.loads((tmp_path / "demo" / "run.json").read_text())
    assert '"llm_tool_result_style": "system"' in json.dumps(run)
