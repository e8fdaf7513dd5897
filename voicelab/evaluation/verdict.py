"""The judge's verdict: the function it is made to call, and the strict reading of that call."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from voicelab.errors import EvaluationError

VERDICT_FUNCTION = "record_verdict"
RATIONALE_MAX_CHARS = 500  # two sentences; a bound a grammar-constrained judge also keeps
VERDICT_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {  # the rationale first: the model reasons before it decides
        "rationale": {
            "type": "string",
            "maxLength": RATIONALE_MAX_CHARS,
            "description": "one or two sentences: why",
        },
        "task_done": {"type": "boolean", "description": "the customer's request was handled"},
        "grounded": {
            "type": "boolean",
            "description": "every fact in the answer comes from a tool result or the customer",
        },
        "speech_ok": {
            "type": "boolean",
            "description": "fit to be spoken: short, no markdown, lists, URLs or code",
        },
    },
    "required": ["rationale", "task_done", "grounded", "speech_ok"],
    "additionalProperties": False,
}
VERDICT_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": VERDICT_FUNCTION,
        "description": "Record the verdict on the agent's turn.",
        "parameters": VERDICT_PARAMETERS,
    },
}
FORCE_VERDICT: dict[str, Any] = {"type": "function", "function": {"name": VERDICT_FUNCTION}}
"""The ``tool_choice`` that makes the judge call ``record_verdict`` (schema-valid by grammar on
servers that constrain tool calls, e.g. ``voicelab serve``)."""


@lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema.validators import Draft202012Validator  # 1 s to import: only when judging

    return Draft202012Validator(VERDICT_PARAMETERS)


@dataclass(frozen=True)
class Verdict:
    """The judge's verdict on one turn."""

    task_done: bool
    grounded: bool
    speech_ok: bool
    rationale: str

    @property
    def score(self) -> float:
        """The fraction of the rubric's three checks passed."""
        return (self.task_done + self.grounded + self.speech_ok) / 3


def parse_verdict(message: Mapping[str, Any], where: str) -> Verdict:
    """The verdict in a chat completion's ``message``: exactly one ``record_verdict`` call whose
    arguments match the schema; anything else is an ``EvaluationError`` naming ``where``."""
    calls = message.get("tool_calls") or []
    if len(calls) != 1:
        raise EvaluationError(
            f"{where}: the judge made {len(calls)} tool calls, not one {VERDICT_FUNCTION} call"
        )
    function = calls[0].get("function") or {}
    if function.get("name") != VERDICT_FUNCTION:
        raise EvaluationError(
            f"{where}: the judge called {function.get('name')!r}, not {VERDICT_FUNCTION}"
        )
    try:
        arguments = json.loads(function.get("arguments") or "")
    except json.JSONDecodeError as e:
        raise EvaluationError(f"{where}: the verdict's arguments are not JSON ({e})") from e
    errors = sorted(_validator().iter_errors(arguments), key=lambda e: list(e.path))
    if errors:
        raise EvaluationError(
            f"{where}: the verdict does not match its schema ({errors[0].message})"
        )
    return Verdict(
        task_done=arguments["task_done"],
        grounded=arguments["grounded"],
        speech_ok=arguments["speech_ok"],
        rationale=arguments["rationale"],
    )
