"""An OpenAI Chat Completions engine over llama.cpp: request body in, chunk dicts out.

It is shared by the in-process client of the embedded default and by ``voicelab serve``, so the
agent's model is driven through the SDK's own ``OpenAIChatCompletionsModel`` in both.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

from voicelab._async import consumer_gone, iterate_in_thread
from voicelab.errors import ModelError
from voicelab.providers.chat_chunks import Chunk, completion_chunk, fold_chunks
from voicelab.providers.chat_render import last_user_text, render_messages
from voicelab.providers.local_config import LlamaConfig
from voicelab.providers.local_models import load_llama, model_lock
from voicelab.providers.tool_grammar import (
    ANSWER_ONLY_GRAMMAR,
    compile_grammar,
    grammar_text,
    ground_tools,
    parse_call,
    select_tools,
    tool_prompt,
)


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


class LlamaChatEngine:
    """Serves chat-completion requests with one llama.cpp model, one request at a time."""

    def __init__(self, config: LlamaConfig | None = None) -> None:
        self.config = config or LlamaConfig()
        self._llm = load_llama(self.config)
        self._lock = model_lock(id(self._llm))

    @property
    def model_name(self) -> str:
        """The name this engine answers to."""
        return self.config.served_name

    def stream(self, request: Mapping[str, Any]) -> Iterator[Chunk]:
        """Blocking: ``chat.completion.chunk`` dicts for a Chat Completions request body."""
        messages = request.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ModelError("request needs a non-empty 'messages' list")
        declared = [t for t in request.get("tools") or [] if t.get("type") == "function"]
        tools = declared
        tool_choice = request.get("tool_choice") or "auto"
        limit = self.config.max_tool_calls_per_turn
        if tool_choice == "none" or (limit is not None and _calls_since_user(messages) >= limit):
            tools = []
        usable = select_tools(tools, tool_choice) if tools else []
        if usable and self.config.ground_tool_arguments:
            usable = ground_tools(usable, last_user_text(messages))
        if usable:
            grammar = compile_grammar(grammar_text(usable, allow_answer=tool_choice == "auto"))
        elif request.get("tools"):
            grammar = compile_grammar(ANSWER_ONLY_GRAMMAR)  # no call may slip out as text
        else:
            grammar = None
        max_tokens = request.get("max_completion_tokens") or request.get("max_tokens")
        temperature = request.get("temperature")
        with self._lock:
            yield from self._generate(
                _plain_messages(messages, tool_prompt(declared) if declared else "", self.config),
                grammar,
                int(max_tokens or self.config.max_tokens),
                self.config.temperature if temperature is None else float(temperature),
                bool((request.get("stream_options") or {}).get("include_usage", False)),
            )

    async def astream(self, request: Mapping[str, Any]) -> AsyncIterator[Chunk]:
        """``stream`` run in a worker thread, its chunks yielded as they are generated."""
        async for chunk in iterate_in_thread(lambda: self.stream(request)):
            yield chunk

    def _generate(
        self,
        messages: list[dict[str, str]],
        grammar: Any,
        max_tokens: int,
        temperature: float,
        include_usage: bool,
    ) -> Iterator[Chunk]:
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> Chunk:
            return completion_chunk(completion_id, created, self.model_name, delta, finish)

        pieces = self._llm.create_chat_completion(
            messages=messages,
            grammar=grammar,
            max_tokens=max_tokens,
            temperature=temperature,
            seed=self.config.seed,
            stream=True,
        )
        yield chunk({"role": "assistant", "content": ""})
        generated: list[str] = []
        completion_tokens = 0
        finish = "stop"
        is_call = False
        for piece in pieces:
            if consumer_gone():  # nobody reads on: stop generating (a call yields only at its end)
                return
            choice = piece["choices"][0]
            text = choice["delta"].get("content") or ""
            if choice.get("finish_reason"):
                finish = choice["finish_reason"]
            if not text:
                continue
            completion_tokens += 1
            if not generated and text.startswith("<"):
                is_call = True
            generated.append(text)
            if not is_call:
                yield chunk({"content": text})
        if is_call:
            name, arguments = parse_call("".join(generated))
            call = {
                "index": 0,
                "id": f"call_{uuid.uuid4().hex[:24]}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
            yield chunk({"tool_calls": [call]})
            finish = "tool_calls"
        yield chunk({}, finish)
        if include_usage:
            prompt_tokens = max(0, int(self._llm.n_tokens) - completion_tokens)
            yield {
                **chunk({}),
                "choices": [],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }

    def complete(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Blocking: a whole ``chat.completion`` for a non-streamed request."""
        return fold_chunks(self.stream(request))

    async def acomplete(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """``complete`` in a worker thread that stops when this coroutine is cancelled."""
        return fold_chunks([chunk async for chunk in self.astream(request)])
