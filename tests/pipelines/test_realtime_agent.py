"""An Agents SDK agent mapped onto a Realtime session, and what a session cannot carry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from agents import Agent, GuardrailFunctionOutput, InputGuardrail
from pydantic import BaseModel

from voicelab.agent.loading import load_agent
from voicelab.errors import ConfigError
from voicelab.pipelines.realtime.config import RealtimeConfig
from voicelab.pipelines.realtime.pipeline import RealtimePipeline
from voicelab.providers.openai_endpoint import OpenAIEndpoint
from voicelab.registry import build_pipeline

AGENT_FILE = Path(__file__).resolve().parents[1] / "agent" / "unit_converter_agent.py"
# Nothing listens here: an agent refused before any connection never reaches it.
CLOSED_URL = "http://127.0.0.1:9/v1"


class Verdict(BaseModel):
    answer: str


async def _never(*_: Any) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info=None, tripwire_triggered=False)


@pytest.mark.parametrize(
    ("changes", "feature"),
    [
        ({"handoffs": [Agent(name="billing")]}, "handoffs"),
        ({"output_type": Verdict}, "output_type"),
        ({"input_guardrails": [InputGuardrail(guardrail_function=_never)]}, "guardrails"),
        ({"instructions": lambda ctx, agent: "dynamic"}, "dynamic instructions"),
        ({"tool_use_behavior": "stop_on_first_tool"}, "tool_use_behavior"),
    ],
)
def test_features_a_session_cannot_carry_are_refused(changes: dict[str, Any], feature: str) -> None:
    agent = load_agent(f"{AGENT_FILE}:agent").agent.clone(**changes)
    with pytest.raises(ConfigError, match=feature) as refused:
        build_pipeline("realtime", agent=agent, config=RealtimeConfig(base_url=CLOSED_URL))
    assert "units" in str(refused.value)


def test_the_agent_becomes_the_session() -> None:
    agent = load_agent(f"{AGENT_FILE}:agent").agent
    pipeline = RealtimePipeline(
        endpoint=OpenAIEndpoint(base_url=CLOSED_URL),
        agent=agent,
        config=RealtimeConfig(tool_choice="convert_units"),
    )
    session = pipeline.session_config()
    assert session["instructions"] == agent.instructions
    (tool,) = session["tools"]
    assert tool["name"] == "convert_units" and tool["type"] == "function"
    assert tool["parameters"]["properties"]["value"]["type"] == "number"
    assert session["tool_choice"] == {"type": "function", "name": "convert_units"}
    assert pipeline.describe()["tool_choice"] == "convert_units"
    assert pipeline.describe()["agent"]["tools"][0]["name"] == "convert_units"


def test_a_tool_choice_naming_no_tool_is_refused() -> None:
    agent = load_agent(f"{AGENT_FILE}:agent").agent
    with pytest.raises(ConfigError, match="names no tool"):
        RealtimePipeline(
            endpoint=OpenAIEndpoint(base_url=CLOSED_URL),
            agent=agent,
            config=RealtimeConfig(tool_choice="sometimes"),
        )
