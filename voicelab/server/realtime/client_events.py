"""Reading client events: JSON, types checked against ``openai``'s models, audio, items."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

import pydantic
from openai.types.realtime import (
    ConversationItemDeleteEvent,
    ConversationItemRetrieveEvent,
    ConversationItemTruncateEvent,
    InputAudioBufferAppendEvent,
    InputAudioBufferClearEvent,
    InputAudioBufferCommitEvent,
    ResponseCancelEvent,
)
from openai.types.realtime.conversation_item import ConversationItem

from voicelab.audio_formats import PCM_RATE_HZ, PCM_SAMPLE_BYTES
from voicelab.errors import ClientEventError
from voicelab.server.realtime.config import check_model_payload
from voicelab.server.realtime.events import Event, new_id, validation_error

_ITEM_ADAPTER: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(ConversationItem)
_CHECKED_EVENTS: dict[str, type[pydantic.BaseModel]] = {
    "input_audio_buffer.append": InputAudioBufferAppendEvent,
    "input_audio_buffer.commit": InputAudioBufferCommitEvent,
    "input_audio_buffer.clear": InputAudioBufferClearEvent,
    "conversation.item.retrieve": ConversationItemRetrieveEvent,
    "conversation.item.delete": ConversationItemDeleteEvent,
    "conversation.item.truncate": ConversationItemTruncateEvent,
    "response.cancel": ResponseCancelEvent,
}  # events whose payload is checked as is; the others are mapped from beta names first
_BETA_PART_TYPES = {"text": "output_text", "audio": "output_audio"}  # beta assistant parts
SERVED_ITEM_TYPES = ("message", "function_call", "function_call_output")


def parse_client_event(text: str | None, data: bytes | None) -> Event:
    """A client event object with a string ``type``, or the error that says why not."""
    try:
        raw = text if text is not None else (data or b"").decode("utf-8")
        event = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ClientEventError(f"The client event is not valid JSON: {e}", "invalid_json") from e
    if not isinstance(event, dict):
        raise ClientEventError("A client event must be a JSON object.", "invalid_json")
    if not isinstance(event.get("event_id"), str | None):
        raise ClientEventError("'event_id' must be a string.", "invalid_type", "event_id")
    if not isinstance(event.get("type"), str):
        raise ClientEventError(
            "A client event needs a string 'type'.", "missing_required_parameter", "type",
            event.get("event_id"),
        )  # fmt: skip
    return event


def check_event(event: Event, event_id: str | None) -> None:
    """Check the fields of events that have no beta variants against the GA types."""
    model = _CHECKED_EVENTS.get(event["type"])
    if model is not None:
        check_model_payload(model, event, "", event_id)


def decode_pcm16(audio: str, param: str, event_id: str | None) -> bytes:
    """Base64 PCM16 from a client, or the error naming ``param``."""
    try:
        pcm = base64.b64decode(audio, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ClientEventError(
            f"Invalid '{param}': expected base64-encoded PCM16 audio.",
            "invalid_value", param, event_id,
        ) from e  # fmt: skip
    if len(pcm) % 2:
        raise ClientEventError(
            f"Invalid '{param}': PCM16 audio must be whole 2-byte samples.",
            "invalid_value", param, event_id,
        )  # fmt: skip
    return pcm


def checked_item(value: Any, where: str, event_id: str | None) -> Event:
    """A conversation item from a client: checked, beta part names mapped, with an id."""
    if not isinstance(value, Mapping):
        raise ClientEventError(f"'{where}' must be an object", "invalid_type", where, event_id)
    item: Event = dict(value)
    if item.get("role") == "assistant" and isinstance(item.get("content"), list):
        item["content"] = [
            {**part, "type": _BETA_PART_TYPES.get(str(part.get("type")), part.get("type"))}
            if isinstance(part, Mapping) else part
            for part in item["content"]
        ]  # fmt: skip
    try:
        _ITEM_ADAPTER.validate_python(item)
    except pydantic.ValidationError as e:
        raise validation_error(e, where, event_id) from e
    if item["type"] not in SERVED_ITEM_TYPES:
        raise ClientEventError(
            f"items of type {item['type']!r} are not served locally", "invalid_value",
            f"{where}.type", event_id,
        )  # fmt: skip
    item.setdefault("id", new_id("item"))
    item.setdefault("status", "completed")
    item["object"] = "realtime.item"
    return item


def commit_empty_error(duration_ms: float, event_id: str | None) -> ClientEventError:
    """OpenAI's answer to committing less than 100 ms (the SDK's STT expects this code)."""
    return ClientEventError(
        f"Error committing input audio buffer: buffer too small. Expected at least 100ms of "
        f"audio, but buffer only has {duration_ms:.2f}ms of audio.",
        "input_audio_buffer_commit_empty", None, event_id,
    )  # fmt: skip


def buffer_full_error(n_bytes: int, max_bytes: int, event_id: str | None) -> ClientEventError:
    """An append refused whole: the uncommitted audio would pass the server's cap."""
    minutes = max_bytes / (PCM_SAMPLE_BYTES * PCM_RATE_HZ * 60)
    return ClientEventError(
        f"Error appending to the input audio buffer: {n_bytes} more bytes would take the "
        f"uncommitted audio past this server's cap of {max_bytes} bytes ({minutes:.1f} minutes "
        "of 24 kHz PCM16). Commit or clear the buffer first, or raise "
        "ServerConfig.max_input_buffer_bytes.",
        "input_audio_buffer_full", "audio", event_id,
    )  # fmt: skip
