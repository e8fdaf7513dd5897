"""Chat Completions chunks as dicts: building one, and folding a stream into a whole completion.

Every chat engine (llama.cpp, the synthetic one) streams these chunks; the non-streamed answer is
always the fold of that stream, so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Chunk = dict[str, Any]


def completion_chunk(
    completion_id: str,
    created: int,
    model: str,
    delta: dict[str, Any],
    finish: str | None = None,
) -> Chunk:
    """One ``chat.completion.chunk`` with a single choice."""
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def fold_chunks(chunks: Iterable[Chunk]) -> dict[str, Any]:
    """A whole ``chat.completion`` from the chunks of its stream."""
    content, finish, usage, first = "", "stop", None, None
    calls: list[dict[str, Any]] = []
    for c in chunks:
        first = first or c
        if c.get("usage"):
            usage = c["usage"]
        for choice in c["choices"]:
            content += choice["delta"].get("content") or ""
            calls.extend(choice["delta"].get("tool_calls") or [])
            finish = choice.get("finish_reason") or finish
    if first is None:
        raise ValueError("a chat stream produced no chunk")
    message: dict[str, Any] = {"role": "assistant", "content": content or None}
    if calls:
        message["tool_calls"] = [{k: v for k, v in c.items() if k != "index"} for c in calls]
    return {
        "id": first["id"],
        "object": "chat.completion",
        "created": first["created"],
        "model": first["model"],
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": usage,
    }
