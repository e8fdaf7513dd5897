"""The server under load: 32 realtime sessions and 32 HTTP clients at once, on the synthetic
backend (no model work, so the server itself is what is loaded)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import psutil
import pytest
import soundfile as sf
import websockets
from websockets.asyncio.client import ClientConnection

from voicelab.server.runner import SubprocessServer

pytestmark = pytest.mark.slow

CLIENTS = 32  # of each kind
LOAD_S = 10.0  # how long the clients keep coming back
DEADLINE_S = 60.0  # a hang bound, not a speed target: a busy 2-core machine stalls for seconds
WARM_UP_S = 2.0  # the same load, once, before the baseline: pools, arenas and caches settle
# What the server may keep after the load (seen: 8 MiB); the load passes over 100 MiB of audio
# through it, so a leak of any part of it would show.
RSS_TOLERANCE_BYTES = 48 * 1024 * 1024
LEAVER_EVERY = 4  # one realtime client in four leaves mid-response, without closing
RATE_HZ = 24_000
TURN_PCM = (np.sin(np.arange(3 * RATE_HZ) * 0.07) * 8000).astype("<i2").tobytes()  # 3 s


@pytest.fixture(scope="module")
def synthetic_server() -> Iterator[SubprocessServer]:
    """``voicelab serve --backend synthetic`` in its own process, so its RSS is its own."""
    with SubprocessServer("--backend", "synthetic") as server:
        yield server


@dataclass
class Tally:
    """What the clients saw."""

    statuses: Counter[int] = field(default_factory=Counter)
    """HTTP status codes."""
    turns: int = 0
    """Realtime responses completed."""
    sessions: int = 0
    """Realtime sessions opened and closed."""
    left: int = 0
    """Realtime sessions whose client left mid-response (a TCP reset)."""


def _wav_bytes() -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, np.frombuffer(TURN_PCM, "<i2"), RATE_HZ, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


WAV = _wav_bytes()
USER = {"role": "user", "content": "Where is my order 381?"}


async def _sse_done(response: httpx.Response) -> None:
    """Read a streamed body to its end (the ``[DONE]`` line for chat)."""
    async for _ in response.aiter_lines():
        pass


async def _http_requests(client: httpx.AsyncClient, tally: Tally) -> None:
    """One of each endpoint the SDKs call, in turn."""
    requests: list[Callable[[], Awaitable[httpx.Response]]] = [
        lambda: client.post("/chat/completions", json={"model": "gpt-4o-mini", "messages": [USER]}),
        lambda: client.post("/responses", json={"model": "gpt-4o-mini", "input": "Hello"}),
        lambda: client.post(
            "/audio/transcriptions",
            data={"model": "whisper-1"},
            files={"file": ("turn.wav", WAV, "audio/wav")},
        ),
        lambda: client.post(
            "/audio/speech",
            json={
                "model": "tts-1",
                "input": "Hello there.",
                "voice": "alloy",
                "response_format": "pcm",
            },
        ),
        lambda: client.get("/models"),
    ]
    for send in requests:
        async with asyncio.timeout(DEADLINE_S):
            response = await send()
        tally.statuses[response.status_code] += 1
    body = {"model": "gpt-4o-mini", "messages": [USER], "stream": True}
    async with asyncio.timeout(DEADLINE_S):
        async with client.stream("POST", "/chat/completions", json=body) as streamed:
            await _sse_done(streamed)
    tally.statuses[streamed.status_code] += 1


async def _next_of(socket: ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        event = json.loads(await socket.recv())
        if event["type"] == "error":
            raise AssertionError(f"error event: {event['error']}")
        if event["type"] == kind:
            return event


async def _realtime_session(url: str, tally: Tally) -> None:
    """Open a session, take two spoken turns with answers, close; one session in
    ``LEAVER_EVERY`` leaves at the first audio of its second answer instead."""
    leaves = (tally.sessions + tally.left) % LEAVER_EVERY == 0
    async with websockets.connect(url, close_timeout=DEADLINE_S) as socket:
        async with asyncio.timeout(DEADLINE_S):
            await _next_of(socket, "session.created")
            update = {"type": "realtime", "audio": {"input": {"turn_detection": None}}}
            await socket.send(json.dumps({"type": "session.update", "session": update}))
            await _next_of(socket, "session.updated")
        for turn in range(2):
            async with asyncio.timeout(DEADLINE_S):
                audio = base64.b64encode(TURN_PCM).decode("ascii")
                await socket.send(json.dumps({"type": "input_audio_buffer.append", "audio": audio}))
                await socket.send(json.dumps({"type": "input_audio_buffer.commit"}))
                await socket.send(json.dumps({"type": "response.create"}))
                if leaves and turn == 1:
                    await _next_of(socket, "response.output_audio.delta")
                    socket.transport.abort()
                    tally.left += 1
                    return
                done = await _next_of(socket, "response.done")
            assert done["response"]["status"] == "completed", done["response"]
            tally.turns += 1
    tally.sessions += 1


async def _keep_coming(work: Callable[[], Awaitable[None]], until: float) -> None:
    while time.monotonic() < until:
        await work()


async def _load(server: SubprocessServer, seconds: float) -> Tally:
    """``CLIENTS`` realtime and ``CLIENTS`` HTTP clients, each starting work until ``seconds``."""
    tally = Tally()
    until = time.monotonic() + seconds
    url = server.base_url.replace("http://", "ws://") + "/realtime?model=gpt-realtime"
    limits = httpx.Limits(max_connections=CLIENTS)
    async with (
        httpx.AsyncClient(base_url=server.base_url, limits=limits) as client,
        asyncio.TaskGroup() as group,
    ):
        for _ in range(CLIENTS):
            group.create_task(_keep_coming(lambda: _realtime_session(url, tally), until))
            group.create_task(_keep_coming(lambda: _http_requests(client, tally), until))
    return tally


async def test_32_sessions_and_32_http_clients(synthetic_server: SubprocessServer) -> None:
    assert synthetic_server.pid is not None
    process = psutil.Process(synthetic_server.pid)
    await _load(synthetic_server, WARM_UP_S)
    baseline = process.memory_info().rss

    tally = await _load(synthetic_server, LOAD_S)

    assert set(tally.statuses) == {200}, tally.statuses  # no 5xx, and no 4xx either
    assert tally.sessions >= CLIENTS and tally.left >= CLIENTS // LEAVER_EVERY
    assert tally.turns == 2 * tally.sessions + tally.left
    assert tally.statuses.total() >= 6 * CLIENTS
    deadline = time.monotonic() + DEADLINE_S  # the last sessions may still be closing
    while (grown := process.memory_info().rss - baseline) > RSS_TOLERANCE_BYTES:
        assert time.monotonic() < deadline, f"RSS stayed {grown / 2**20:.0f} MiB above baseline"
        await asyncio.sleep(0.1)
    for bad in ("Traceback", "socket.send() raised", "Task exception"):
        assert bad not in synthetic_server.output, synthetic_server.output[-3000:]
