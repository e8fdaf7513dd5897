"""``/v1/realtime`` through the real ``openai`` client, the Agents SDK, and raw sockets."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import websockets
from agents.realtime import RealtimeAgent, RealtimeRunner
from agents.voice import OpenAIVoiceModelProvider, StreamedAudioInput, STTModelSettings
from openai import AsyncOpenAI

from tests.server.realtime_events import events_until
from voicelab.audio import load_audio, resample, to_pcm16
from voicelab.server.runner import LocalServer

pytestmark = pytest.mark.slow

RATE_HZ = 24_000
# A turn takes 1-5 s here, but llama.cpp slows tenfold when other jobs share the 2 cores: this
# only stops a hung test.
TIMEOUT_S = 120.0
SPEECH = "LJ001-0002.wav"  # "in being comparatively modern."
TOOL: dict[str, Any] = {
    "type": "function",
    "name": "lookup_order",
    "description": "Look up an order by its three-digit id",
    "parameters": {
        "type": "object",
        "properties": {"order_id": {"type": "string", "pattern": "^[0-9]{3}$"}},
        "required": ["order_id"],
        "additionalProperties": False,
    },
}
SHORT: Any = {"max_output_tokens": 24}  # short answers keep synthesis quick


def _speech_samples(shared_data: Path, pad_s: float = 0.0) -> np.ndarray[Any, np.dtype[np.int16]]:
    clip = resample(load_audio(shared_data / "ljspeech-sample" / SPEECH), RATE_HZ)
    silence = np.zeros(int(pad_s * RATE_HZ), dtype=np.float32)
    return to_pcm16(np.concatenate([silence, clip.samples, silence]))


def _b64(pcm: bytes) -> str:
    return base64.b64encode(pcm).decode("ascii")


def _session(**fields: Any) -> Any:
    """A ``session.update`` payload (plain JSON, as the client sends it)."""
    return {"type": "realtime", **fields}


def _client(server: LocalServer) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=server.base_url, api_key="unused", max_retries=0)


def _of(events: Iterable[Any], kind: str) -> list[Any]:
    return [e for e in events if e.type == kind]


def _audio_s(events: Iterable[Any]) -> float:
    deltas = _of(events, "response.output_audio.delta")
    return sum(len(base64.b64decode(d.delta)) for d in deltas) / (2 * RATE_HZ)


async def test_audio_turn_with_openai_client(server: LocalServer, shared_data: Path) -> None:
    async with _client(server).realtime.connect(model="gpt-realtime") as conn:
        created = await conn.recv()
        assert created.type == "session.created"
        session = created.session.model_dump()
        assert session["voicelab"]["backend"] == "local-cascade"
        audio = {"input": {"transcription": {"model": "whisper-1"}, "turn_detection": None}}
        await conn.session.update(session=_session(tools=[TOOL], audio=audio, **SHORT))
        updated = await conn.recv()
        assert updated.type == "session.updated"
        assert updated.session.model_dump()["tools"][0]["name"] == "lookup_order"
        await conn.input_audio_buffer.append(audio=_b64(_speech_samples(shared_data).tobytes()))
        await conn.input_audio_buffer.commit()
        await conn.response.create()
        events = await events_until(conn, "rate_limits.updated")

    committed = _of(events, "input_audio_buffer.committed")[0]
    transcribed = _of(events, "conversation.item.input_audio_transcription.completed")[0]
    assert transcribed.item_id == committed.item_id and committed.item_id.startswith("item_")
    assert "comparatively modern" in transcribed.transcript.lower()
    assert transcribed.usage.seconds == pytest.approx(1.9, abs=0.1)
    done = _of(events, "response.done")[0].response
    assert done.status == "completed" and done.id.startswith("resp_")
    transcript = _of(events, "response.output_audio_transcript.done")[0].transcript
    deltas = _of(events, "response.output_audio_transcript.delta")
    assert transcript and "".join(d.delta for d in deltas) == transcript
    assert _audio_s(events) > 0.5
    assert done.output[0].content[0].transcript == transcript
    usage = done.usage
    assert usage.output_token_details.audio_tokens == pytest.approx(20 * _audio_s(events), abs=1)
    assert usage.input_token_details.audio_tokens == pytest.approx(19, abs=1)
    assert usage.input_token_details.text_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert all(e.event_id.startswith("event_") for e in events)
    order = [e.type for e in events]
    assert order.index("response.created") < order.index("response.output_audio.delta")
    assert order.index("response.output_audio.done") < order.index("response.done")


async def test_server_vad_commits_and_responds(server: LocalServer, shared_data: Path) -> None:
    pcm = _speech_samples(shared_data, pad_s=1.0).tobytes()
    async with _client(server).realtime.connect(model="gpt-realtime") as conn:
        await conn.session.update(session=_session(output_modalities=["text"], **SHORT))
        chunk = RATE_HZ * 2 // 10  # 100 ms
        for start in range(0, len(pcm), chunk):
            await conn.input_audio_buffer.append(audio=_b64(pcm[start : start + chunk]))
        events = await events_until(conn, "response.done")

    started = _of(events, "input_audio_buffer.speech_started")
    stopped = _of(events, "input_audio_buffer.speech_stopped")
    assert len(started) == len(stopped) == 1
    assert started[0].audio_start_ms == pytest.approx(700, abs=300)
    assert 2400 < stopped[0].audio_end_ms <= len(pcm) * 1000 // (2 * RATE_HZ)
    committed = _of(events, "input_audio_buffer.committed")[0]
    assert committed.item_id == started[0].item_id == stopped[0].item_id
    done = _of(events, "response.done")[0].response
    text = _of(events, "response.output_text.done")[0].text
    assert done.status == "completed" and text
    assert done.output[0].content[0].type == "output_text"


async def test_function_call_round_trip(server: LocalServer) -> None:
    async with _client(server).realtime.connect(model="gpt-realtime") as conn:
        await conn.session.update(session=_session(tools=[TOOL], tool_choice="required"))
        await conn.conversation.item.create(
            item={"type": "message", "role": "user",
                  "content": [{"type": "input_text", "text": "Where is my order 123?"}]}
        )  # fmt: skip
        await conn.response.create()
        first = await events_until(conn, "response.done")
        call = _of(first, "response.done")[0].response.output[0]
        assert call.type == "function_call" and call.name == "lookup_order"
        assert call.call_id.startswith("call_")
        arguments = json.loads(call.arguments)
        assert len(arguments["order_id"]) == 3
        args_done = _of(first, "response.function_call_arguments.done")[0]
        assert args_done.arguments == call.arguments and args_done.call_id == call.call_id

        await conn.conversation.item.create(
            item={"type": "function_call_output", "call_id": call.call_id,
                  "output": json.dumps({"status": "shipped", "eta": "tomorrow"})}
        )  # fmt: skip
        await conn.response.create(response=SHORT)
        second = await events_until(conn, "response.done")
    answer = _of(second, "response.done")[0].response
    assert answer.status == "completed"
    assert answer.output[0].type == "message"
    assert _of(second, "response.output_audio_transcript.done")[0].transcript
    assert _audio_s(second) > 0.3


async def test_response_cancel(server: LocalServer) -> None:
    async with _client(server).realtime.connect(model="gpt-realtime") as conn:
        await conn.conversation.item.create(
            item={"type": "message", "role": "user",
                  "content": [{"type": "input_text", "text": "Tell me a long story."}]}
        )  # fmt: skip
        await conn.response.create(response={"max_output_tokens": 200})
        await events_until(conn, "response.output_audio_transcript.delta")
        await conn.response.cancel()
        events = await events_until(conn, "response.done", timeout_s=10)
        done = _of(events, "response.done")[0].response
        assert done.status == "cancelled"
        assert done.status_details.reason == "client_cancelled"
        await conn.response.cancel()  # nothing left to cancel: an error, not a hang
        error = await events_until(conn, "error", timeout_s=10)
        assert error[-1].error.code == "response_cancel_not_active"


async def test_transcription_session_with_agents_sdk(
    server: LocalServer, shared_data: Path
) -> None:
    provider = OpenAIVoiceModelProvider(base_url=server.base_url, api_key="unused")
    stt = provider.get_stt_model("gpt-4o-transcribe")
    audio = StreamedAudioInput()  # type: ignore[no-untyped-call]
    session = await stt.create_session(audio, STTModelSettings(), False, False)
    samples = _speech_samples(shared_data, pad_s=1.0)
    for start in range(0, len(samples), RATE_HZ // 10):
        await audio.add_audio(samples[start : start + RATE_HZ // 10])
    await audio.add_audio(None)

    async def turns() -> list[str]:
        return [turn async for turn in session.transcribe_turns()]

    transcripts = await asyncio.wait_for(turns(), TIMEOUT_S)
    assert len(transcripts) == 1
    assert "comparatively modern" in transcripts[0].lower()


async def test_agents_sdk_realtime_runner(server: LocalServer, shared_data: Path) -> None:
    agent = RealtimeAgent(name="assistant", instructions="Answer in one short sentence.")
    model_config: Any = {
        "url": f"{server.realtime_url}?model=gpt-realtime",
        "api_key": "unused",
        "initial_model_settings": {"model_name": "gpt-realtime", "max_output_tokens": 24},
    }
    session = await RealtimeRunner(agent).run(model_config=model_config)
    seen: list[Any] = []
    async with session, asyncio.timeout(TIMEOUT_S):
        await session.send_audio(_speech_samples(shared_data, pad_s=1.0).tobytes())
        async for event in session:
            seen.append(event)
            if event.type == "agent_end":
                break
    kinds = {e.type for e in seen}
    errors = [e for e in seen if e.type == "error"]
    assert not errors, errors
    assert {"agent_start", "audio", "audio_end", "history_updated"} <= kinds
    raw_types = {e.data.data.get("type") for e in seen if e.type == "raw_model_event"
                 and e.data.type == "raw_server_event"}  # fmt: skip
    assert {"input_audio_buffer.speech_stopped", "response.done"} <= raw_types


async def _raw_events(socket: Any) -> AsyncIterator[dict[str, Any]]:
    while True:
        yield json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT_S))


async def _next_of(socket: Any, kind: str) -> dict[str, Any]:
    async for event in _raw_events(socket):
        if event["type"] == kind:
            return event
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    ("message", "code", "param"),
    [
        ("{not json", "invalid_json", None),
        ('{"type": "no.such.event", "event_id": "e1"}', "invalid_value", "type"),
        ('{"type": "input_audio_buffer.append", "audio": "@@@"}', "invalid_value", "audio"),
        ('{"type": "input_audio_buffer.append", "audio": 5}', "invalid_type", "audio"),
        ('{"type": "input_audio_buffer.commit"}', "input_audio_buffer_commit_empty", None),
        ('{"type": "session.update", "session": {"instructions": 3}}', "invalid_type",
         "session.instructions"),
        ('{"type": "conversation.item.retrieve", "item_id": "item_x"}', "item_not_found",
         "item_id"),
    ],
)  # fmt: skip
async def test_bad_input_is_an_error_event(
    server: LocalServer, message: str, code: str, param: str | None
) -> None:
    url = f"{server.realtime_url}?model=gpt-realtime"
    async with websockets.connect(url) as socket:
        assert (await _next_of(socket, "session.created"))["session"]["type"] == "realtime"
        await socket.send(message)
        error = (await _next_of(socket, "error"))["error"]
        assert (error["type"], error["code"], error["param"]) == (
            "invalid_request_error", code, param
        )  # fmt: skip
        if '"event_id"' in message:
            assert error["event_id"] == "e1"
        await socket.send(json.dumps({"type": "session.update", "session": {"instructions": "Hi"}}))
        updated = await _next_of(socket, "session.updated")
        assert updated["session"]["instructions"] == "Hi"


@pytest.mark.parametrize(
    ("query", "header", "code", "close_code"),
    [
        ("?model=gpt-nope", None, "model_not_found", 1008),
        ("", None, "missing_model", 1008),
        ("?model=gpt-realtime", {"error_rate": 1, "error_status": 503}, "injected_fault", 1013),
    ],
)
async def test_refused_connections_say_why(
    server: LocalServer, query: str, header: dict[str, Any] | None, code: str, close_code: int
) -> None:
    headers = {"x-voicelab-faults": json.dumps(header)} if header else None
    async with websockets.connect(server.realtime_url + query, additional_headers=headers) as ws:
        event = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S))
        assert event["type"] == "error" and event["error"]["code"] == code
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), TIMEOUT_S)
    assert ws.close_code == close_code


async def test_injected_drop_closes_mid_response(server: LocalServer) -> None:
    faults = json.dumps({"drop_rate": 1, "drop_after_chunks": 3})
    manager = _client(server).realtime.connect(
        model="gpt-realtime", extra_headers={"x-voicelab-faults": faults}, max_retries=0
    )
    seen: list[str] = []
    async with manager as conn:
        await conn.conversation.item.create(
            item={"type": "message", "role": "user",
                  "content": [{"type": "input_text", "text": "Hello there!"}]}
        )  # fmt: skip
        await conn.response.create()
        with pytest.raises(websockets.ConnectionClosedError) as closed:
            async with asyncio.timeout(TIMEOUT_S):
                async for event in conn:
                    seen.append(event.type)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
    assert "response.created" in seen and "response.done" not in seen
    start = seen.index("response.created")
    assert len(seen) - start == 3  # exactly drop_after_chunks response events got through


async def _timed_response(
    server: LocalServer, faults: dict[str, Any], **session: Any
) -> list[tuple[float, Any]]:
    """(seconds since response.create, event) for one turn under ``faults``."""
    manager = _client(server).realtime.connect(
        model="gpt-realtime", extra_headers={"x-voicelab-faults": json.dumps(faults)}
    )
    timed: list[tuple[float, Any]] = []
    async with manager as conn:
        await conn.session.update(session=_session(**SHORT, **session))
        await conn.conversation.item.create(
            item={"type": "message", "role": "user",
                  "content": [{"type": "input_text", "text": "Hello there!"}]}
        )  # fmt: skip
        await events_until(conn, "conversation.item.done")
        start = asyncio.get_running_loop().time()
        await conn.response.create()
        async with asyncio.timeout(TIMEOUT_S):
            async for event in conn:
                timed.append((asyncio.get_running_loop().time() - start, event))
                if event.type == "response.done":
                    return timed
    raise AssertionError("no response.done")


async def test_injected_latency_paces_the_response(server: LocalServer) -> None:
    timed = await _timed_response(server, {"ttfb_ms": 400, "chunk_delay_ms": 60})
    assert timed[0][1].type == "response.created" and timed[0][0] >= 0.4
    audio_at = [t for t, e in timed if e.type == "response.output_audio.delta"]
    assert len(audio_at) >= 2
    # Spans, not single gaps: one delta reaching the client late would shrink the gap after it.
    assert audio_at[-1] - audio_at[0] >= 0.055 * (len(audio_at) - 1)


async def test_injected_stall_pauses_the_stream(server: LocalServer) -> None:
    faults = {"stall_rate": 1, "drop_after_chunks": 2, "stall_s": 0.6}
    timed = await _timed_response(server, faults, output_modalities=["text"])
    (second_at, _), (third_at, _) = timed[1], timed[2]
    assert third_at - second_at >= 0.45  # the second event may reach the client a little late
    assert timed[-1][1].response.status == "completed"
