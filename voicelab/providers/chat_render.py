"""Chat messages as the plain system/user/assistant text a small model's chat template knows.

SmolLM2's template has no ``tool`` role and no tool calls: a call is rendered as the
``<tool_call>`` text the grammar makes the model write, and a tool's result as a message in a
role the model was trained on, naming the tool. Each message is rendered on its own, never
depending on what follows it, so the answer phase's prompt extends the call phase's and turn
N+1's extends turn N's: llama.cpp can reuse the cached prefix.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from voicelab.providers.tool_grammar import CALL_CLOSE, CALL_OPEN

ToolResultStyle = Literal["tool_role", "user", "system", "assistant"]
TOOL_RESULT_STYLES: tuple[str, ...] = ("tool_role", "user", "system", "assistant")


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content if isinstance(p, Mapping))


def last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """What the user said last ("" if nothing)."""
    for m in reversed(messages):
        if m.get("role") == "user":
            return _text_of(m.get("content"))
    return ""


def call_text(name: str, arguments: str | Mapping[str, Any]) -> str:
    """A tool call as the grammar makes the model write it."""
    args = arguments if isinstance(arguments, str) else json.dumps(dict(arguments))
    return f'{CALL_OPEN}{{"name": "{name}", "arguments": {args}}}{CALL_CLOSE}'


def _call_names(messages: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Tool-call id -> tool name, from the assistant messages that made the calls."""
    return {
        str(c.get("id")): str(c["function"]["name"])
        for m in messages
        if m.get("role") == "assistant"
        for c in m.get("tool_calls") or []
    }


def _result_message(
    name: str | None, content: str, style: ToolResultStyle, instruction: str
) -> dict[str, str]:
    if style == "tool_role":
        return {"role": "tool", "content": f"Tool result: {content}"}
    head = f"Result of {name}: {content}" if name else f"Tool result: {content}"
    return {"role": style, "content": f"{head}\n{instruction}".rstrip()}


def render_messages(
    messages: Sequence[Mapping[str, Any]],
    tools_text: str,
    *,
    tool_result_style: ToolResultStyle = "user",
    tool_result_instruction: str = "",
) -> list[dict[str, str]]:
    """Role/content messages the model's chat template can render; ``tools_text`` joins the
    system prompt (it must be the same in every phase of a conversation for the prefix to hold)."""
    names = _call_names(messages)
    plain: list[dict[str, str]] = []
    for m in messages:
        role = str(m.get("role", "user"))
        content = _text_of(m.get("content"))
        if role == "developer":
            role = "system"
        if role == "assistant" and m.get("tool_calls"):
            content += "".join(
                call_text(c["function"]["name"], c["function"]["arguments"])
                for c in m["tool_calls"]
            )
        if role == "tool":
            name = names.get(str(m.get("tool_call_id")))
            plain.append(_result_message(name, content, tool_result_style, tool_result_instruction))
            continue
        plain.append({"role": role, "content": content})
    if tools_text:
        if plain and plain[0]["role"] == "system":
            plain[0] = {"role": "system", "content": f"{plain[0]['content']}\n\n{tools_text}"}
        else:
            plain.insert(0, {"role": "system", "content": tools_text})
    return plain
