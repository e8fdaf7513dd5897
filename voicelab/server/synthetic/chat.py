"""A chat engine that answers at once: a call of the offered tool, then a fixed answer."""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

from voicelab.providers.chat_chunks import Chunk, completion_chunk, fold_chunks
from voicelab.server.synthetic.arguments import example_arguments

SYNTHETIC_ANSWER = "Your order is on its way and will arrive soon."
"""The text of every answer that is not a tool call."""
CHARS_PER_TOKEN = 4  # the usual rule of thumb for English text with BPE tokenizers


def estimated_tokens(text: str) -> int:
    """Tokens in ``text``, estimated from its length (no tokenizer is loaded)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def _function_tools(request: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    tools = request.get("tools") or []
    return [
        t["function"]
        for t in tools
        if isinstance(t, Mapping) and t.get("type") == "function"
        and isinstance(t.get("function"), Mapping)
    ]  # fmt: skip


def chosen_tool(request: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The function to call: the named one, else the first offered, unless ``tool_choice`` is
    ``none`` or the last message is a tool result (the answer then uses it, so a turn ends)."""
    messages = request.get("messages") or []
    if messages and isinstance(messages[-1], Mapping) and messages[-1].get("role") == "tool":
        return None
    tools = _function_tools(request)
    choice = request.get("tool_choice") or "auto"
    if not tools or choice == "none":
        return None
    if isinstance(choice, Mapping):
        wanted = (choice.get("function") or {}).get("name")
        return next((t for t in tools if t.get("name") == wanted), None)
    return tools[0]


def _prompt_text(request: Mapping[str, Any]) -> str:
    """What the prompt holds: message texts, earlier calls and the tool definitions."""
    parts: list[str] = []
    for message in request.get("messages") or []:
        if not isinstance(message, Mapping):
            continue
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, Sequence):
            parts.extend(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
        for call in message.get("tool_calls") or []:
            parts.append(json.dumps(call.get("function") if isinstance(call, Mapping) else call))
    if request.get("tools"):
        parts.append(json.dumps(request["tools"]))
    return "\n".join(parts)


class SyntheticChatEngine:
    """Serves Chat Completions requests instantly with valid content.

    Offered tools (and a ``tool_choice`` that allows them) get a call of the first allowed tool,
    with arguments valid for its JSON schema; a request whose last message is a tool result, or
    that offers no tools, gets ``SYNTHETIC_ANSWER``. Usage is estimated from text lengths
    (``CHARS_PER_TOKEN``), as no tokenizer is loaded.
    """

    model_name = "synthetic-llm"

    def stream(self, request: Mapping[str, Any]) -> Iterator[Chunk]:
        """The answer's chunks: role, content words or one tool call, finish, then usage."""
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> Chunk:
            return completion_chunk(completion_id, created, self.model_name, delta, finish)

        yield chunk({"role": "assistant", "content": ""})
        tool = chosen_tool(request)
        if tool is None:
            output = SYNTHETIC_ANSWER
            for index, word in enumerate(output.split(" ")):
                yield chunk({"content": word if index == 0 else f" {word}"})
            yield chunk({}, "stop")
        else:
            name = str(tool.get("name", ""))
            arguments = json.dumps(example_arguments(tool.get("parameters")))
            output = name + arguments
            call = {"index": 0, "id": f"call_{uuid.uuid4().hex[:24]}", "type": "function",
                    "function": {"name": name, "arguments": arguments}}  # fmt: skip
            yield chunk({"tool_calls": [call]})
            yield chunk({}, "tool_calls")
        if (request.get("stream_options") or {}).get("include_usage", False):
            prompt, completion = estimated_tokens(_prompt_text(request)), estimated_tokens(output)
            usage = {"prompt_tokens": prompt, "completion_tokens": completion,
                     "total_tokens": prompt + completion}  # fmt: skip
            yield {**chunk({}), "choices": [], "usage": usage}

    async def astream(self, request: Mapping[str, Any]) -> AsyncIterator[Chunk]:
        """``stream`` on the event loop: there is no model work to move off it."""
        for item in self.stream(request):
            yield item

    async def acomplete(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The whole ``chat.completion`` (usage always filled in, as the API does)."""
        return fold_chunks(self.stream({**request, "stream_options": {"include_usage": True}}))
