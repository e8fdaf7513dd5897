"""Tool prompt and grammar: a call can only use identifiers the user said."""

from __future__ import annotations

from typing import Any

import pytest

from tests.providers.support_tools import TOOLS
from voicelab.providers.tool_grammar import (
    closed_call,
    compile_grammar,
    forced_call,
    ground_tools,
    sole_argument,
    tool_prompt,
)


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


_ONE = {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}


@pytest.mark.parametrize(
    ("parameters", "name"),
    [
        ({**_ONE, "additionalProperties": False}, "id"),
        (_ONE, None),  # other properties may follow
        ({**_ONE, "additionalProperties": False, "required": []}, None),  # may be left out
        ({"type": "object", "properties": {}, "additionalProperties": False}, None),
        ({"type": "object", "additionalProperties": False, "required": ["a", "b"],
          "properties": {"a": {"type": "string"}, "b": {"type": "string"}}}, None),
    ],
)  # fmt: skip
def test_sole_argument_is_the_one_property_required_and_allowed(
    parameters: dict[str, Any], name: str | None
) -> None:
    assert sole_argument(parameters) == name


def test_a_one_argument_call_is_fixed_through_its_argument_name() -> None:
    forced = forced_call(TOOLS[:1], through_argument_name=True)  # lookup_order(order_id: str)
    # a string's opening quote is fixed too; the grammar goes on after it
    assert forced.opening == '<tool_call>{"name": "lookup_order", "arguments": {"order_id": "'
    assert forced.sole_argument
    assert compile_grammar(forced.grammar) is not None
    assert "tool0-value ::= tool0-value-1 tool0-value-1 tool0-value-1 " in forced.grammar
    assert 'root ::= tool0-value "}" space "}" "</tool_call>"' in forced.grammar
    faq = forced_call(TOOLS[2:], through_argument_name=True)  # search_faq(topic: enum)
    assert faq.opening.endswith('{"topic": "')
    assert 'tool0-value ::= "returns\\"" | "shipping\\"" | ' in faq.grammar
    assert compile_grammar(faq.grammar) is not None
    # without the setting, or with several tools, the arguments are decoded whole
    assert forced_call(TOOLS[:1]).opening.endswith('"arguments":')
    several = forced_call(TOOLS, through_argument_name=True)
    assert several.opening == '<tool_call>{"name": "' and not several.sole_argument


@pytest.mark.parametrize(
    ("value", "opening_end", "rule"),
    [
        # a number: the space is decoded, then its digits
        ({"type": "integer"}, '{"v":', 'root ::= " " integer "}" space "}"'),
        # a free string: the grammar starts after its opening quote
        ({"type": "string"}, '{"v": "', 'string ::= char* "\\"" space'),
    ],
    ids=["number", "free string"],
)
def test_a_one_argument_call_is_fixed_as_far_as_its_value_type_allows(
    value: dict[str, Any], opening_end: str, rule: str
) -> None:
    parameters = {"type": "object", "properties": {"v": value}, "required": ["v"],
                  "additionalProperties": False}  # fmt: skip
    tool = {"type": "function", "function": {"name": "f", "parameters": parameters}}
    forced = forced_call([tool], through_argument_name=True)
    assert forced.opening.endswith(opening_end) and rule in forced.grammar
    assert compile_grammar(forced.grammar) is not None


_OPENING = '<tool_call>{"name": "f", "arguments": {"id":'


@pytest.mark.parametrize(
    ("decoded", "whole"),
    [
        (' "45', None),
        (' "45"', _OPENING + ' "45"}}</tool_call>'),  # the quote ends the value
        (' "4\\"', None),  # an escaped quote does not
        (" 45", None),  # a number's digits may go on
        (" 45}", _OPENING + " 45}}</tool_call>"),
        (" true", _OPENING + " true}}</tool_call>"),
    ],
)
def test_a_sole_argument_call_is_whole_once_its_value_is(decoded: str, whole: str | None) -> None:
    assert closed_call(_OPENING + decoded, sole_argument=True) == whole
    if decoded.endswith('"'):  # without the setting the arguments' brace is still awaited
        assert closed_call(_OPENING + decoded) is None
