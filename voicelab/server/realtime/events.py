"""Realtime API server events, ids, items and usage, shaped as the ``openai`` GA types expect.

Token usage is an estimate of what OpenAI would bill a speech-to-speech model for the same
turn: the local cascade reads and writes text, so text tokens are the LLM's real counts, while
audio tokens are derived from durations at the rates OpenAI documents for its realtime models
(about one input audio token per 100 ms, one output audio token per 50 ms).
"""

from __future__ import annotations

import uuid
from typing import Any

import pydantic

from voicelab.errors import ClientEventError

INPUT_AUDIO_TOKENS_PER_S = 10.0  # gpt-realtime bills heard audio at ~1 token per 100 ms
OUTPUT_AUDIO_TOKENS_PER_S = 20.0  # and spoken audio at ~1 token per 50 ms
_RATE_LIMIT_REQUESTS = 10_000  # the local server has no limits; these are placeholders
_RATE_LIMIT_TOKENS = 1_000_000

Event = dict[str, Any]


def new_id(prefix: str) -> str:
    """An OpenAI-style id: ``event_…``, ``item_…``, ``resp_…``, ``call_…``, ``sess_…``."""
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def error_event(error: ClientEventError) -> Event:
    """The ``error`` server event answering ``error`` (its own ``event_id`` is added when sent)."""
    return {
        "type": "error",
        "error": {
            "type": error.error_type,
            "code": error.code,
            "message": error.message,
            "param": error.param,
            "event_id": error.event_id,
        },
    }


def validation_error(
    error: pydantic.ValidationError, where: str, event_id: str | None
) -> ClientEventError:
    """The first problem pydantic found, as an error naming the field's path under ``where``."""
    first = error.errors()[0]
    # Pydantic names union members (class names, tagged unions) in paths; they are not fields.
    path = [
        str(p) for p in first["loc"] if not (isinstance(p, str) and (p[:1].isupper() or "[" in p))
    ]
    param = ".".join([where, *path]) if where else ".".join(path)
    if first["type"] == "missing":
        code = "missing_required_parameter"
    else:
        code = "invalid_type" if first["type"].endswith("_type") else "invalid_value"
    return ClientEventError(f"Invalid '{param}': {first['msg']}", code, param or None, event_id)


def user_audio_item(item_id: str) -> Event:
    """A committed user turn; its transcript is filled in once Whisper has run."""
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "role": "user",
        "status": "completed",
        "content": [{"type": "input_audio", "transcript": None}],
    }


def assistant_item(item_id: str) -> Event:
    """An assistant message as it opens; content is added when it completes."""
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "role": "assistant",
        "status": "in_progress",
        "content": [],
    }


def function_call_item(item_id: str, call_id: str, name: str) -> Event:
    """A function call as it opens (arguments stream in afterwards)."""
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "function_call",
        "status": "in_progress",
        "call_id": call_id,
        "name": name,
        "arguments": "",
    }


def response_object(
    response_id: str,
    settings: dict[str, Any],
    *,
    status: str = "in_progress",
    output: list[Event] | None = None,
    status_details: dict[str, Any] | None = None,
    usage: dict[str, Any] | None = None,
) -> Event:
    """A ``realtime.response``; ``settings`` holds its modalities, audio and token cap."""
    return {
        "id": response_id,
        "object": "realtime.response",
        "status": status,
        "status_details": status_details,
        "output": output or [],
        "conversation_id": settings.get("conversation_id"),
        "output_modalities": settings["output_modalities"],
        "max_output_tokens": settings["max_output_tokens"],
        "audio": {"output": settings["audio_output"]},
        "metadata": settings.get("metadata"),
        "usage": usage,
    }


def response_usage(
    input_text_tokens: int, output_text_tokens: int, input_audio_s: float, output_audio_s: float
) -> dict[str, Any]:
    """Realtime usage: real text token counts plus audio tokens estimated from durations."""
    input_audio = round(input_audio_s * INPUT_AUDIO_TOKENS_PER_S)
    output_audio = round(output_audio_s * OUTPUT_AUDIO_TOKENS_PER_S)
    input_tokens = input_text_tokens + input_audio
    output_tokens = output_text_tokens + output_audio
    return {
        "total_tokens": input_tokens + output_tokens,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "input_token_details": {
            "text_tokens": input_text_tokens,
            "audio_tokens": input_audio,
            "cached_tokens": 0,
            "image_tokens": 0,
            "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0},
        },
        "output_token_details": {"text_tokens": output_text_tokens, "audio_tokens": output_audio},
    }


def rate_limits_event(tokens_used: int) -> Event:
    """``rate_limits.updated``: the local server is unlimited, so the numbers are nominal."""
    return {
        "type": "rate_limits.updated",
        "rate_limits": [
            {
                "name": "requests",
                "limit": _RATE_LIMIT_REQUESTS,
                "remaining": _RATE_LIMIT_REQUESTS - 1,
                "reset_seconds": 0.0,
            },
            {
                "name": "tokens",
                "limit": _RATE_LIMIT_TOKENS,
                "remaining": max(0, _RATE_LIMIT_TOKENS - tokens_used),
                "reset_seconds": 0.0,
            },
        ],
    }
