"""Tool prompt and grammar: a call can only use identifiers the user said."""

from __future__ import annotations

from typing import Any

import pytest

from tests.providers.support_tools import TOOLS
from voicelab.providers.tool_grammar import ground_tools, tool_prompt


def _by_name(tools: list[Any]) -> dict[str, Any]:
    return {t["function"]["name"]: t["function"]["parameters"]["properties"] for t in tools}


def test_order_number_can_only_be_one_the_user_said() -> None:
    grounded = _by_name(ground_tools(TOOLS, "My desk lamp, order 109-8, has not arrived yet."))
    assert list(grounded) == ["lookup_order", "check_refund", "search_faq"]
    assert grounded["lookup_order"]["order_id"]["enum"] == ["1098", "109"]  # "8" is too short
    assert "pattern" not in grounded["lookup_order"]["order_id"]
    assert grounded["search_faq"]["topic"]["enum"] == ["returns", "shipping", "hours", "payment"]


def test_tools_needing_an_unsaid_number_are_left_out() -> None:
    assert list(_by_name(ground_tools(TOOLS, "And what is your return policy?"))) == ["search_faq"]


def test_nothing_callable_leaves_the_tools_as_they_were() -> None:
    order_tools = TOOLS[:2]
    assert ground_tools(order_tools, "Thanks, bye!") == order_tools


@pytest.mark.parametrize("said", ["", "order 452"])
def test_a_string_without_a_digits_pattern_is_left_free(said: str) -> None:
    tool = {"type": "function", "function": {"name": "note", "parameters": {
        "type": "object", "properties": {"text": {"type": "string", "pattern": "^[a-z]+$"}},
        "required": ["text"]}}}  # fmt: skip
    assert ground_tools([tool], said) == [tool]


def test_prompt_lists_each_tool_with_its_arguments_and_the_call_format() -> None:
    text = tool_prompt(TOOLS)
    assert "- search_faq(topic: returns|shipping|hours|payment): " in text
    assert "- lookup_order(order_id: string): " in text
    assert '<tool_call>{"name": TOOL, "arguments": {...}}</tool_call>' in text
