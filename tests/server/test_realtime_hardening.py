"""``/v1/realtime`` as a hostile client meets it: absurd settings, big buffers, leaving early."""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import logging
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any

import psutil
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from voicelab.server.realtime.session import RealtimeSession
from voicelab.server.runner import LocalServer
from voicelab.server.state import MAX_INPUT_BUFFER_BYTES, ServerConfig

TIMEOUT_S = 60.0  # only stops a hung test; every wait below ends on an event
TOOL: dict[str, Any] = {
    "type": "function",
    "name": "lookup_order",
    "description": "Look up an order by its id",
    "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
}
MANUAL_TURNS: dict[str, Any] = {"audio": {"input": {"turn_detection": None}}}


@pytest.fixture(scope="module")
def synthetic() -> Iterator[LocalServer]:
    """A server without model work, for everything that is not about the models."""
    with LocalServer(ServerConfig(port=0, backend="synthetic")) as running:
        yield running


async def _next_of(socket: ClientConnection, kind: str) -> dict[str, Any]:
    """The next server event of type ``kind`` (earlier ones are skipped)."""
    async with asyncio.timeout(TIMEOUT_S):
        while True:
            event = json.loads(await socket.recv())
            if event["type"] == kind:
                return event


async def _send(socket: ClientConnection, kind: str, **fields: Any) -> None:
    await socket.send(json.dumps({"type": kind, **fields}))


async def _update(socket: ClientConnection, session: dict[str, Any]) -> dict[str, Any]:
    """Apply a ``session.update`` that must succeed; returns the session."""
    await _send(socket, "session.update", session={"type": "realtime", **session})
    return dict((await _next_of(socket, "session.updated"))["session"])


def _connect(server: LocalServer, compression: str | None = None) -> websockets.connect:
    """A raw client; ``compression="deflate"`` as the ``openai`` client negotiates it."""
    url = f"{server.realtime_url}?model=gpt-realtime"
    return websockets.connect(url, max_size=None, compression=compression, close_timeout=1)


async def _sync(socket: ClientConnection, marker: str) -> dict[str, Any]:
    """The first ``error`` event after all earlier events: a retrieve of an unknown item."""
    await _send(socket, "conversation.item.retrieve", item_id="item_none", event_id=marker)
    while True:
        error = (await _next_of(socket, "error"))["error"]
        if error["event_id"] == marker:
            return dict(error)


def _b64_silence(n_bytes: int) -> str:
    return base64.b64encode(bytes(n_bytes)).decode("ascii")


VAD = "session.audio.input.turn_detection"


@pytest.mark.parametrize(
    ("kind", "payload", "param"),
    [
        ("session.update", {"max_output_tokens": -1}, "session.max_output_tokens"),
        ("session.update", {"max_output_tokens": 0}, "session.max_output_tokens"),
        ("session.update", {"max_output_tokens": 4097}, "session.max_output_tokens"),
        ("session.update", {"audio": {"input": {"turn_detection": {
            "type": "server_vad", "prefix_padding_ms": 1e12}}}}, f"{VAD}.prefix_padding_ms"),
        ("session.update", {"audio": {"input": {"turn_detection": {
            "type": "server_vad", "prefix_padding_ms": -5}}}}, f"{VAD}.prefix_padding_ms"),
        ("session.update", {"audio": {"input": {"turn_detection": {
            "type": "server_vad", "silence_duration_ms": -1}}}}, f"{VAD}.silence_duration_ms"),
        ("session.update", {"audio": {"input": {"turn_detection": {
            "type": "server_vad", "silence_duration_ms": 1e9}}}}, f"{VAD}.silence_duration_ms"),
        ("session.update", {"audio": {"input": {"turn_detection": {
            "type": "server_vad", "threshold": 1.5}}}}, f"{VAD}.threshold"),
        ("session.update", {"audio": {"input": {"turn_detection": {
            "type": "server_vad", "threshold": -0.1}}}}, f"{VAD}.threshold"),
        ("session.update", {"audio": {"input": {"turn_detection": {
            "type": "server_vad", "idle_timeout_ms": -3}}}}, f"{VAD}.idle_timeout_ms"),
        ("session.update", {"turn_detection": {"type": "server_vad", "threshold": 7}},
         f"{VAD}.threshold"),  # the beta layout, mapped onto the GA one
        ("session.update", {"audio": {"output": {"speed": 9.0}}}, "session.audio.output.speed"),
        ("session.update", {"tools": [TOOL], "tool_choice": {"type": "function", "name": "nope"}},
         "session.tool_choice"),
        ("session.update", {"tools": [], "tool_choice": {"type": "function",
                                                          "name": "lookup_order"}},
         "session.tool_choice"),  # no tools left
        ("response.create", {"max_output_tokens": -1}, "response.max_output_tokens"),
        ("response.create", {"tool_choice": {"type": "function", "name": "nope"}},
         "response.tool_choice"),
    ],
)  # fmt: skip
async def test_absurd_settings_are_refused_and_change_nothing(
    synthetic: LocalServer, kind: str, payload: dict[str, Any], param: str
) -> None:
    async with _connect(synthetic) as socket:
        await _next_of(socket, "session.created")
        before = await _update(socket, {"tools": [TOOL], "instructions": "Be brief."})
        body = {"session": {"type": "realtime", **payload}} if kind == "session.update" else (
            {"response": payload}
        )  # fmt: skip
        await socket.send(json.dumps({"type": kind, "event_id": "evt_bad", **body}))
        event = json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT_S))
        assert event["type"] == "error", event  # no response.created, no session.updated
        error = event["error"]
        assert (error["type"], error["code"], error["param"], error["event_id"]) == (
            "invalid_request_error", "invalid_value", param, "evt_bad"
        ), error  # fmt: skip
        assert await _update(socket, {}) == before


async def test_input_buffer_is_capped_and_the_session_goes_on(synthetic: LocalServer) -> None:
    ten_mib = 10 * 1024 * 1024
    assert ten_mib < MAX_INPUT_BUFFER_BYTES < 2 * ten_mib
    async with _connect(synthetic) as socket:
        await _next_of(socket, "session.created")
        await _update(socket, MANUAL_TURNS)
        await _send(socket, "input_audio_buffer.append", audio=_b64_silence(ten_mib))
        assert (await _sync(socket, "first"))["code"] == "item_not_found"  # accepted
        for attempt in range(3):  # each refused whole; the buffer keeps its first 10 MiB
            marker = f"append_{attempt}"
            audio = _b64_silence(ten_mib)
            await _send(socket, "input_audio_buffer.append", audio=audio, event_id=marker)
            error = (await _next_of(socket, "error"))["error"]
            assert (error["type"], error["code"], error["param"], error["event_id"]) == (
                "invalid_request_error", "input_audio_buffer_full", "audio", marker
            ), error  # fmt: skip
            assert f"{MAX_INPUT_BUFFER_BYTES} bytes" in error["message"]
        await _send(socket, "input_audio_buffer.clear")
        await _next_of(socket, "input_audio_buffer.cleared")
        await _send(socket, "input_audio_buffer.append", audio=_b64_silence(ten_mib))
        assert (await _sync(socket, "after_clear"))["code"] == "item_not_found"  # room again
        assert (await _update(socket, {"instructions": "Still here."}))["instructions"] == (
            "Still here."
        )


@pytest.fixture
def no_gc() -> Iterator[None]:
    """Reference counting only: what a cycle keeps alive stays alive."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _live_sessions() -> list[weakref.ref[RealtimeSession]]:
    # type(), not isinstance(): openai's lazy proxies import modules when asked their __class__
    return [weakref.ref(o) for o in gc.get_objects() if type(o) is RealtimeSession]


async def _wait_until(condition: Any, what: str, timeout_s: float = 10.0) -> None:
    """Poll ``condition()`` on the event loop until it holds, or fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {timeout_s} s: {what}")
        await asyncio.sleep(0.01)


async def test_closed_session_is_freed_without_the_garbage_collector(
    synthetic: LocalServer, no_gc: None
) -> None:
    async with _connect(synthetic) as socket:
        await _next_of(socket, "session.created")
        await _update(socket, MANUAL_TURNS)
        await _send(socket, "input_audio_buffer.append", audio=_b64_silence(480_000))
        await _sync(socket, "appended")
        (session,) = _live_sessions()
        assert session() is not None
    await _wait_until(lambda: session() is None, "the closed session to be freed")


async def _session_with_audio(server: LocalServer, n_bytes: int) -> None:
    async with _connect(server) as socket:
        await _next_of(socket, "session.created")
        await _update(socket, MANUAL_TURNS)
        await _send(socket, "input_audio_buffer.append", audio=_b64_silence(n_bytes))
        await _sync(socket, "appended")


# Allocator slack (seen: -15 to +43 MiB); 100 sessions kept alive would hold over 400 MiB.
RSS_TOLERANCE_BYTES = 64 * 1024 * 1024


async def test_rss_returns_to_baseline_after_100_sessions(synthetic: LocalServer) -> None:
    n_bytes = 4 * 1024 * 1024  # 87 s of 24 kHz PCM16 per session
    process = psutil.Process()
    for _ in range(5):  # warm up: the allocator's arenas, the thread pools, first-use caches
        await _session_with_audio(synthetic, n_bytes)
    baseline = process.memory_info().rss
    for _ in range(100):
        await _session_with_audio(synthetic, n_bytes)
    await _wait_until(lambda: not _live_sessions(), "every session to be freed")
    grown = process.memory_info().rss - baseline
    assert grown < RSS_TOLERANCE_BYTES, f"RSS grew {grown / 2**20:.0f} MiB over 100 sessions"


def _model_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "voicelab-model"]


@pytest.mark.slow  # the local models: a long answer, streamed while the client leaves
@pytest.mark.parametrize("how", ["abort", "close"])
async def test_client_leaving_mid_response_stops_the_work(
    server: LocalServer, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    caplog.set_level(logging.INFO)
    gc.collect()  # sessions of earlier tests
    # Compressed, each audio delta takes the server a little while: the client leaves while
    # the server is still writing a sentence's audio.
    async with _connect(server, compression="deflate") as socket:
        await _next_of(socket, "session.created")
        text = {"type": "input_text", "text": "Tell me a long story about a dragon."}
        item = {"type": "message", "role": "user", "content": [text]}
        await _send(socket, "conversation.item.create", item=item)
        await _send(socket, "response.create", response={"max_output_tokens": 400})
        await _next_of(socket, "response.output_audio.delta")  # audio streams without pause
        (session,) = _live_sessions()
        assert _model_threads(), "the response should still be generating"
        if how == "abort":
            socket.transport.abort()  # a TCP reset, no closing handshake
        else:
            await socket.close()
        await _wait_until(lambda: session() is None and not _model_threads(), "the work to stop")
    gc.collect()  # a task whose exception nobody read is reported when it is collected
    records = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert not [r for r in records if r.exc_info or "Traceback" in r.getMessage()], records
    assert not [r for r in records if "socket.send() raised" in r.getMessage()]
    left = [r for r in records if "stopped mid-response: the client left" in r.getMessage()]
    assert len(left) == 1, [r.getMessage() for r in records]
