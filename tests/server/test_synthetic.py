"""``voicelab serve --backend synthetic``: every endpoint answers valid content at once, with
faults as on the local backend, and names itself to clients."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import jsonschema
import numpy as np
import openai
import pytest
import soundfile as sf
import websockets
from openai import AsyncOpenAI

from tests.server.realtime_events import events_until
from voicelab.audio import load_audio
from voicelab.errors import ConfigError
from voicelab.processing_time import PROCESSING_MS_HEADER
from voicelab.providers.server_backend import BACKEND_HEADER
from voicelab.server.runner import LocalServer, SubprocessServer
from voicelab.server.state import ServerConfig
from voicelab.server.synthetic.audio import SYNTHETIC_TRANSCRIPT, TONE_S
from voicelab.server.synthetic.chat import SYNTHETIC_ANSWER

TIMEOUT_S = 30.0  # nothing here does model work; this only stops a hung test
CLIP = "ljspeech-sample/LJ001-0002.wav"  # 1.9 s of speech
PARAMETERS = {
    "type": "object",
    "properties": {
        "order_id": {"type": "string", "pattern": "^[0-9]{3,6}$"},
        "urgent": {"type": "boolean"},
        "note": {"type": "string"},
    },
    "required": ["order_id", "urgent"],
    "additionalProperties": False,
}
CHAT_TOOLS: Any = [
    {"type": "function",
     "function": {"name": "lookup_order", "description": "Look up an order",
                  "parameters": PARAMETERS}},
    {"type": "function",
     "function": {"name": "search_faq", "description": "Search the FAQ",
                  "parameters": {"type": "object", "properties": {"topic": {"enum": ["returns"]}},
                                 "required": ["topic"]}}},
]  # fmt: skip
FLAT_TOOLS: Any = [{"type": "function", **tool["function"]} for tool in CHAT_TOOLS]
USER: Any = {"role": "user", "content": "Where is my order 381?"}


@pytest.fixture(scope="module")
def synthetic() -> Iterator[LocalServer]:
    """One synthetic server for the module (it holds no state between requests)."""
    with LocalServer(ServerConfig(port=0, backend="synthetic")) as running:
        yield running


def _client(server: LocalServer, **kwargs: Any) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=server.base_url, api_key="unused", max_retries=0, **kwargs)


def _faults(**fields: Any) -> dict[str, str]:
    return {"x-voicelab-faults": json.dumps(fields)}


async def test_chat_calls_the_tool_then_answers_with_its_result(synthetic: LocalServer) -> None:
    client = _client(synthetic)
    first = await client.chat.completions.create(model="gpt-4o", messages=[USER], tools=CHAT_TOOLS)
    call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert first.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "lookup_order" and call.id.startswith("call_")  # type: ignore[union-attr]
    arguments = json.loads(call.function.arguments)  # type: ignore[union-attr]
    jsonschema.validate(arguments, PARAMETERS)
    assert first.usage is not None and first.usage.prompt_tokens > 10
    assert first.model == "gpt-4o"

    history: Any = [
        USER,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"status": "shipped"}'},
    ]
    second = await client.chat.completions.create(
        model="gpt-4o", messages=history, tools=CHAT_TOOLS
    )
    assert second.choices[0].message.content == SYNTHETIC_ANSWER
    assert second.choices[0].finish_reason == "stop"
    assert second.usage is not None
    assert second.usage.total_tokens == second.usage.prompt_tokens + second.usage.completion_tokens


@pytest.mark.parametrize(
    ("tool_choice", "called"),
    [("auto", "lookup_order"), ("required", "lookup_order"), ("none", None),
     ({"type": "function", "function": {"name": "search_faq"}}, "search_faq")],
)  # fmt: skip
async def test_streamed_chat_follows_tool_choice(
    synthetic: LocalServer, tool_choice: Any, called: str | None
) -> None:
    stream = await _client(synthetic).chat.completions.create(
        model="gpt-4o-mini", messages=[USER], tools=CHAT_TOOLS, tool_choice=tool_choice,
        stream=True, stream_options={"include_usage": True},
    )  # fmt: skip
    chunks = [chunk async for chunk in stream]
    calls = [
        c for chunk in chunks for choice in chunk.choices for c in choice.delta.tool_calls or []
    ]
    text = "".join(choice.delta.content or "" for chunk in chunks for choice in chunk.choices)
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    if called is None:
        assert text == SYNTHETIC_ANSWER and not calls
    else:
        assert [c.function.name for c in calls] == [called] and not text  # type: ignore[union-attr]
    if called == "search_faq":
        assert json.loads(calls[0].function.arguments) == {"topic": "returns"}  # type: ignore[union-attr,arg-type]


async def test_responses_call_then_answer_whole_and_streamed(synthetic: LocalServer) -> None:
    client = _client(synthetic)
    first = await client.responses.create(
        model="gpt-4o", input="Where is my order 381?", tools=FLAT_TOOLS
    )
    call = first.output[0]
    assert call.type == "function_call" and call.name == "lookup_order"
    jsonschema.validate(json.loads(call.arguments), PARAMETERS)
    follow_up: Any = [
        {"role": "user", "content": "Where is my order 381?"},
        {"type": "function_call", "call_id": call.call_id, "name": call.name,
         "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": "shipped"},
    ]  # fmt: skip
    stream = await client.responses.create(
        model="gpt-4o", input=follow_up, tools=FLAT_TOOLS, stream=True
    )
    events = [event async for event in stream]
    done = events[-1]
    assert done.type == "response.completed"
    assert done.response.output_text == SYNTHETIC_ANSWER
    assert done.response.usage is not None and done.response.usage.input_tokens > 0


async def test_transcription_formats_and_bad_audio(
    synthetic: LocalServer, shared_data: Path
) -> None:
    client = _client(synthetic)
    clip = shared_data / CLIP
    duration_s = load_audio(clip).duration_s
    whole = await client.audio.transcriptions.create(model="whisper-1", file=clip.open("rb"))
    assert whole.text == SYNTHETIC_TRANSCRIPT
    assert whole.usage.seconds == pytest.approx(duration_s, abs=0.01)  # type: ignore[union-attr]
    text = await client.audio.transcriptions.create(
        model="whisper-1", file=clip.open("rb"), response_format="text"
    )
    assert str(text).strip() == SYNTHETIC_TRANSCRIPT
    verbose = await client.audio.transcriptions.create(
        model="whisper-1", file=clip.open("rb"), response_format="verbose_json"
    )
    assert verbose.duration == pytest.approx(duration_s, abs=0.01)
    stream = await client.audio.transcriptions.create(
        model="gpt-4o-transcribe", file=clip.open("rb"), stream=True
    )
    events = [event async for event in stream]
    assert events[-1].type == "transcript.text.done" and events[-1].text == SYNTHETIC_TRANSCRIPT
    with pytest.raises(openai.BadRequestError):
        await client.audio.transcriptions.create(
            model="whisper-1", file=("bad.wav", b"RIFF not audio at all")
        )


@pytest.mark.parametrize("response_format", ["pcm", "wav"])
async def test_speech_is_a_streamed_tone(synthetic: LocalServer, response_format: str) -> None:
    chunks: list[bytes] = []
    async with _client(synthetic).audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", voice="alloy", input="Hello there.",
        response_format=response_format,  # type: ignore[arg-type]
    ) as response:  # fmt: skip
        assert response.headers[BACKEND_HEADER] == "synthetic"
        async for chunk in response.iter_bytes(4800):
            chunks.append(chunk)
    audio = b"".join(chunks)
    if response_format == "wav":
        header_free = audio[44:]
        assert audio[:4] == b"RIFF" and audio[8:12] == b"WAVE"
    else:
        header_free = audio
    samples = np.frombuffer(header_free, dtype="<i2").astype(np.float64) / 32768
    assert len(samples) / 24_000 == pytest.approx(TONE_S, abs=0.001)
    assert len(chunks) >= 5  # streamed, not one piece
    assert 0.15 < float(np.sqrt(np.mean(samples**2))) < 0.25  # a 0.3-amplitude sine: RMS 0.21


async def test_wav_speech_reads_as_audio(synthetic: LocalServer) -> None:
    response = await _client(synthetic).audio.speech.create(
        model="tts-1", voice="alloy", input="Hi.", response_format="wav"
    )
    data, rate_hz = sf.read(io.BytesIO(response.content.replace(b"\xff\xff\xff\xff", b"\0\0\0\0")))
    assert rate_hz == 24_000 and data.ndim == 1


async def test_every_response_names_the_backend(synthetic: LocalServer) -> None:
    async with httpx2.AsyncClient() as client:
        models = await client.get(f"{synthetic.base_url}/models")
        missing = await client.post(f"{synthetic.base_url}/chat/completions", json={"x": 1})
    assert models.headers[BACKEND_HEADER] == "synthetic"
    assert missing.status_code == 400 and missing.headers[BACKEND_HEADER] == "synthetic"


async def test_faults_apply_as_on_the_local_backend(synthetic: LocalServer) -> None:
    async with httpx2.AsyncClient(base_url=synthetic.base_url, timeout=TIMEOUT_S) as client:
        body = {"model": "gpt-4o", "messages": [USER]}
        limited = await client.post(
            "/chat/completions", json=body,
            headers=_faults(error_rate=1, error_status=429, retry_after_s=7),
        )  # fmt: skip
        assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
        assert limited.json()["error"]["code"] == "rate_limit_exceeded"
        started = time.perf_counter()
        slow = await client.post("/chat/completions", json=body, headers=_faults(ttfb_ms=300))
        assert time.perf_counter() - started >= 0.3 and slow.status_code == 200
        assert float(slow.headers[PROCESSING_MS_HEADER]) < 300  # the fault is not server work
        with pytest.raises(httpx2.RemoteProtocolError):
            await client.post(
                "/chat/completions", json={**body, "stream": True},
                headers=_faults(drop_rate=1, drop_after_chunks=2),
            )  # fmt: skip
        with pytest.raises(httpx2.RemoteProtocolError):  # a whole answer dropped too
            await client.post("/chat/completions", json=body, headers=_faults(drop_rate=1))
    speech = _client(synthetic, default_headers=_faults(drop_rate=1, drop_after_chunks=2))
    with pytest.raises(openai.APIConnectionError):
        await speech.audio.speech.create(
            model="tts-1", voice="alloy", input="Hi.", response_format="pcm"
        )


def _b64(pcm: bytes) -> str:
    return base64.b64encode(pcm).decode("ascii")


async def test_realtime_session_transcribes_calls_and_speaks(synthetic: LocalServer) -> None:
    tool = FLAT_TOOLS[0]
    async with _client(synthetic).realtime.connect(model="gpt-realtime") as conn:
        created = await conn.recv()
        assert created.type == "session.created"
        assert created.session.model_dump()["voicelab"]["backend"] == "synthetic"
        audio = {"input": {"transcription": {"model": "whisper-1"}, "turn_detection": None}}
        await conn.session.update(session={"type": "realtime", "tools": [tool], "audio": audio})
        await conn.input_audio_buffer.append(audio=_b64(np.zeros(12_000, "<i2").tobytes()))
        await conn.input_audio_buffer.commit()
        await conn.response.create()
        first = await events_until(conn, "response.done")
        transcribed = [
            e for e in first if e.type == "conversation.item.input_audio_transcription.completed"
        ]
        assert transcribed[0].transcript == SYNTHETIC_TRANSCRIPT
        call = first[-1].response.output[0]
        assert call.type == "function_call" and call.name == "lookup_order"
        jsonschema.validate(json.loads(call.arguments), PARAMETERS)
        await conn.conversation.item.create(
            item={"type": "function_call_output", "call_id": call.call_id, "output": "shipped"}
        )
        await conn.response.create()
        second = await events_until(conn, "response.done")
    answer = second[-1].response
    assert answer.status == "completed" and answer.output[0].type == "message"
    transcript = [e for e in second if e.type == "response.output_audio_transcript.done"]
    assert transcript[0].transcript == SYNTHETIC_ANSWER
    audio_bytes = sum(
        len(base64.b64decode(e.delta)) for e in second if e.type == "response.output_audio.delta"
    )
    assert audio_bytes == round(TONE_S * 24_000) * 2


async def test_realtime_drop_still_applies(synthetic: LocalServer) -> None:
    manager = _client(synthetic).realtime.connect(
        model="gpt-realtime", extra_headers=_faults(drop_rate=1, drop_after_chunks=3)
    )
    seen: list[str] = []
    async with manager as conn:
        await conn.response.create(response={"instructions": "Say hi."})
        with pytest.raises(websockets.ConnectionClosedError):
            async with asyncio.timeout(TIMEOUT_S):
                async for event in conn:
                    seen.append(event.type)
    start = seen.index("response.created")
    assert len(seen) - start == 3 and "response.done" not in seen


def test_serve_synthetic_starts_without_models(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    with SubprocessServer("--backend", "synthetic", "--request-log", str(log)) as served:
        response = httpx2.post(
            f"{served.base_url}/chat/completions",
            json={"model": "gpt-4o", "messages": [USER]},
            timeout=TIMEOUT_S,
        )
        # the line is written once the response has gone out: wait for it, not for a time
        deadline = time.monotonic() + TIMEOUT_S
        while not (log.exists() and log.read_text()) and time.monotonic() < deadline:
            time.sleep(0.01)
    assert response.json()["choices"][0]["message"]["content"] == SYNTHETIC_ANSWER
    assert response.headers[BACKEND_HEADER] == "synthetic"
    assert "synthetic backend (no models)" in served.output
    assert [json.loads(line)["endpoint"] for line in log.read_text().splitlines()] == ["chat"]


def test_unknown_backend_is_a_clear_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "voicelab.cli", "serve", "--backend", "nope"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "invalid choice: 'nope'" in result.stderr and "Traceback" not in result.stderr
    with pytest.raises(ConfigError, match="unknown server backend 'nope'; choose from local"):
        ServerConfig(backend="nope")
