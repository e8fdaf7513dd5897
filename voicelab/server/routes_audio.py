"""``/v1/audio/transcriptions`` (faster-whisper) and ``/v1/audio/speech`` (piper)."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from voicelab._sse import sse
from voicelab.audio import decode_audio_bytes
from voicelab.audio_formats import PCM_MEDIA_TYPE, PCM_RATE_HZ, PCM_SAMPLE_BYTES
from voicelab.errors import ServerRequestError
from voicelab.server.bodies import form_body, json_body
from voicelab.server.catalog import STT_MODELS, TTS_MODELS, check_model
from voicelab.server.endpoint import stream_response, unless_client_leaves
from voicelab.server.faults import FaultPlan
from voicelab.server.state import ServerState
from voicelab.server.validation import field
from voicelab.speech_check import MIN_SPEECH_CLIP_S

MAX_SPEECH_INPUT_CHARS = 4096  # OpenAI's limit for /audio/speech input
_TRANSCRIPT_FORMATS = ("json", "text", "verbose_json")
_SPEECH_FORMATS = ("pcm", "wav")


async def transcriptions(request: Request, state: ServerState, plan: FaultPlan) -> Response:
    """Transcribe an uploaded audio file."""
    form = await form_body(request, state.config)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ServerRequestError(
                400, "missing 'file' (the audio to transcribe)", "missing_file", "file"
            )
        check_model(form.get("model"), STT_MODELS, "transcription")
        response_format = str(form.get("response_format") or "json")
        if response_format not in _TRANSCRIPT_FORMATS:
            raise ServerRequestError(
                400,
                f"response_format must be one of {_TRANSCRIPT_FORMATS}",
                "invalid_value",
                "response_format",
            )
        clip = decode_audio_bytes(await upload.read(), source=upload.filename or "upload")
    finally:
        await form.close()
    if clip.duration_s < MIN_SPEECH_CLIP_S:
        raise ServerRequestError(
            400,
            f"Audio file is too short. Minimum audio length is {MIN_SPEECH_CLIP_S:g} seconds.",
            "audio_too_short",
            "file",
        )
    text = await unless_client_leaves(request, state.stt.atranscribe_clip(clip))
    usage = {"type": "duration", "seconds": round(clip.duration_s, 3)}
    if str(form.get("stream") or "false").lower() == "true":
        events = _transcript_events(text, usage)
        return await stream_response(request, events, plan, "text/event-stream")
    if response_format == "text":
        return PlainTextResponse(text + "\n")
    if response_format == "verbose_json":
        segment = {"id": 0, "start": 0.0, "end": round(clip.duration_s, 3), "text": text}
        return JSONResponse(
            {"task": "transcribe", "language": "english", "duration": clip.duration_s,
             "text": text, "segments": [segment], "usage": usage}
        )  # fmt: skip
    return JSONResponse({"text": text, "usage": usage})


async def _transcript_events(text: str, usage: dict[str, object]) -> AsyncIterator[bytes]:
    for word_index, word in enumerate(text.split(" ")):
        delta = word if word_index == 0 else f" {word}"
        yield sse({"type": "transcript.text.delta", "delta": delta})
    yield sse({"type": "transcript.text.done", "text": text, "usage": usage})


async def speech(request: Request, state: ServerState, plan: FaultPlan) -> Response:
    """Synthesise speech, streaming audio as each sentence is ready."""
    body = await json_body(request, state.config)
    check_model(body.get("model"), TTS_MODELS, "speech")
    text = field(body, "input", str)
    if not text or not text.strip():
        raise ServerRequestError(400, "'input' must be non-empty text", "invalid_value", "input")
    if len(text) > MAX_SPEECH_INPUT_CHARS:
        raise ServerRequestError(
            400,
            f"'input' is longer than {MAX_SPEECH_INPUT_CHARS} characters",
            "invalid_value",
            "input",
        )
    field(body, "voice", (str, dict))
    speed = field(body, "speed", (int, float), 1.0)
    if not 0.25 <= speed <= 4.0:
        raise ServerRequestError(
            400, "'speed' must be between 0.25 and 4.0", "invalid_value", "speed"
        )
    response_format = field(body, "response_format", str, "mp3")
    if response_format not in _SPEECH_FORMATS:
        raise ServerRequestError(
            400,
            f"response_format {response_format!r} is not served locally; "
            f"use one of {_SPEECH_FORMATS}",
            "unsupported_format",
            "response_format",
        )
    pcm = state.tts.astream_pcm16(text)
    chunks = _with_wav_header(pcm) if response_format == "wav" else pcm
    media = "audio/wav" if response_format == "wav" else PCM_MEDIA_TYPE
    return await stream_response(request, chunks, plan, media)


def streaming_wav_header(rate_hz: int = PCM_RATE_HZ) -> bytes:
    """A 16-bit mono WAV header whose sizes say 'unknown length', as streamed WAV needs."""
    unknown = 0xFFFFFFFF
    frame = PCM_SAMPLE_BYTES  # one mono sample a frame
    return (
        b"RIFF" + struct.pack("<I", unknown) + b"WAVE"
        + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate_hz, rate_hz * frame, frame, 16)
        + b"data" + struct.pack("<I", unknown)
    )  # fmt: skip


async def _with_wav_header(pcm: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield streaming_wav_header()
    async for chunk in pcm:
        yield chunk
