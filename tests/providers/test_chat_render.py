"""How chat messages and tool results are rendered for a model that knows no ``tool`` role."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from tests.providers.support_tools import TOOLS
from voicelab.demo.support_agent import lookup_order_text
from voicelab.errors import ConfigError
from voicelab.providers.chat_render import last_user_text, render_messages
from voicelab.providers.llama_chat import _plain_messages
from voicelab.providers.local_config import LlamaConfig
from voicelab.providers.tool_grammar import tool_prompt

SYSTEM = {"role": "system", "content": "You are a support agent."}


def _call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    function = {"name": name, "arguments": json.dumps(arguments)}
    call = {"id": call_id, "type": "function", "function": function}
    return {"role": "assistant", "content": None, "tool_calls": [call]}


def _phases() -> list[list[dict[str, Any]]]:
    """The message lists the SDK sends over two turns: call, answer, next call, next answer."""
    turn1 = [SYSTEM, {"role": "user", "content": "Where is my order 452?"}]
    answer1 = [
        *turn1,
        _call("call_1", "lookup_order", {"order_id": "452"}),
        {"role": "tool", "tool_call_id": "call_1", "content": lookup_order_text("452")},
    ]
    turn2 = [
        *answer1,
        {"role": "assistant", "content": "Your shoes arrive on Friday."},
        {"role": "user", "content": "And what is your return policy?"},
    ]
    answer2 = [
        *turn2,
        _call("call_2", "search_faq", {"topic": "returns"}),
        {"role": "tool", "tool_call_id": "call_2", "content": "Within 30 days."},
    ]
    return [turn1, answer1, turn2, answer2]


def _template_text(messages: list[dict[str, str]]) -> str:
    """The prompt llama-cpp-python builds from the embedded GGUF's own chat template."""
    llama_cpp = pytest.importorskip("llama_cpp")
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    llm = llama_cpp.Llama(model_path=LlamaConfig().model_path, vocab_only=True, verbose=False)
    template = llm.metadata["tokenizer.chat_template"]
    formatter = Jinja2ChatFormatter(template=template, eos_token="", bos_token="")
    return str(formatter(messages=messages).prompt)


@pytest.mark.parametrize("style", ["user", "system", "assistant"])
def test_tool_result_is_a_message_naming_the_tool_in_a_role_the_model_knows(style: str) -> None:
    config = LlamaConfig(tool_result_style=style, tool_result_instruction="Answer from it.")  # type: ignore[arg-type]
    plain = _plain_messages(_phases()[1], tool_prompt(TOOLS), config)
    assert [m["role"] for m in plain] == ["system", "user", "assistant", style]
    assert plain[-1]["content"] == (
        "Result of lookup_order: Order 452, the blue running shoes, is shipped; "
        "it arrives Friday.\n"
        "Answer from it."
    )
    assert plain[2]["content"] == (
        '<tool_call>{"name": "lookup_order", "arguments": {"order_id": "452"}}</tool_call>'
    )
    assert plain[0]["content"].startswith("You are a support agent.\n\nTools:\n- lookup_order(")


def test_tool_role_style_keeps_the_raw_tool_role() -> None:
    plain = render_messages(_phases()[1], "", tool_result_style="tool_role")
    assert plain[-1] == {"role": "tool", "content": f"Tool result: {lookup_order_text('452')}"}


def test_each_phase_prompt_extends_the_one_before() -> None:
    """The answer phase's prompt starts with the call phase's, and turn 2's with turn 1's answer
    phase (plus the answer given), so llama.cpp can reuse the cached prefix."""
    config = LlamaConfig()
    prompts = [
        _template_text(_plain_messages(messages, tool_prompt(TOOLS), config))
        for messages in _phases()
    ]
    for before, after in itertools.pairwise(prompts):
        assert after.startswith(before)
    result = f"Result of lookup_order: {lookup_order_text('452')}"
    assert prompts[1].endswith(
        f"<|im_start|>{config.tool_result_style}\n{result}<|im_end|>\n<|im_start|>assistant\n"
    )


def test_last_user_text_is_what_the_user_said_last() -> None:
    assert last_user_text(_phases()[3]) == "And what is your return policy?"
    assert last_user_text([SYSTEM]) == ""


def test_unknown_tool_result_style_is_refused() -> None:
    with pytest.raises(ConfigError, match="tool_result_style"):
        LlamaConfig(tool_result_style="tool")  # type: ignore[arg-type]
