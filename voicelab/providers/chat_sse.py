"""A streamed Chat Completions response body from a chat engine, as the API sends it.

Used by the in-process client of the embedded default and by ``voicelab serve``, so both give
the ``openai`` client the same bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from voicelab._sse import SSE_DONE, sse
from voicelab.providers.engines import ChatEngine


async def chat_completion_sse(
    engine: ChatEngine, request: Mapping[str, Any], model: str | None = None
) -> AsyncIterator[bytes]:
    """One ``data:`` event a chunk, then ``[DONE]``; ``model``, if given, names the chunks'."""
    async for chunk in engine.astream(request):
        yield sse({**chunk, "model": model} if model else chunk)
    yield SSE_DONE
