"""Function tools in the flat shape of the Responses and Realtime APIs, in the Chat Completions one.

Both APIs define a function tool as ``{type, name, description, parameters}``; the llama.cpp
engine reads the Chat Completions shape, ``{type, function: {name, description, parameters}}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_FUNCTION_FIELDS = ("name", "description", "parameters")


def unserved_tool(tools: Sequence[Any]) -> int | None:
    """Index of the first tool that is not a named function tool (all the engine serves)."""
    for index, tool in enumerate(tools):
        if not isinstance(tool, Mapping) or tool.get("type", "function") != "function":
            return index
        if not tool.get("name"):
            return index
    return None


def chat_tools(tools: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Flat function tools (checked with ``unserved_tool``) in the Chat Completions shape."""
    return [
        {"type": "function", "function": {k: tool[k] for k in _FUNCTION_FIELDS if k in tool}}
        for tool in tools
    ]


def chat_tool_choice(choice: Any) -> Any:
    """A flat ``tool_choice`` (``{type: function, name}``) in the Chat Completions shape."""
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        return {"type": "function", "function": {"name": choice.get("name")}}
    return choice
