"""What an agent is, as data: the part of it that makes two runs comparable.

The description goes into ``run.json`` and, through ``Pipeline.describe()``, into the
``config_hash``: the same instructions, tools and tool_choice give the same hash wherever the
agent was loaded from.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agents import Agent

TOOL_CHOICES = ("auto", "required", "none")


def tool_choice_text(choice: Any) -> str | None:
    """A tool_choice as text: "auto", "required", "none", or a tool's name."""
    if choice is None or isinstance(choice, str):
        return choice
    name = getattr(choice, "name", None)
    return str(name) if name else str(choice)


def resolve_tool_choice(override: str | None, agent: Agent[Any], default: str) -> str:
    """The tool_choice a pipeline runs: the config's, else the agent's own, else ``default``."""
    if override is not None:
        return override
    return tool_choice_text(agent.model_settings.tool_choice) or default


def describe_tools(agent: Agent[Any]) -> list[dict[str, Any]]:
    """Name, description and JSON schema of each of the agent's tools."""
    described = []
    for tool in agent.tools:
        described.append(
            {
                "name": getattr(tool, "name", type(tool).__name__),
                "description": getattr(tool, "description", None),
                "parameters": getattr(tool, "params_json_schema", None),
            }
        )
    return described


def describe_agent(agent: Agent[Any]) -> dict[str, Any]:
    """The agent as JSON-ready data: name, instructions, tools with schemas, tool_choice."""
    instructions = agent.instructions
    return {
        "name": agent.name,
        "instructions": instructions
        if isinstance(instructions, str) or instructions is None
        else f"<dynamic: {getattr(instructions, '__qualname__', type(instructions).__name__)}>",
        "tools": describe_tools(agent),
        "tool_choice": tool_choice_text(agent.model_settings.tool_choice),
        "handoffs": [
            getattr(h, "name", None) or getattr(h, "agent_name", "?") for h in agent.handoffs
        ],
    }


def agent_hash(description: dict[str, Any]) -> str:
    """A short, stable hash of an agent description."""
    blob = json.dumps(description, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]
