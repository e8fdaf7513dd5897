"""An Agents SDK agent mapped onto a Realtime session: instructions, tools, tool_choice.

What a Realtime session cannot carry is refused with a ``ConfigError`` naming the feature,
never silently dropped: a comparison of architectures is only fair on the same agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents import Agent, FunctionTool

from voicelab.agent.description import TOOL_CHOICES, resolve_tool_choice
from voicelab.errors import ConfigError
from voicelab.pipelines.realtime.tools import RealtimeToolSet


@dataclass(frozen=True)
class SessionAgent:
    """What of an agent a Realtime session runs."""

    name: str
    instructions: str
    tools: RealtimeToolSet
    tool_choice: str
    """The resolved tool_choice: "auto", "required", "none" or a tool's name."""
    reset_tool_choice: bool
    """After a tool call, answer with "auto" (the SDK's default behaviour)."""
    max_output_tokens: int | None
    """The agent's ``model_settings.max_tokens``, if it sets one."""

    def session_tool_choice(self, choice: str | None = None) -> Any:
        """A tool_choice in the Realtime shape (a tool name becomes a function choice)."""
        choice = choice or self.tool_choice
        return choice if choice in TOOL_CHOICES else {"type": "function", "name": choice}


def _unsupported(agent: Agent[Any]) -> list[str]:
    """The agent's features a Realtime session cannot carry."""
    found = []
    if agent.handoffs:
        found.append(f"handoffs ({len(agent.handoffs)})")
    if agent.output_type is not None and agent.output_type is not str:
        found.append(f"output_type ({getattr(agent.output_type, '__name__', agent.output_type)})")
    if agent.input_guardrails or agent.output_guardrails:
        found.append("guardrails")
    if callable(agent.instructions):
        found.append("dynamic instructions (a function; give a string)")
    if agent.prompt is not None:
        found.append("prompt (a stored Responses prompt)")
    if agent.mcp_servers:
        found.append("mcp_servers")
    if agent.tool_use_behavior != "run_llm_again":
        found.append(f"tool_use_behavior={agent.tool_use_behavior!r}")
    if agent.hooks is not None:
        found.append("hooks")
    hosted = [type(t).__name__ for t in agent.tools if not isinstance(t, FunctionTool)]
    if hosted:
        found.append(f"non-function tools ({', '.join(hosted)})")
    return found


def session_agent(
    agent: Agent[Any], tool_choice: str | None, default_tool_choice: str
) -> SessionAgent:
    """``agent`` as a Realtime session runs it; ``tool_choice`` overrides the agent's."""
    unsupported = _unsupported(agent)
    if unsupported:
        raise ConfigError(
            f"agent {agent.name!r} cannot run on a Realtime session: it uses "
            f"{'; '.join(unsupported)}. A Realtime session carries instructions, function tools "
            "and tool_choice only."
        )
    tools = RealtimeToolSet(agent.tools)  # type: ignore[arg-type]
    choice = resolve_tool_choice(tool_choice, agent, default_tool_choice)
    if choice not in TOOL_CHOICES and choice not in tools.names:
        raise ConfigError(f"tool_choice {choice!r} names no tool of agent {agent.name!r}")
    return SessionAgent(
        name=agent.name,
        instructions=agent.instructions or "",  # type: ignore[arg-type]
        tools=tools,
        tool_choice=choice,
        reset_tool_choice=agent.reset_tool_choice,
        max_output_tokens=agent.model_settings.max_tokens,
    )
