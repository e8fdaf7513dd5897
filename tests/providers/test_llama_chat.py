"""The llama.cpp chat engine's speed levers, on the real embedded model (SmolLM2-135M).

Token counts, not times: llama.cpp's own counters say how many prompt tokens were evaluated.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import llama_cpp
import pytest

from voicelab import ConfigError
from voicelab.demo.support_agent import INSTRUCTIONS, lookup_order_text
from voicelab.pipelines.chained.config import ChainedLocalConfig
from voicelab.providers.answer_mask import forbidden_tokens
from voicelab.providers.chat_chunks import fold_chunks
from voicelab.providers.llama_chat import LlamaChatEngine
from voicelab.providers.local_config import LlamaConfig
from voicelab.providers.local_models import load_llama
from voicelab.providers.tool_grammar import closed_call

_ORDER_ID = {
    "type": "object",
    "properties": {"order_id": {"type": "string", "pattern": "^[0-9]{3,6}$"}},
    "required": ["order_id"],
    "additionalProperties": False,
}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": parameters,
        },
    }
    for name, description, parameters in (
        ("lookup_order", "Look up the shipping status of an order.", _ORDER_ID),
        ("check_refund", "Check whether the refund for an order has been sent.", _ORDER_ID),
        (
            "search_faq",
            "Find the shop's policy on returns, shipping, opening hours or payment.",
            {"type": "object", "properties": {"topic": {"type": "string"}}, "required": ["topic"]},
        ),
    )
]
USER = "Hi, where is my order 4 5 2 1? It has not arrived."


def _call_request() -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": USER},
        ],
        "tools": TOOLS,
        "tool_choice": "required",
        "temperature": 0.0,
        "stream_options": {"include_usage": True},
    }


def _answer_request(call: Mapping[str, Any]) -> dict[str, Any]:
    """What the Agents SDK sends after running the call: the call and its result appended."""
    request = _call_request()
    result = lookup_order_text(json.loads(call["function"]["arguments"])["order_id"])
    request["messages"] += [
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": result},
    ]
    request["tool_choice"] = "auto"
    return request


def _evaluated(engine: LlamaChatEngine, request: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    """The folded completion and how many prompt tokens llama.cpp evaluated in batches."""
    context = load_llama(engine.config)._ctx.ctx
    llama_cpp.llama_perf_context_reset(context)
    completion = fold_chunks(engine.stream(request))
    return completion, int(llama_cpp.llama_perf_context(context).n_p_eval)


def _held_call(engine: LlamaChatEngine) -> str:
    """The call as the model's context holds it (the last token decoded is never evaluated)."""
    llm = load_llama(engine.config)
    held = llm.detokenize(list(llm.input_ids[: llm.n_tokens])).decode()
    return held[held.rindex("<tool_call>") :]


def _only_call(completion: Mapping[str, Any]) -> dict[str, Any]:
    calls = completion["choices"][0]["message"]["tool_calls"]
    assert len(calls) == 1, completion
    call: dict[str, Any] = calls[0]
    return call


@pytest.mark.parametrize(
    "settings",
    [{"n_threads_batch": 0}, {"n_threads": 0}, {"max_tokens": 0}, {"n_ctx": 16}],
)
def test_llama_config_refuses_bad_thread_and_size_settings(settings: dict[str, int]) -> None:
    with pytest.raises(ConfigError, match="LlamaConfig"):
        LlamaConfig(**settings)  # type: ignore[arg-type]


def test_chained_local_config_refuses_zero_prefill_threads() -> None:
    with pytest.raises(ConfigError, match="llm_threads_batch"):
        ChainedLocalConfig(llm_threads_batch=0)


def test_llm_levers_are_on_by_default_and_reach_the_engine_config() -> None:
    from voicelab.registry import chained_local_llama

    config = ChainedLocalConfig()
    assert (config.llm_threads_batch, config.llm_stable_prompt_prefix) == (1, True)
    assert config.llm_prefill_call_opening is True
    assert LlamaConfig().n_threads_batch == 1
    moved = ChainedLocalConfig(
        llm_prefill_argument_name=False, llm_idle_decode_threads=1, llm_idle_decode_chars=40
    )
    engine_config = chained_local_llama(moved)
    assert engine_config.prefill_argument_name is False
    assert (engine_config.idle_decode_threads, engine_config.idle_decode_chars) == (1, 40)
    defaults = chained_local_llama(config)
    assert (defaults.prefill_argument_name, defaults.idle_decode_threads) == (True, 2)


def test_extra_buffer_setting_reaches_the_engine_config() -> None:
    from voicelab.registry import chained_local_llama

    assert ChainedLocalConfig().llm_extra_buffer_types is False
    for extra in (False, True):
        config = ChainedLocalConfig(llm_extra_buffer_types=extra)
        assert chained_local_llama(config).extra_buffer_types is extra


_CALL = '<tool_call>{"name": "f", "arguments": '
_WHOLE = _CALL + '{"id": "45"}}</tool_call>'


@pytest.mark.parametrize(
    ("text", "whole"),
    [
        (_CALL + '{"id": "45', None),
        (_CALL + '{"id": "4}5"', None),
        (_CALL + '{"id": "45"}', _WHOLE),
        (_CALL + '{"id": "45"}}', _WHOLE),
        (_CALL + '{"id": "45"}}</tool_call>', _WHOLE),
    ],
)
def test_closed_call_completes_a_call_once_its_arguments_close(
    text: str, whole: str | None
) -> None:
    assert closed_call(text) == whole


@pytest.fixture(scope="module")
def engine() -> LlamaChatEngine:
    return LlamaChatEngine(LlamaConfig())


@pytest.mark.slow
def test_answer_phase_reuses_the_call_phase_kv_cache(engine: LlamaChatEngine) -> None:
    call_completion, _ = _evaluated(engine, _call_request())
    call_prompt = engine.last_prefill
    assert call_prompt is not None
    answer_request = _answer_request(_only_call(call_completion))
    answer, evaluated = _evaluated(engine, answer_request)
    stats = engine.last_prefill
    assert stats is not None and answer["choices"][0]["message"]["content"]
    # the whole call prompt (system, tools, user, the call's opening) is reused from the cache;
    # only what came after it (the call's end, its result, the generation prompt) is evaluated
    assert stats.cached_tokens >= call_prompt.prompt_tokens
    assert evaluated <= stats.prompt_tokens - call_prompt.prompt_tokens
    assert answer["usage"]["prompt_tokens_details"]["cached_tokens"] >= call_prompt.prompt_tokens


@pytest.mark.slow
def test_without_a_stable_prefix_the_answer_evaluates_the_tools_again() -> None:
    off = LlamaChatEngine(LlamaConfig(stable_prompt_prefix=False))
    call_completion, _ = _evaluated(off, _call_request())
    call_prompt = off.last_prefill
    assert call_prompt is not None
    _, evaluated = _evaluated(off, _answer_request(_only_call(call_completion)))
    stats = off.last_prefill
    assert stats is not None
    assert stats.cached_tokens < call_prompt.prompt_tokens  # the tools' text left the prompt
    assert evaluated > stats.prompt_tokens - call_prompt.prompt_tokens


@pytest.mark.slow
def test_kv_cache_reuse_does_not_change_the_answer(engine: LlamaChatEngine) -> None:
    # by default only batch-evaluated cache entries are reused: a decoded token's entry (from
    # llama.cpp's single-token path) shifted this answer's logits by up to 0.75 and changed it
    call_completion, _ = _evaluated(engine, _call_request())
    answer_request = _answer_request(_only_call(call_completion))
    warm, _ = _evaluated(engine, answer_request)
    warm_stats = engine.last_prefill
    load_llama(engine.config).reset()  # forget the context: the next prompt is evaluated whole
    cold, evaluated = _evaluated(engine, answer_request)
    assert warm_stats is not None and warm_stats.cached_tokens > 0
    assert engine.last_prefill is not None and engine.last_prefill.cached_tokens == 0
    assert evaluated == engine.last_prefill.prompt_tokens
    warm_text = warm["choices"][0]["message"]["content"]
    assert warm_text and warm_text == cold["choices"][0]["message"]["content"]


@pytest.mark.slow
def test_reusing_decoded_tokens_evaluates_fewer_but_may_change_the_answer() -> None:
    evaluated = {}
    for reuse in (False, True):
        # the call's arguments decoded whole (6 tokens or more), not only the order number
        config = LlamaConfig(reuse_decoded_tokens=reuse, prefill_argument_name=False)
        engine = LlamaChatEngine(config)
        call_completion, _ = _evaluated(engine, _call_request())
        _, evaluated[reuse] = _evaluated(engine, _answer_request(_only_call(call_completion)))
    # reused, the call's decoded tokens are not evaluated again
    assert evaluated[True] <= evaluated[False] - 6


@pytest.mark.slow
@pytest.mark.parametrize("tools", [TOOLS, TOOLS[:1]], ids=["three tools", "one tool"])
def test_prefilled_call_opening_decodes_fewer_tokens_for_a_valid_call(
    tools: list[dict[str, Any]],
) -> None:
    decoded: dict[bool, int] = {}
    for prefill in (True, False):
        engine = LlamaChatEngine(LlamaConfig(prefill_call_opening=prefill))
        context = load_llama(engine.config)._ctx.ctx
        llama_cpp.llama_perf_context_reset(context)
        completion = fold_chunks(engine.stream({**_call_request(), "tools": tools}))
        call = _only_call(completion)
        assert call["function"]["name"] in {t["function"]["name"] for t in tools}
        assert set(json.loads(call["function"]["arguments"])) == {"order_id"}
        decoded[prefill] = int(llama_cpp.llama_perf_context(context).n_eval)
        if prefill:  # stopped once the arguments closed: "</tool_call>" was never decoded
            call_text = _held_call(engine)
            assert call_text.startswith("<tool_call>") and "</" not in call_text
    assert decoded[True] < decoded[False]


@pytest.mark.slow
def test_a_call_the_model_chose_to_make_stops_once_its_arguments_close(
    engine: LlamaChatEngine,
) -> None:
    request = {**_call_request(), "tools": TOOLS[:1], "tool_choice": "auto"}
    call = _only_call(fold_chunks(engine.stream(request)))  # no opening: decoded from "<"
    assert json.loads(call["function"]["arguments"]) == {"order_id": "4521"}
    assert "</" not in _held_call(engine)  # "</tool_call>" was never decoded


@pytest.mark.slow
def test_a_one_argument_call_decodes_only_its_value() -> None:
    one_tool = [{**TOOLS[0], "function": {**TOOLS[0]["function"], "parameters": _ORDER_ID}}]
    request = {**_call_request(), "tools": one_tool}
    decoded: dict[bool, int] = {}
    arguments = {}
    for through_name in (True, False):
        engine = LlamaChatEngine(LlamaConfig(prefill_argument_name=through_name))
        context = load_llama(engine.config)._ctx.ctx
        llama_cpp.llama_perf_context_reset(context)
        call = _only_call(fold_chunks(engine.stream(request)))
        arguments[through_name] = json.loads(call["function"]["arguments"])
        decoded[through_name] = int(llama_cpp.llama_perf_context(context).n_eval)
        if through_name:  # stopped at the value's closing quote: no brace was decoded
            call_text = _held_call(engine)
            assert call_text.count("}") == 0 and '"order_id": "45' in call_text
    assert arguments[True] == arguments[False] == {"order_id": "4521"}  # grounded: what was said
    assert decoded[True] <= decoded[False] - 3  # the name, its quotes and braces: not decoded


@pytest.mark.slow
def test_answer_token_mask_forbids_what_the_grammar_forbids(engine: LlamaChatEngine) -> None:
    llm = load_llama(engine.config)
    banned = {int(t) for t in forbidden_tokens(llm)}
    newline, angle = llm.tokenize(b"\n", add_bos=False), llm.tokenize(b"<", add_bos=False)
    assert set(newline) <= banned and set(angle) <= banned
    assert llm.token_eos() not in banned
    assert not set(llm.tokenize(b" Your order", add_bos=False)) & banned


@pytest.mark.slow
def test_answer_token_mask_gives_the_grammars_answer(engine: LlamaChatEngine) -> None:
    call_completion, _ = _evaluated(engine, _call_request())
    request = _answer_request(_only_call(call_completion))
    answers = {}
    for mask in (True, False):
        masked = LlamaChatEngine(LlamaConfig(answer_token_mask=mask))
        answers[mask] = masked.complete(request)["choices"][0]["message"]["content"]
    assert answers[True] and "<" not in answers[True] and "\n" not in answers[True]
    assert answers[True] == answers[False]
