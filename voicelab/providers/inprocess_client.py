"""An ``AsyncOpenAI`` client whose Chat Completions requests are served in-process by llama.cpp.

The request still goes through the real ``openai`` client and the SDK's own
``OpenAIChatCompletionsModel`` (message conversion, tool-call parsing, usage); only the HTTP hop
is replaced by an httpx transport, which streams server-sent events as tokens are generated.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx2
from openai import AsyncOpenAI

from voicelab.errors import ModelError
from voicelab.providers.chat_sse import chat_completion_sse
from voicelab.providers.llama_chat import LlamaChatEngine

INPROCESS_BASE_URL = "http://voicelab.inprocess/v1"


class _SSEStream(httpx2.AsyncByteStream):
    """The response body, readable once like a socket's: the openai client drains a finished
    stream again, which must not start a second generation."""

    def __init__(self, engine: LlamaChatEngine, body: dict[str, object]) -> None:
        self._engine = engine
        self._body = body
        self._read = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._read:
            return
        self._read = True
        async for event in chat_completion_sse(self._engine, self._body):
            yield event


def _error(status: int, message: str, code: str) -> httpx2.Response:
    return httpx2.Response(
        status, json={"error": {"message": message, "type": "invalid_request_error", "code": code}}
    )


class LocalChatTransport(httpx2.AsyncBaseTransport):
    """Answers ``POST .../chat/completions`` with a local engine; anything else is a 404."""

    def __init__(self, engine: LlamaChatEngine) -> None:
        self._engine = engine

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method != "POST" or not request.url.path.endswith("/chat/completions"):
            return _error(404, f"{request.url.path} is not served in-process", "not_found")
        try:
            body = json.loads(await request.aread())
        except json.JSONDecodeError as e:
            return _error(400, f"request body is not JSON: {e.msg}", "invalid_json")
        if body.get("stream"):
            headers = {"content-type": "text/event-stream"}
            return httpx2.Response(200, headers=headers, stream=_SSEStream(self._engine, body))
        try:
            completion = await asyncio.to_thread(self._engine.complete, body)
        except ModelError as e:
            return _error(400, str(e), "model_error")
        return httpx2.Response(200, json=completion)


def inprocess_openai_client(engine: LlamaChatEngine) -> AsyncOpenAI:
    """An ``AsyncOpenAI`` client that reaches ``engine`` without a socket."""
    return AsyncOpenAI(
        api_key="inprocess-no-key",
        base_url=INPROCESS_BASE_URL,
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=LocalChatTransport(engine)),
    )
