"""Benchmark the local server's own HTTP/WebSocket layer, apart from the models behind it.

    .venv/bin/python benchmarks/server.py [--requests 200]

For 1, 8 and 32 concurrent clients on 127.0.0.1 it prints requests per second and median/p99
latency of requests that do no model work (``GET /v1/models``, and a Realtime WebSocket
``session.update`` round trip), which is the server layer's whole cost. For a model request
(a short chat completion) at one client it prints the median wall time through the server
against the same request run directly on the engine in this process: the difference is the
layer's added latency on a real request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable

import httpx2
import websockets

from voicelab import LocalServer, ServerConfig

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
            await asyncio.to_thread(engine.complete, CHAT)
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


async def _main(total: int, chat_repeats: int) -> None:
    with LocalServer(ServerConfig(port=0)) as server:
        print(f"{'request':<22}{'clients':>8}{'req/s':>10}{'p50_ms':>10}{'p99_ms':>10}")
        await _models(server, total)
        await _realtime(server, total)
        await _chat(server, chat_repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400, help="requests per concurrency level")
    parser.add_argument("--chat-repeats", type=int, default=15, help="paired chat requests")
    args = parser.parse_args()
    asyncio.run(_main(args.requests, args.chat_repeats))


if __name__ == "__main__":
    main()
