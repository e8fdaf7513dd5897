"""Benchmark the local server's own HTTP/WebSocket layer, apart from the models behind it.

    .venv/bin/python benchmarks/server.py [--requests 400] [--backend synthetic|local|both]

**Synthetic backend** (``voicelab serve --backend synthetic`` in a child process, so client
and server do not share a GIL), for a chat completion, a transcription (a 1 s WAV upload,
decoded as always) and a realtime response round trip (``response.create`` with one input
message, text and a 0.5 s tone out, to ``response.done``), at 1, 32 and 128 clients, each
either closed loop (``think`` = closed: the next request as soon as the last is answered, so
``req/s`` is the capacity of server and client together) or paced (``think`` = 0.5 s between a
client's requests, starts staggered: a voice turn's wait for a model, as in a real batch run).
Latency is reported three ways, because "the server's overhead" is only honest when its parts
are named:

- ``client``: send to last byte as the client sees it, transport and client code included.
- ``server``: the server's own request log (``--request-log``): from the request entering the
  ASGI app (headers parsed) to the last body byte handed to the socket (HTTP ``total_ms``), or
  from ``response.create`` to the end of the response task (realtime). The synthetic engines
  take microseconds, so this is the time the server adds, including any wait for its event
  loop behind other requests: in closed loop at 32+ clients that wait dominates (latency ~
  clients / throughput), so the paced rows are the figure to read for "added at 32 clients".
- ``cpu/req``: the server process's CPU time over the level divided by its requests: its own
  work per request, whatever the queueing (HTTP parsing in uvicorn, routing, JSON, multipart
  and audio decoding, websocket frames).

The issue's goal is a paced ``server`` p50 under 2 ms at 32 clients. The client process runs
on the same cores, so on a busy machine every figure rises with the machine's load.

**Local backend**: for 1, 8 and 32 concurrent clients on 127.0.0.1 it prints requests per
second and median/p99 latency of requests that do no model work (``GET /v1/models``, and a
Realtime WebSocket ``session.update`` round trip), which is the server layer's whole cost. For
a model request (a short chat completion) at one client it prints the median wall time through
the server against the same request run directly on the engine in this process: the
difference is the layer's added latency on a real request.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import soundfile as sf
import websockets

from voicelab import LocalServer, ServerConfig, SubprocessServer

CONCURRENCY = (1, 8, 32)
SESSION_UPDATE = json.dumps({"type": "session.update", "session": {"type": "realtime"}})
CHAT = {
    "model": "gpt-4o",
    "messages": [{"role": "user", "content": "Say hi."}],
    "max_tokens": 8,
    "temperature": 0,
}


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _load(requests: list[Callable[[], Awaitable[None]]], total: int) -> list[float]:
    """``total`` requests shared by one worker per callable; the latency of each."""
    latencies: list[float] = []
    remaining = iter(range(total))

    async def worker(request: Callable[[], Awaitable[None]]) -> None:
        for _ in remaining:
            start = time.perf_counter()
            await request()
            latencies.append(time.perf_counter() - start)

    await asyncio.gather(*(worker(r) for r in requests))
    return latencies


def _row(name: str, clients: int, latencies: list[float], wall_s: float) -> None:
    print(
        f"{name:<22}{clients:>8}{len(latencies) / wall_s:>10.0f}"
        f"{statistics.median(latencies) * 1000:>10.2f}{_p(latencies, 0.99) * 1000:>10.2f}"
    )


async def _models(server: LocalServer, total: int) -> None:
    async with httpx2.AsyncClient(limits=httpx2.Limits(max_connections=64)) as client:

        async def request() -> None:
            (await client.get(f"{server.base_url}/models")).raise_for_status()

        await request()
        for clients in CONCURRENCY:
            start = time.perf_counter()
            latencies = await _load([request] * clients, total)
            _row("GET /v1/models", clients, latencies, time.perf_counter() - start)


async def _realtime(server: LocalServer, total: int) -> None:
    url = f"{server.realtime_url}?model=gpt-realtime"
    for clients in CONCURRENCY:
        sockets = [await websockets.connect(url) for _ in range(clients)]
        for ws in sockets:
            await ws.recv()  # session.created

        def round_trip(ws: websockets.ClientConnection) -> Callable[[], Awaitable[None]]:
            async def request() -> None:
                await ws.send(SESSION_UPDATE)
                while json.loads(await ws.recv())["type"] != "session.updated":
                    pass

            return request

        start = time.perf_counter()
        latencies = await _load([round_trip(ws) for ws in sockets], total)
        _row("WS session.update", clients, latencies, time.perf_counter() - start)
        for ws in sockets:
            await ws.close()


async def _chat(server: LocalServer, repeats: int) -> None:
    engine = server.state.chat
    direct, through = [], []
    async with httpx2.AsyncClient(timeout=60) as client:
        for _ in range(repeats):
            start = time.perf_counter()
            await engine.acomplete(CHAT)
            direct.append(time.perf_counter() - start)
            start = time.perf_counter()
            (await client.post(f"{server.base_url}/chat/completions", json=CHAT)).raise_for_status()
            through.append(time.perf_counter() - start)
    med_direct, med_through = statistics.median(direct), statistics.median(through)
    print(
        f"chat completion, 1 client: engine alone {med_direct * 1000:.1f} ms, through the "
        f"server {med_through * 1000:.1f} ms, added {(med_through - med_direct) * 1000:.2f} ms "
        f"(median of {repeats})"
    )


LOAD_CONCURRENCY = (1, 32, 128)
THINK_S = 0.5  # a paced client's pause between requests: a voice turn's model wait
USER_TEXT = "Where is my order 381?"
LOAD_CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": USER_TEXT}]}
RESPONSE_CREATE = json.dumps(
    {"type": "response.create",
     "response": {"conversation": "none",
                  "input": [{"type": "message", "role": "user",
                             "content": [{"type": "input_text", "text": USER_TEXT}]}]}}
)  # fmt: skip
_LOG_WAIT_S = 30.0  # the server writes a line as each request ends; this bounds the wait
Request = Callable[[], Awaitable[None]]
"""Sends one request and waits for all of its answer."""


@dataclass
class LevelResult:
    """One concurrency level of one request kind."""

    client_s: list[float]
    wall_s: float
    server_cpu_s: float
    """CPU time the server process spent during the level (all its threads)."""


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _clients(requests: list[Request], total: int, think_s: float, pid: int) -> LevelResult:
    """``total`` requests shared by one client per callable, each pausing ``think_s`` between
    its requests (0: closed loop, the next request as soon as the last is answered)."""
    latencies: list[float] = []
    remaining = iter(range(total))

    async def client(index: int, request: Request) -> None:
        await asyncio.sleep(think_s * index / len(requests))  # paced clients start staggered
        for _ in remaining:
            start = time.perf_counter()
            await request()
            latencies.append(time.perf_counter() - start)
            if think_s:
                await asyncio.sleep(think_s)

    cpu_before, start = process_cpu_s(pid), time.perf_counter()
    await asyncio.gather(*(client(i, r) for i, r in enumerate(requests)))
    wall_s = time.perf_counter() - start - think_s  # the last pause sends nothing
    return LevelResult(latencies, wall_s, process_cpu_s(pid) - cpu_before)


class ServerLog:
    """Reads the lines the server appends to its request log, level by level."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0

    async def take(self, count: int, event: str | None = None) -> list[dict[str, Any]]:
        """The next ``count`` lines (of realtime ``event``, if given), once they are written."""
        deadline = time.monotonic() + _LOG_WAIT_S
        while True:
            with self.path.open("rb") as f:
                f.seek(self._offset)
                data = f.read()
            complete = data[: data.rfind(b"\n") + 1]
            lines = [json.loads(line) for line in complete.splitlines()]
            wanted = [e for e in lines if event is None or e.get("event") == event]
            if len(wanted) >= count:
                self._offset += len(complete)
                return wanted
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.path}: {len(wanted)} of {count} lines after a wait")
            await asyncio.sleep(0.01)


def _load_row(
    name: str, clients: int, think_s: float, level: LevelResult, server_ms: list[float]
) -> None:
    client_ms = [s * 1000 for s in level.client_s]
    mode = "closed" if not think_s else f"{think_s:g}s"
    print(
        f"{name:<16}{clients:>8}{mode:>7}{len(client_ms) / level.wall_s:>8.0f}"
        f"{statistics.median(client_ms):>9.2f}{_p(client_ms, 0.99):>9.2f}"
        f"{statistics.median(server_ms):>9.2f}{_p(server_ms, 0.99):>9.2f}"
        f"{level.server_cpu_s * 1000 / len(client_ms):>8.2f}"
    )


def _wav_upload(seconds: float = 1.0, rate_hz: int = 16_000) -> bytes:
    """A WAV file of a quiet tone: the synthetic backend decodes it but hears no words."""
    buffer = io.BytesIO()
    samples = 0.1 * np.sin(2 * np.pi * 220 * np.arange(int(seconds * rate_hz)) / rate_hz)
    sf.write(buffer, samples, rate_hz, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _levels() -> list[tuple[int, float]]:
    """(clients, think_s): closed loop at each level, then paced at the busy ones."""
    return [(n, 0.0) for n in LOAD_CONCURRENCY] + [(n, THINK_S) for n in LOAD_CONCURRENCY[1:]]


async def _http_levels(name: str, request: Request, log: ServerLog, total: int, pid: int) -> None:
    await request()  # warm up (imports, connections)
    await log.take(1)
    for clients, think_s in _levels():
        level = await _clients([request] * clients, total, think_s, pid)
        lines = await log.take(total)
        assert all(e["status"] == 200 for e in lines), {e["status"] for e in lines}
        _load_row(name, clients, think_s, level, [e["total_ms"] for e in lines])


async def _realtime_levels(realtime_url: str, log: ServerLog, total: int, pid: int) -> None:
    for clients, think_s in _levels():
        sockets = [await websockets.connect(realtime_url, max_size=None) for _ in range(clients)]
        for ws in sockets:
            await ws.recv()  # session.created

        def round_trip(ws: websockets.ClientConnection) -> Request:
            async def request() -> None:
                await ws.send(RESPONSE_CREATE)
                while json.loads(await ws.recv())["type"] != "response.done":
                    pass

            return request

        await round_trip(sockets[0])()  # warm up
        await log.take(1, "response.create")
        level = await _clients([round_trip(ws) for ws in sockets], total, think_s, pid)
        lines = await log.take(total, "response.create")
        _load_row("realtime resp.", clients, think_s, level, [e["processing_ms"] for e in lines])
        for ws in sockets:
            await ws.close()


async def run_synthetic_load(total: int) -> None:
    """The synthetic-backend table: req/s, client and server ms, server CPU per request."""
    with tempfile.TemporaryDirectory() as folder:
        log_path = Path(folder) / "requests.jsonl"
        with SubprocessServer("--backend", "synthetic", "--request-log", str(log_path)) as served:
            assert served.pid is not None
            pid, log, upload = served.pid, ServerLog(log_path), _wav_upload()
            limits = httpx2.Limits(max_connections=256, max_keepalive_connections=256)
            async with httpx2.AsyncClient(
                base_url=served.base_url, limits=limits, timeout=60
            ) as client:

                async def chat() -> None:
                    (await client.post("/chat/completions", json=LOAD_CHAT)).raise_for_status()

                async def transcription() -> None:
                    response = await client.post(
                        "/audio/transcriptions", data={"model": "whisper-1"},
                        files={"file": ("clip.wav", upload, "audio/wav")},
                    )  # fmt: skip
                    response.raise_for_status()

                print(f"synthetic backend, {total} requests per level (ms: p50, p99)")
                print(
                    f"{'request':<16}{'clients':>8}{'think':>7}{'req/s':>8}{'client50':>9}"
                    f"{'client99':>9}{'server50':>9}{'server99':>9}{'cpu/req':>8}"
                )
                await _http_levels("chat completion", chat, log, total, pid)
                await _http_levels("transcription", transcription, log, total, pid)
            realtime = served.base_url.replace("http://", "ws://") + "/realtime?model=gpt-realtime"
            await _realtime_levels(realtime, log, total, pid)


async def _local(total: int, chat_repeats: int) -> None:
    with LocalServer(ServerConfig(port=0)) as server:
        print(f"{'request':<22}{'clients':>8}{'req/s':>10}{'p50_ms':>10}{'p99_ms':>10}")
        await _models(server, total)
        await _realtime(server, total)
        await _chat(server, chat_repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400, help="requests per concurrency level")
    parser.add_argument("--chat-repeats", type=int, default=15, help="paired chat requests")
    parser.add_argument(
        "--backend", choices=("synthetic", "local", "both"), default="both",
        help="synthetic: load figures, no models; local: the server layer before real models",
    )  # fmt: skip
    args = parser.parse_args()
    if args.backend in ("synthetic", "both"):
        asyncio.run(run_synthetic_load(args.requests))
    if args.backend in ("local", "both"):
        asyncio.run(_local(args.requests, args.chat_repeats))


if __name__ == "__main__":
    main()
