"""An OpenAI Chat Completions engine over llama.cpp: request body in, chunk dicts out.

It is shared by the in-process client of the embedded default and by ``voicelab serve``, so the
agent's model is driven through the SDK's own ``OpenAIChatCompletionsModel`` in both.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from voicelab._async import consumer_gone, iterate_in_thread
from voicelab.errors import ModelError
from voicelab.providers.answer_mask import answer_only_processor, forbidden_tokens
from voicelab.providers.chat_chunks import Chunk, completion_chunk, fold_chunks
from voicelab.providers.chat_render import last_user_text, render_messages
from voicelab.providers.idle_cores import threads_for_bursts
from voicelab.providers.llama_prompt import (
    ChatTemplate,
    cached_prefix,
    reuse_batch_evaluated_only,
)
from voicelab.providers.local_config import LlamaConfig
from voicelab.providers.local_models import load_llama, model_lock, new_scoring_llama, set_threads
from voicelab.providers.tool_grammar import (
    ANSWER_ONLY_GRAMMAR,
    closed_call,
    compile_grammar,
    forced_call,
    grammar_text,
    ground_tools,
    parse_call,
    select_tools,
    tool_prompt,
)
from voicelab.providers.tool_router import ROUTER_N_CTX, ChannelToolRouter


def _plain_messages(
    messages: Sequence[Mapping[str, Any]], tools_text: str, config: LlamaConfig
) -> list[dict[str, str]]:
    """Chat messages as role/content text the model's chat template can render."""
    return render_messages(
        messages,
        tools_text,
        tool_result_style=config.tool_result_style,
        tool_result_instruction=config.tool_result_instruction,
    )


def _calls_since_user(messages: Sequence[Mapping[str, Any]]) -> int:
    count = 0
    for m in reversed(messages):
        if m.get("role") == "user":
            break
        count += len(m.get("tool_calls") or []) if m.get("role") == "assistant" else 0
    return count


@dataclass(frozen=True)
class _Plan:
    """What one request asks of the model: prompt tokens, the fixed opening of a call already
    in them, and the grammar of what is decoded."""

    tokens: list[int]
    prompt_tokens: int
    """Tokens of the rendered messages (the rest of ``tokens`` is the call's opening)."""
    opening: str
    grammar: Any
    logits_processor: Any = None
    sole_argument: bool = False
    """The opening holds a one-argument call up to its value (``ForcedCall.sole_argument``)."""


@dataclass(frozen=True)
class PrefillStats:
    """How one request's prompt met the model's KV cache."""

    prompt_tokens: int
    """Tokens of the whole prompt, a call's prefilled opening included."""
    cached_tokens: int
    """Leading tokens the context already held, reused instead of evaluated."""
    threads: int
    """Threads set for the request's prompt batches (``LlamaConfig.idle_prefill_threads``);
    llama.cpp evaluates a single remaining token on ``decode_threads``."""
    decode_threads: int
    """Threads the reply started decoding on (``LlamaConfig.idle_decode_threads``)."""


class LlamaChatEngine:
    """Serves chat-completion requests with one llama.cpp model, one request at a time."""

    def __init__(self, config: LlamaConfig | None = None) -> None:
        self.config = config or LlamaConfig()
        self._llm = load_llama(self.config)
        self._lock = model_lock(id(self._llm))
        self._template = ChatTemplate(self._llm, self.config.model_path)
        if self.config.answer_token_mask:
            forbidden_tokens(self._llm)  # scan the vocabulary now, not in a turn
        self._router = (
            ChannelToolRouter(
                lambda: new_scoring_llama(self.config, ROUTER_N_CTX),
                cache_descriptions=self.config.router_keeps_descriptions,
                set_prefill_threads=self._set_prefill_threads,
            )
            if self.config.route_tools_by_description
            else None
        )
        self.last_prefill: PrefillStats | None = None
        """The prompt of the latest request against the cache (for tests and profiles)."""
        self._prefill_threads = self.config.n_threads_batch
        """Threads for the current request's prompt batches, chosen as it starts."""
        self._decode_threads = self.config.n_threads
        """Threads the current request's reply starts decoding on, chosen as it starts."""

    def _set_prefill_threads(self, llm: Any) -> None:
        """Give ``llm``'s prompt batches the threads the current request chose."""
        set_threads(llm, self.config.n_threads, self._prefill_threads)

    @property
    def _idle_decode_threads(self) -> int:
        """``idle_decode_threads``, or ``n_threads`` where no text may use them."""
        if self.config.idle_decode_chars == 0:
            return self.config.n_threads
        return self.config.idle_decode_threads

    def _drop_decode_threads(self) -> None:
        """Decode the rest of the reply on ``n_threads`` (TTS is about to use a core)."""
        self._decode_threads = self.config.n_threads
        set_threads(self._llm, self.config.n_threads, self._prefill_threads)

    @property
    def model_name(self) -> str:
        """The name this engine answers to."""
        return self.config.served_name

    def stream(self, request: Mapping[str, Any]) -> Iterator[Chunk]:
        """Blocking: ``chat.completion.chunk`` dicts for a Chat Completions request body."""
        messages = request.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ModelError("request needs a non-empty 'messages' list")
        max_tokens = request.get("max_completion_tokens") or request.get("max_tokens")
        temperature = request.get("temperature")
        with self._lock:
            # the idle cores at the request's start: read once for the router, the prompt and
            # the reply's first tokens
            self._prefill_threads, self._decode_threads = threads_for_bursts(
                (self.config.idle_prefill_threads, self.config.n_threads_batch),
                (self._idle_decode_threads, self.config.n_threads),
            )
            plan = self._plan(messages, request)
            yield from self._generate(
                plan,
                int(max_tokens or self.config.max_tokens),
                self.config.temperature if temperature is None else float(temperature),
                bool((request.get("stream_options") or {}).get("include_usage", False)),
            )

    def _plan(self, messages: list[Any], request: Mapping[str, Any]) -> _Plan:
        tools = [t for t in request.get("tools") or [] if t.get("type") == "function"]
        tool_choice = request.get("tool_choice") or "auto"
        limit = self.config.max_tool_calls_per_turn
        answer_only = tool_choice == "none" or (
            limit is not None and _calls_since_user(messages) >= limit
        )
        usable = [] if answer_only or not tools else select_tools(tools, tool_choice)
        # A stable prefix lists the same tools in every phase (the grammar alone forbids a
        # call), so the answer's prompt extends the call's and its KV cache is reused.
        listed = tools if self.config.stable_prompt_prefix else usable
        plain = _plain_messages(messages, tool_prompt(listed) if listed else "", self.config)
        if usable and self.config.ground_tool_arguments:
            usable = ground_tools(usable, last_user_text(messages))
        if len(usable) > 1 and tool_choice != "auto" and self._router is not None:
            usable = [self._router.choose(usable, last_user_text(messages))]
        opening, grammar, processor, sole_argument = "", None, None, False
        prompt = self._template.tokens(plain)
        if usable and tool_choice != "auto" and self.config.prefill_call_opening:
            forced = forced_call(usable, self.config.prefill_argument_name)
            opening, grammar = forced.opening, compile_grammar(forced.grammar)
            sole_argument = forced.sole_argument
        elif usable:
            grammar = compile_grammar(grammar_text(usable, allow_answer=tool_choice == "auto"))
        elif request.get("tools") and self.config.answer_token_mask:
            processor = answer_only_processor(self._llm, len(prompt))  # the grammar's rule
        elif request.get("tools"):
            grammar = compile_grammar(ANSWER_ONLY_GRAMMAR)  # no call may slip out as text
        tokens = self._template.tokens(plain, opening) if opening else prompt
        return _Plan(tokens, len(prompt), opening, grammar, processor, sole_argument)

    async def astream(self, request: Mapping[str, Any]) -> AsyncIterator[Chunk]:
        """``stream`` run in a worker thread, its chunks yielded as they are generated."""
        async for chunk in iterate_in_thread(lambda: self.stream(request)):
            yield chunk

    def _generate(
        self, plan: _Plan, max_tokens: int, temperature: float, include_usage: bool
    ) -> Iterator[Chunk]:
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> Chunk:
            return completion_chunk(completion_id, created, self.model_name, delta, finish)

        if self.config.reuse_decoded_tokens:
            cached = cached_prefix(self._llm, plan.tokens)
        else:
            cached = reuse_batch_evaluated_only(self._llm, plan.tokens)
        set_threads(self._llm, self._decode_threads, self._prefill_threads)
        self.last_prefill = PrefillStats(
            len(plan.tokens), cached, self._prefill_threads, self._decode_threads
        )
        pieces = self._llm.create_completion(
            prompt=plan.tokens,
            grammar=plan.grammar,
            logits_processor=plan.logits_processor,
            max_tokens=max_tokens,
            temperature=temperature,
            seed=self.config.seed,
            stream=True,
        )
        yield chunk({"role": "assistant", "content": ""})
        try:
            generated = yield from self._reply(pieces, plan, chunk)
        finally:
            pieces.close()  # left early (a closed call, a gone consumer): end llama.cpp's part
        if generated is None:
            return
        if include_usage:
            completion_tokens = len(plan.tokens) - plan.prompt_tokens + generated
            yield {
                **chunk({}),
                "choices": [],
                "usage": {
                    "prompt_tokens": plan.prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": plan.prompt_tokens + completion_tokens,
                    "prompt_tokens_details": {"cached_tokens": min(cached, plan.prompt_tokens)},
                },
            }

    def _reply(
        self, pieces: Iterator[Any], plan: _Plan, chunk: Callable[..., Chunk]
    ) -> Generator[Chunk, None, int | None]:
        """The reply's chunks: text as it is decoded, or one whole call; returns the number of
        decoded tokens, or None when the consumer left."""
        text = plan.opening
        decoded = 0
        finish = "stop"
        is_call = bool(plan.opening)
        for piece in pieces:
            if consumer_gone():  # nobody reads on: stop generating (a call yields only at its end)
                return None
            choice = piece["choices"][0]
            if choice.get("finish_reason"):
                finish = choice["finish_reason"]
            if not choice.get("text"):
                continue
            decoded += 1
            is_call = is_call or (not text and choice["text"].startswith("<"))
            text += choice["text"]
            if not is_call:
                yield chunk({"content": choice["text"]})
                idle = self._decode_threads != self.config.n_threads
                if idle and len(text) >= self.config.idle_decode_chars:
                    self._drop_decode_threads()
            elif (
                self.config.prefill_call_opening
                and closed_call(text, plan.sole_argument) is not None
            ):
                break  # the rest of the call is fixed text: decoding it adds nothing
        if is_call:
            name, arguments = parse_call(closed_call(text, plan.sole_argument) or text)
            call = {
                "index": 0,
                "id": f"call_{uuid.uuid4().hex[:24]}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
            yield chunk({"tool_calls": [call]})
            finish = "tool_calls"
        yield chunk({}, finish)
        return decoded

    def complete(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Blocking: a whole ``chat.completion`` for a non-streamed request."""
        return fold_chunks(self.stream(_with_usage(request)))

    async def acomplete(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """``complete`` in a worker thread that stops when this coroutine is cancelled."""
        return fold_chunks([chunk async for chunk in self.astream(_with_usage(request))])


def _with_usage(request: Mapping[str, Any]) -> dict[str, Any]:
    """A request that reports its usage: a whole completion always has it, as the API's does."""
    return {**request, "stream_options": {"include_usage": True}}
