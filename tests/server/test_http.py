"""The HTTP endpoints through the real ``openai`` client, on real sockets."""

from __future__ import annotations

import json
import re
import select
import socket
import time
from pathlib import Path

import httpx2
import openai
import pytest
from openai import AsyncOpenAI

from voicelab.processing_time import PROCESSING_MS_HEADER
from voicelab.server.runner import LocalServer
from voicelab.server.state import ServerConfig

pytestmark = pytest.mark.slow

TOOL_PARAMETERS = {
    "type": "object",
    "properties": {"order_id": {"type": "string", "pattern": "^[0-9]{3}$"}},
    "required": ["order_id"],
    "additionalProperties": False,
}
CHAT_TOOL = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "description": "Look up an order",
        "parameters": TOOL_PARAMETERS,
    },
}


def _client(server: LocalServer, **kwargs: object) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=server.base_url, api_key="unused", max_retries=0, **kwargs)  # type: ignore[arg-type]


async def test_transcription_formats(server: LocalServer, shared_data: Path) -> None:
    client = _client(server)
    clip = shared_data / "ljspeech-sample" / "LJ001-0002.wav"
    result = await client.audio.transcriptions.create(
        model="gpt-4o-transcribe", file=clip.open("rb")
    )
    assert "comparatively modern" in result.text.lower()
    text = await client.audio.transcriptions.create(
        model="whisper-1", file=clip.open("rb"), response_format="text"
    )
    assert "comparatively modern" in str(text).lower()
    verbose = await client.audio.transcriptions.create(
        model="whisper-1", file=clip.open("rb"), response_format="verbose_json"
    )
    assert verbose.duration == pytest.approx(1.9, abs=0.1)
    stream = await client.audio.transcriptions.create(
        model="gpt-4o-transcribe", file=clip.open("rb"), stream=True
    )
    events = [event async for event in stream]
    assert events[-1].type == "transcript.text.done"
    assert (
        "".join(e.delta for e in events[:-1] if e.type == "transcript.text.delta")
        == events[-1].text
    )


async def test_speech_streams_pcm_and_wav(server: LocalServer) -> None:
    client = _client(server)
    chunks = []
    async with client.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", voice="alloy", input="Hello there. How can I help?",
        response_format="pcm",
    ) as response:  # fmt: skip
        async for chunk in response.iter_bytes():
            chunks.append(chunk)
    audio = b"".join(chunks)
    seconds = len(audio) / 2 / 24_000
    assert 0.8 < seconds < 6.0
    wav = await client.audio.speech.create(
        model="tts-1", voice="alloy", input="Hello.", response_format="wav"
    )
    header = wav.content[:44]
    assert header[:4] == b"RIFF" and header[8:12] == b"WAVE"
    assert int.from_bytes(header[24:28], "little") == 24_000


async def test_chat_completion_with_tool_call_and_usage(server: LocalServer) -> None:
    client = _client(server)
    completion = await client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Where is my order 452?"}],
        tools=[CHAT_TOOL],  # type: ignore[list-item]
        tool_choice="required",
    )
    call = completion.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "lookup_order"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments)["order_id"].isdigit()  # type: ignore[union-attr]
    assert completion.choices[0].finish_reason == "tool_calls"
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hello."}],
        stream=True, stream_options={"include_usage": True},
    )  # fmt: skip
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert chunks[0].model == "gpt-4o-mini"


async def test_responses_api_function_call_and_stream(server: LocalServer) -> None:
    client = _client(server)
    tool = {"type": "function", "name": "lookup_order", "description": "Look up an order",
            "parameters": TOOL_PARAMETERS, "strict": True}  # fmt: skip
    response = await client.responses.create(
        model="gpt-4o",
        input="Where is my order 452?",
        tools=[tool],
        tool_choice="required",  # type: ignore[list-item]
    )
    calls = [item for item in response.output if item.type == "function_call"]
    assert calls and calls[0].name == "lookup_order"
    assert response.usage is not None and response.usage.input_tokens > 0
    stream = await client.responses.create(model="gpt-4o", input="Say hello.", stream=True)
    types = [event.type async for event in stream]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    assert "response.output_text.delta" in types


CLIENT_KEEPALIVE_S = 5.0  # httpx's default idle expiry, which the openai client keeps


def _read_response(sock: socket.socket) -> bytes:
    """One whole HTTP/1.1 response with a Content-Length body."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_idle_connection_outlives_the_client_keepalive(server: LocalServer) -> None:
    """A client reusing a 5-second-idle connection must never meet a server closing it."""
    assert server.port is not None
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert _read_response(sock).startswith(b"HTTP/1.1 200")
        # wait on the socket itself: a server closing (or writing to) it makes it readable
        readable, _, _ = select.select([sock], [], [], CLIENT_KEEPALIVE_S + 1)
        assert not readable, "the server closed (or wrote to) an idle keep-alive connection"


INJECTED_MS = 400.0


@pytest.mark.parametrize("endpoint", ["models", "transcriptions", "speech", "chat", "responses"])
async def test_each_response_reports_processing_time_without_the_injected_delay(
    server: LocalServer, shared_data: Path, endpoint: str
) -> None:
    """``openai-processing-ms`` is the server's own time: inside the client's wall time, less
    the injected delay (a streamed body counts to its first chunk, sent with the headers)."""
    faults = {"X-Voicelab-Faults": json.dumps({"ttfb_ms": INJECTED_MS})}
    client = _client(server, default_headers=faults)
    clip = shared_data / "ljspeech-sample" / "LJ001-0002.wav"
    started = time.perf_counter()
    if endpoint == "models":
        headers = (await client.models.with_raw_response.list()).headers
    elif endpoint == "transcriptions":
        raw = await client.audio.transcriptions.with_raw_response.create(
            model="gpt-4o-transcribe", file=clip.open("rb")
        )
        headers = raw.headers
    elif endpoint == "speech":
        async with client.audio.speech.with_streaming_response.create(
            model="tts-1", voice="alloy", input="Hello there.", response_format="pcm"
        ) as streamed:
            headers = streamed.headers
    elif endpoint == "chat":
        raw_chat = await client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=[{"role": "user", "content": "Say hi."}], max_tokens=4
        )
        headers = raw_chat.headers
    else:
        raw_response = await client.responses.with_raw_response.create(
            model="gpt-4o", input="Say hi.", max_output_tokens=4
        )
        headers = raw_response.headers
    wall_s = time.perf_counter() - started
    processing_s = float(headers[PROCESSING_MS_HEADER]) / 1000
    assert 0 < processing_s <= wall_s - INJECTED_MS / 1000, (processing_s, wall_s)


async def test_injected_error_reports_processing_time(server: LocalServer) -> None:
    faults = {"X-Voicelab-Faults": json.dumps({"error_rate": 1.0, "error_status": 503})}
    async with httpx2.AsyncClient() as client:
        response = await client.get(f"{server.base_url}/models", headers=faults)
    assert response.status_code == 503
    assert float(response.headers[PROCESSING_MS_HEADER]) >= 0


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        ("chat_bad_type", openai.BadRequestError, "temperature"),
        ("chat_unknown_model", openai.NotFoundError, "does not exist"),
        ("transcribe_corrupt", openai.BadRequestError, "corrupt"),
        ("speech_empty", openai.BadRequestError, "non-empty"),
        ("speech_mp3", openai.BadRequestError, "not served locally"),
        ("responses_bad_input", openai.BadRequestError, "input"),
    ],
)
async def test_bad_requests_get_clear_4xx(
    server: LocalServer, call: str, error: type[Exception], message: str
) -> None:
    client = _client(server)
    requests = {
        "chat_bad_type": lambda: client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "hi"}],
            temperature="hot",  # type: ignore[arg-type]
        ),
        "chat_unknown_model": lambda: client.chat.completions.create(
            model="gpt-9", messages=[{"role": "user", "content": "hi"}]
        ),
        "transcribe_corrupt": lambda: client.audio.transcriptions.create(
            model="whisper-1", file=("x.wav", b"RIFF....WAVEgarbage")
        ),
        "speech_empty": lambda: client.audio.speech.create(model="tts-1", voice="alloy", input=" "),
        "speech_mp3": lambda: client.audio.speech.create(
            model="tts-1", voice="alloy", input="hi", response_format="mp3"
        ),
        "responses_bad_input": lambda: client.responses.create(model="gpt-4o", input=[]),
    }
    with pytest.raises(error, match=message):
        await requests[call]()


async def test_oversized_body_is_413(server: LocalServer) -> None:
    small = LocalServer(ServerConfig(port=0, max_body_bytes=10_000), state=None)
    with small:
        response = httpx2.post(
            f"{small.base_url}/chat/completions",
            content=b"{" + b" " * 20_000 + b"}",
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


async def test_api_key_required_and_never_logged(
    shared_data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = "sk-voicelab-test-0123456789abcdef"
    with LocalServer(ServerConfig(port=0, api_key=key)) as locked:
        for wrong in ("unused", key + "x"):
            with pytest.raises(openai.AuthenticationError):
                await AsyncOpenAI(base_url=locked.base_url, api_key=wrong).models.list()
        models = await AsyncOpenAI(base_url=locked.base_url, api_key=key).models.list()
        assert any(m.id == "gpt-4o" for m in models.data)
        assert key not in repr(locked.config)
    assert key not in caplog.text
