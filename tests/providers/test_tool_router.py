"""Choosing a required call's tool by how well its description explains the user's words, on
the real embedded model (SmolLM2-135M)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.providers.support_tools import TOOLS
from voicelab.demo.support_agent import INSTRUCTIONS
from voicelab.pipelines.chained.config import ChainedLocalConfig
from voicelab.providers.chat_chunks import fold_chunks
from voicelab.providers.llama_chat import LlamaChatEngine
from voicelab.providers.local_config import LlamaConfig
from voicelab.providers.local_models import new_scoring_llama
from voicelab.providers.tool_router import ROUTER_N_CTX, ChannelToolRouter, tool_description

pytestmark = pytest.mark.slow

# Phrasings not in the demo suite: what each tool is for, said in other words.
SAID = [
    ("Where is my parcel 123?", "lookup_order"),
    ("Has order 55 shipped?", "lookup_order"),
    ("What is the status of order 881?", "lookup_order"),
    ("Did my money come back for order 77?", "check_refund"),
    ("I returned order 12, was I paid back?", "check_refund"),
    ("What's the status of my refund for 881?", "check_refund"),
]


@pytest.fixture(scope="module")
def router() -> ChannelToolRouter:
    return ChannelToolRouter(lambda: new_scoring_llama(LlamaConfig(), ROUTER_N_CTX))


@pytest.mark.parametrize(("said", "tool"), SAID)
def test_router_chooses_the_tool_whose_description_fits(
    router: ChannelToolRouter, said: str, tool: str
) -> None:
    assert router.choose(TOOLS, said)["function"]["name"] == tool


def test_a_tool_without_a_description_is_scored_by_its_name() -> None:
    assert tool_description({"function": {"name": "check_refund"}}) == "check refund"


def _call(engine: LlamaChatEngine, said: str) -> dict[str, Any]:
    request = {
        "messages": [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": said},
        ],
        "tools": TOOLS,
        "tool_choice": "required",
        "temperature": 0.0,
    }
    calls = fold_chunks(engine.stream(request))["choices"][0]["message"]["tool_calls"]
    assert len(calls) == 1, calls
    return {"name": calls[0]["function"]["name"], **json.loads(calls[0]["function"]["arguments"])}


def test_routed_call_uses_the_described_tool_where_the_model_alone_does_not() -> None:
    said = "What is the status of order 881?"
    routed = LlamaChatEngine(LlamaConfig())
    alone = LlamaChatEngine(LlamaConfig(route_tools_by_description=False))
    assert _call(routed, said) == {"name": "lookup_order", "order_id": "881"}
    assert _call(alone, said)["name"] == "check_refund"  # the 135M model's prior


def test_routing_is_on_by_default_and_reaches_the_engine_config() -> None:
    assert ChainedLocalConfig().llm_route_tools_by_description is True
    assert ChainedLocalConfig().llm_router_keeps_descriptions is True
    assert LlamaConfig().route_tools_by_description is True


def test_kept_descriptions_give_the_scores_of_a_fresh_evaluation(
    router: ChannelToolRouter,
) -> None:
    fresh = ChannelToolRouter(
        lambda: new_scoring_llama(LlamaConfig(), ROUTER_N_CTX), cache_descriptions=False
    )
    description = tool_description(TOOLS[0])
    for said, _ in SAID[:3]:  # the second and third reuse the description's cache entries
        assert router.score(description, said) == pytest.approx(
            fresh.score(description, said), abs=1e-3
        )
