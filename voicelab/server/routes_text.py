"""``/v1/chat/completions`` and ``/v1/responses``, both served by the llama.cpp chat engine.

The Responses route converts its input with the Agents SDK's own converters (Responses items
to chat messages, chat chunks to Responses stream events), so its events have exactly the
shapes the SDK and the ``openai`` client parse.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from agents.models.chatcmpl_converter import Converter
from agents.models.chatcmpl_stream_handler import ChatCmplStreamHandler
from agents.models.fake_id import FAKE_RESPONSES_ID
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import Response as ResponsesResponse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from voicelab._sse import sse
from voicelab.errors import ServerRequestError
from voicelab.providers.chat_sse import chat_completion_sse
from voicelab.server.bodies import json_body
from voicelab.server.endpoint import prefetched, stream_response, unless_client_leaves
from voicelab.server.faults import FaultPlan
from voicelab.server.state import ServerState
from voicelab.server.tool_shapes import chat_tool_choice, chat_tools
from voicelab.server.validation import (
    check_messages,
    field,
    validate_chat_request,
    validate_responses_request,
)


async def chat_completions(request: Request, state: ServerState, plan: FaultPlan) -> Response:
    """OpenAI Chat Completions, streamed (SSE) or whole."""
    body = await json_body(request, state.config)
    validate_chat_request(body)
    model = body["model"]
    if not body.get("stream"):
        completion = await unless_client_leaves(request, state.chat.acomplete(body))
        return JSONResponse({**completion, "model": model})
    events = chat_completion_sse(state.chat, body, model)
    return await stream_response(request, events, plan, "text/event-stream")


def _as_chat_request(body: dict[str, Any]) -> dict[str, Any]:
    """A Responses request body as the Chat Completions request the engine serves."""
    validate_responses_request(body)
    items = field(body, "input", (str, list))
    if not items:
        raise ServerRequestError(400, "'input' must be non-empty", "invalid_value", "input")
    try:
        messages: list[Any] = list(Converter.items_to_messages(items))
        check_messages(messages)
    except ServerRequestError as e:
        raise ServerRequestError(400, f"cannot read 'input': {e.message}", e.code, "input") from e
    except Exception as e:  # the SDK's converter names the malformed item
        raise ServerRequestError(400, f"cannot read 'input': {e}", "invalid_value", "input") from e
    instructions = field(body, "instructions", str)
    if instructions:
        messages.insert(0, {"role": "system", "content": instructions})
    return {
        "model": body["model"],
        "messages": messages,
        "tools": chat_tools(body.get("tools") or []),
        "tool_choice": chat_tool_choice(field(body, "tool_choice", (str, dict))),
        "temperature": field(body, "temperature", (int, float)),
        "max_tokens": field(body, "max_output_tokens", int),
        "stream_options": {"include_usage": True},
    }


def _public(value: Any, item_id: str) -> Any:
    """Drop the SDK's internal ``provider_data`` and give items a real id for its placeholder."""
    if isinstance(value, dict):
        return {k: _public(v, item_id) for k, v in value.items() if k != "provider_data"}
    if isinstance(value, list):
        return [_public(v, item_id) for v in value]
    return item_id if value == FAKE_RESPONSES_ID else value


async def _chunks(
    state: ServerState, request: dict[str, Any]
) -> AsyncIterator[ChatCompletionChunk]:
    async for chunk in state.chat.astream(request):
        yield ChatCompletionChunk.model_validate(chunk)


async def responses(request: Request, state: ServerState, plan: FaultPlan) -> Response:
    """OpenAI Responses, streamed (typed SSE events) or whole."""
    body = await json_body(request, state.config)
    chat_request = _as_chat_request(body)
    initial = ResponsesResponse(
        id=f"resp_{uuid.uuid4().hex}",
        created_at=time.time(),
        model=body["model"],
        object="response",
        output=[],
        tool_choice="auto",
        tools=[],
        parallel_tool_calls=False,
    )
    item_id = f"item_{uuid.uuid4().hex[:24]}"
    # the engine's first chunk before the SDK's first event: a request the engine refuses is
    # a 400, not a stream cut after its ``response.created``
    chunks = await unless_client_leaves(request, prefetched(_chunks(state, chat_request)))
    events = ChatCmplStreamHandler.handle_stream(initial, chunks)  # type: ignore[arg-type]
    if not field(body, "stream", bool, False):
        final = await unless_client_leaves(request, _final_response(events, item_id))
        return JSONResponse(final)

    async def encoded() -> AsyncIterator[bytes]:
        async for event in events:
            yield sse(
                _public(event.model_dump(mode="json", exclude_none=True), item_id), event.type
            )

    return await stream_response(request, encoded(), plan, "text/event-stream")


async def _final_response(events: AsyncIterator[Any], item_id: str) -> dict[str, Any]:
    """The ``response.completed`` event's response, once the stream of ``events`` ends."""
    final: dict[str, Any] | None = None
    async for event in events:
        if event.type == "response.completed":
            final = _public(event.response.model_dump(mode="json", exclude_none=True), item_id)
    if final is None:
        raise ServerRequestError(500, "the model produced no response", "no_response")
    return final
