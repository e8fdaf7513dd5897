"""Which model names the local server answers to, per kind; all are served by local models."""

from __future__ import annotations

from voicelab.errors import ServerRequestError

STT_MODELS = frozenset(
    {"whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-transcribe",
     "local/faster-whisper-tiny.en"}
)  # fmt: skip
TTS_MODELS = frozenset({"tts-1", "tts-1-hd", "gpt-4o-mini-tts", "local/piper-joe-medium"})
CHAT_MODELS = frozenset(
    {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-5", "gpt-5-mini",
     "gpt-5-nano", "local/smollm2-135m-instruct"}
)  # fmt: skip
REALTIME_MODELS = frozenset(
    {"gpt-realtime", "gpt-realtime-mini", "gpt-4o-realtime-preview",
     "gpt-4o-mini-realtime-preview", "local/realtime-cascade"}
)  # fmt: skip
ALL_MODELS = STT_MODELS | TTS_MODELS | CHAT_MODELS | REALTIME_MODELS


def check_model(name: object, allowed: frozenset[str], kind: str) -> str:
    """``name`` if this server serves it for ``kind``; a 404 ``model_not_found`` otherwise."""
    if not isinstance(name, str) or not name:
        raise ServerRequestError(
            400, "you must provide a model parameter", "missing_model", "model"
        )
    if name not in allowed:
        raise ServerRequestError(
            404,
            f"The model `{name}` does not exist for {kind} on this local server "
            f"(served: {', '.join(sorted(allowed))}).",
            "model_not_found",
            "model",
        )
    return name
