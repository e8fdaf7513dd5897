"""What the judge is shown: the rubric, then one turn (what was said, the tools, the answer)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from voicelab.datasets.types import Turn
from voicelab.errors import ConfigError
from voicelab.turn_result import TurnResult

SHIPPED_RUBRIC = "voicelab/evaluation/rubric.txt"


def load_rubric(path: str | Path | None = None) -> str:
    """The rubric's text: the file at ``path``, or the shipped one."""
    if path is None:
        return resources.files("voicelab.evaluation").joinpath("rubric.txt").read_text()
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the judge's rubric ({e.strerror or e})") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: the judge's rubric is not UTF-8 text ({e})") from e
    if not text:
        raise ConfigError(f"{path}: the judge's rubric is empty")
    return text


def _tool_lines(result: TurnResult) -> list[str]:
    if not result.tool_calls:
        return ["Tool calls: none"]
    lines = ["Tool calls, with their results:"]
    for call in result.tool_calls:
        arguments = json.dumps(dict(call.arguments), sort_keys=True)
        lines.append(f"- {call.name}({arguments}) -> {call.output}")
    return lines


def turn_text(turn: Turn, result: TurnResult) -> str:
    """One turn as the judge reads it."""
    lines = []
    if turn.reference_text:
        lines.append(f"The customer said: {turn.reference_text}")
    lines.append(f"The agent heard: {result.user_transcript or '(nothing)'}")
    lines.extend(_tool_lines(result))
    lines.append(f"The agent answered: {result.agent_text or '(nothing)'}")
    return "\n".join(lines)


def judge_messages(rubric: str, turn: Turn, result: TurnResult) -> list[dict[str, Any]]:
    """The chat messages sent to the judge for one turn."""
    return [
        {"role": "system", "content": rubric},
        {"role": "user", "content": turn_text(turn, result)},
    ]
