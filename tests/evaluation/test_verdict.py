"""The judge's verdict is read strictly: one record_verdict call matching the schema."""

from __future__ import annotations

import json
from typing import Any

import pytest

from voicelab.errors import EvaluationError
from voicelab.evaluation.verdict import RATIONALE_MAX_CHARS, Verdict, parse_verdict

GOOD = {"rationale": "It gave the status.", "task_done": True, "grounded": False, "speech_ok": True}


def _message(*calls: tuple[str, str]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": a}}
            for i, (n, a) in enumerate(calls)
        ],
    }


def test_a_valid_call_is_the_verdict() -> None:
    verdict = parse_verdict(_message(("record_verdict", json.dumps(GOOD))), "t#0")
    assert verdict == Verdict(
        task_done=True, grounded=False, speech_ok=True, rationale="It gave the status."
    )
    assert verdict.score == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ({"role": "assistant", "content": "All good."}, "0 tool calls"),
        (_message(("record_verdict", json.dumps(GOOD)), ("record_verdict", "{}")), "2 tool calls"),
        (_message(("lookup_order", json.dumps(GOOD))), "called 'lookup_order'"),
        (_message(("record_verdict", '{"rationale": "cut sh')), "not JSON"),
        (_message(("record_verdict", json.dumps({**GOOD, "task_done": "yes"}))), "schema"),
        (_message(("record_verdict", json.dumps({k: GOOD[k] for k in list(GOOD)[:3]}))), "schema"),
        (_message(("record_verdict", json.dumps({**GOOD, "score": 1}))), "schema"),
        (
            _message(
                (
                    "record_verdict",
                    json.dumps({**GOOD, "rationale": "x" * (RATIONALE_MAX_CHARS + 1)}),
                )
            ),
            "schema",
        ),
    ],
)
def test_anything_else_is_an_evaluation_error_naming_the_turn(
    message: dict[str, Any], problem: str
) -> None:
    with pytest.raises(EvaluationError, match=rf"^judge of t#3: .*{problem}"):
        parse_verdict(message, "judge of t#3")
