"""The chained agent's tools (Agents SDK ``FunctionTool``s) as Realtime function tools.

Both architectures run the very same tool objects: the Realtime session gets their name,
description and JSON schema, and each call is invoked through the SDK as its agent runner would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from agents import FunctionTool, function_tool
from agents.tool import invoke_function_tool
from agents.tool_context import ToolContext

from voicelab.errors import ConfigError
from voicelab.turn_result import ToolCall, parse_tool_arguments

ToolLike = FunctionTool | Callable[..., Any]


def as_function_tool(tool: ToolLike) -> FunctionTool:
    """``tool`` itself if it is a ``FunctionTool``; a plain function wrapped by the SDK."""
    if isinstance(tool, FunctionTool):
        return tool
    if callable(tool):
        return function_tool(tool)
    raise ConfigError(f"a realtime tool must be a FunctionTool or a function, not {tool!r}")


def _serialize(output: Any) -> str:
    """A tool's return value as the ``function_call_output`` string."""
    if isinstance(output, str):
        return output
    try:
        return json.dumps(output)
    except TypeError:
        return str(output)


class RealtimeToolSet:
    """Named function tools: their session definitions, and invoking one for a call."""

    def __init__(self, tools: Iterable[ToolLike] = ()) -> None:
        self._tools: dict[str, FunctionTool] = {}
        for tool in map(as_function_tool, tools):
            if tool.name in self._tools:
                raise ConfigError(f"two realtime tools are named {tool.name!r}")
            self._tools[tool.name] = tool

    @property
    def names(self) -> list[str]:
        """Tool names, in the order given."""
        return list(self._tools)

    def definitions(self) -> list[dict[str, Any]]:
        """The ``tools`` of a Realtime ``session.update``."""
        return [
            {
                "type": "function",
                "name": tool.name,
                "description": tool.description,
                "parameters": tool.params_json_schema,
            }
            for tool in self._tools.values()
        ]

    async def invoke(self, name: str, call_id: str, arguments: str) -> ToolCall:
        """Run the named tool on the model's JSON arguments; the call with its output.

        An unknown tool or bad arguments become the output the model reads, as in the SDK.
        """
        tool = self._tools.get(name)
        if tool is None:
            output = f"Error: there is no tool named {name!r}; tools: {', '.join(self._tools)}."
        else:
            context: ToolContext[Any] = ToolContext(
                context=None, tool_name=name, tool_call_id=call_id, tool_arguments=arguments
            )
            result = await invoke_function_tool(
                function_tool=tool, context=context, arguments=arguments
            )
            output = _serialize(result)
        return ToolCall(name=name, arguments=parse_tool_arguments(arguments), output=output)
