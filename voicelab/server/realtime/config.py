"""Realtime session configuration: defaults, ``session.update`` merging and checking.

The session is kept as the JSON object sent in ``session.created``/``.updated``. Updates are
checked against the ``openai`` GA types (so a wrong type is reported with its path), older beta
field names are mapped onto the GA layout, and nested objects merge as OpenAI's server does;
the merged session's values are then checked against their ranges (``limits.py``).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from typing import Any, Literal

import pydantic
from openai.types.realtime import (
    RealtimeSessionCreateRequest,
    RealtimeTranscriptionSessionCreateRequest,
)

from voicelab.audio_formats import PCM_MEDIA_TYPE, PCM_RATE_HZ, realtime_pcm_format
from voicelab.errors import ClientEventError, ConfigError
from voicelab.server.catalog import REALTIME_MODELS, STT_MODELS
from voicelab.server.realtime.events import new_id, validation_error
from voicelab.server.realtime.limits import check_session_limits
from voicelab.server.tool_shapes import unserved_tool
from voicelab.vad import VadConfig

SessionKind = Literal["realtime", "transcription"]
DEFAULT_INSTRUCTIONS = (
    "You are a helpful voice assistant. Answer in one or two short spoken sentences."
)
DEFAULT_VOICE = "alloy"
DEFAULT_TRANSCRIPTION_MODEL = "gpt-4o-transcribe"
_SESSION_TTL_S = 30 * 60  # OpenAI's realtime sessions expire after 30 minutes
_BETA_FORMATS = {"pcm16": realtime_pcm_format(), "g711_ulaw": {"type": "audio/pcmu"},
                 "g711_alaw": {"type": "audio/pcma"}}  # fmt: skip


def server_vad_defaults(kind: SessionKind) -> dict[str, Any]:
    """OpenAI's default ``server_vad`` turn detection."""
    vad = VadConfig()
    defaults: dict[str, Any] = {
        "type": "server_vad",
        "threshold": vad.threshold,
        "prefix_padding_ms": vad.prefix_padding_ms,
        "silence_duration_ms": vad.silence_duration_ms,
    }
    if kind == "realtime":
        defaults |= {"create_response": True, "interrupt_response": True, "idle_timeout_ms": None}
    return defaults


def default_session(
    kind: SessionKind, model: str | None, backend: dict[str, str]
) -> dict[str, Any]:
    """The session a new connection starts with; ``backend`` names the local models."""
    audio_input: dict[str, Any] = {
        "format": realtime_pcm_format(),
        "noise_reduction": None,
        "transcription": {"model": DEFAULT_TRANSCRIPTION_MODEL}
        if kind == "transcription"
        else None,
        "turn_detection": server_vad_defaults(kind),
    }
    common = {
        "id": new_id("sess"),
        "expires_at": int(time.time()) + _SESSION_TTL_S,
        "include": None,
        "voicelab": {"backend": "local-cascade", **backend},
    }
    if kind == "transcription":
        return {
            "type": "transcription",
            "object": "realtime.transcription_session",
            "audio": {"input": audio_input},
            **common,
        }
    return {
        "type": "realtime",
        "object": "realtime.session",
        "model": model,
        "output_modalities": ["audio"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "audio": {
            "input": audio_input,
            "output": {"format": realtime_pcm_format(), "voice": DEFAULT_VOICE, "speed": 1.0},
        },
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        **common,
    }


def apply_update(session: dict[str, Any], update: Any, event_id: str | None) -> dict[str, Any]:
    """``session`` with a ``session.update`` payload merged in, or a ``ClientEventError``."""
    if not isinstance(update, Mapping):
        raise ClientEventError("'session' must be an object", "invalid_type", "session", event_id)
    kind: SessionKind = session["type"]
    update = from_beta(dict(update))
    update.setdefault("type", kind)
    if update["type"] != kind:
        raise ClientEventError(
            f"this is a {kind} session; its type cannot change to {update['type']!r}",
            "invalid_value", "session.type", event_id,
        )  # fmt: skip
    model = RealtimeSessionCreateRequest if kind == "realtime" else (
        RealtimeTranscriptionSessionCreateRequest
    )  # fmt: skip
    check_model_payload(model, update, "session", event_id)
    _check_served(update, event_id)
    merged = copy.deepcopy(session)
    for key, value in update.items():
        if key in ("id", "object", "voicelab", "expires_at"):
            continue
        merged[key] = _merge(merged.get(key), value, kind)
    check_session_limits(merged, event_id)
    detection = turn_detection(merged)
    if detection is not None:
        try:
            vad_config(detection)
        except ConfigError as e:
            raise ClientEventError(
                str(e), "invalid_value", "session.audio.input.turn_detection", event_id
            ) from e
    return merged


def check_model_payload(
    model: type[pydantic.BaseModel], payload: Any, where: str, event_id: str | None
) -> None:
    """Validate ``payload`` against an ``openai`` type; the first problem becomes the error."""
    try:
        model.model_validate(payload)
    except pydantic.ValidationError as e:
        raise validation_error(e, where, event_id) from e


def from_beta(session: dict[str, Any]) -> dict[str, Any]:
    """Map the beta protocol's flat session fields onto the GA layout."""
    audio = session.setdefault("audio", {}) if isinstance(session.get("audio", {}), dict) else {}
    moves = {
        "input_audio_format": ("input", "format"),
        "output_audio_format": ("output", "format"),
        "input_audio_transcription": ("input", "transcription"),
        "turn_detection": ("input", "turn_detection"),
        "input_audio_noise_reduction": ("input", "noise_reduction"),
        "voice": ("output", "voice"),
    }
    for old, (side, key) in moves.items():
        if old in session:
            value = session.pop(old)
            if key == "format" and isinstance(value, str):
                value = _BETA_FORMATS.get(value, {"type": value})
            if not isinstance(audio.get(side), dict):
                audio[side] = {}
            audio[side][key] = value
    if not audio:
        session.pop("audio", None)
    if "modalities" in session:
        modalities = session.pop("modalities")
        if isinstance(modalities, list):
            session["output_modalities"] = ["audio"] if "audio" in modalities else ["text"]
    if "max_response_output_tokens" in session:
        session["max_output_tokens"] = session.pop("max_response_output_tokens")
    return session


def _require_served(
    name: Any, served: frozenset[str], what: str, param: str, event_id: str | None
) -> None:
    if name is not None and name not in served:
        raise ClientEventError(
            f"The {what} `{name}` is not served by this local server "
            f"(served: {', '.join(sorted(served))}).",
            "model_not_found", param, event_id,
        )  # fmt: skip


def _check_served(update: Mapping[str, Any], event_id: str | None) -> None:
    """Refuse what the local cascade cannot do, naming the field."""
    _require_served(update.get("model"), REALTIME_MODELS, "model", "session.model", event_id)
    audio = update.get("audio") or {}
    for side in ("input", "output"):
        fmt = (audio.get(side) or {}).get("format")
        if isinstance(fmt, Mapping) and fmt.get("type", PCM_MEDIA_TYPE) != PCM_MEDIA_TYPE:
            raise ClientEventError(
                f"audio format {fmt.get('type')!r} is not served locally; "
                f"use {PCM_MEDIA_TYPE} at {PCM_RATE_HZ // 1000} kHz",
                "invalid_value", f"session.audio.{side}.format.type", event_id,
            )  # fmt: skip
    transcription = (audio.get("input") or {}).get("transcription") or {}
    _require_served(
        transcription.get("model"), STT_MODELS, "transcription model",
        "session.audio.input.transcription.model", event_id,
    )  # fmt: skip
    check_tools(update.get("tools"), "session.tools", event_id)


def check_tools(tools: Any, param: str, event_id: str | None) -> None:
    """Only named function tools can be served by the local chat model."""
    index = unserved_tool(tools or [])
    if index is not None:
        raise ClientEventError(
            "only named function tools are served locally",
            "invalid_value", f"{param}[{index}]", event_id,
        )  # fmt: skip


def _merge(current: Any, value: Any, kind: SessionKind, key: str = "") -> Any:
    """Objects merge key by key; a new turn-detection type starts from that type's defaults."""
    if not isinstance(value, Mapping) or not isinstance(current, Mapping):
        if key == "turn_detection" and isinstance(value, Mapping):
            return _merge(_turn_detection_defaults(value, kind), value, kind)
        return copy.deepcopy(value)
    if key == "turn_detection" and value.get("type", current.get("type")) != current.get("type"):
        current = _turn_detection_defaults(value, kind)
    merged = dict(current)
    for k, v in value.items():
        merged[k] = _merge(current.get(k), v, kind, k)
    return merged


def _turn_detection_defaults(value: Mapping[str, Any], kind: SessionKind) -> dict[str, Any]:
    if value.get("type") == "semantic_vad":
        defaults: dict[str, Any] = {"type": "semantic_vad", "eagerness": "auto"}
        if kind == "realtime":
            defaults |= {"create_response": True, "interrupt_response": True}
        return defaults
    return server_vad_defaults(kind)


def turn_detection(session: Mapping[str, Any]) -> dict[str, Any] | None:
    """The session's turn detection, or None when the client commits turns itself."""
    detection = ((session.get("audio") or {}).get("input") or {}).get("turn_detection")
    return detection if isinstance(detection, dict) else None


def vad_config(detection: Mapping[str, Any]) -> VadConfig:
    """The VAD parameters of ``server_vad``; ``semantic_vad`` is served as default server VAD."""
    if detection.get("type") != "server_vad":
        return VadConfig()
    defaults = VadConfig()
    return VadConfig(
        threshold=float(detection.get("threshold") or defaults.threshold),
        prefix_padding_ms=int(detection.get("prefix_padding_ms") or defaults.prefix_padding_ms),
        silence_duration_ms=int(
            detection.get("silence_duration_ms") or defaults.silence_duration_ms
        ),
    )


def transcription_enabled(session: Mapping[str, Any]) -> bool:
    """Whether committed audio gets ``input_audio_transcription.completed`` events."""
    if session["type"] == "transcription":
        return True
    return bool(((session.get("audio") or {}).get("input") or {}).get("transcription"))
