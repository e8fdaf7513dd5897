"""The server's request log: one JSON line per HTTP request and per realtime event that starts work.

Each line has the wall-clock ``time`` (``time.time()``) the request arrived, ``kind`` (``http`` or
``realtime``), ``endpoint`` (the fault-injection name: ``chat``, ``transcriptions``...; null for
an unknown path), ``method``, ``path``, ``status`` and ``processing_ms`` (arrival to the response
headers). HTTP lines add ``total_ms`` (arrival to the last body byte, or to the client leaving);
realtime lines add ``event``: ``session.open`` (the handshake, status 101 when accepted),
``response.create`` (a response started, by the client or by server VAD; ``processing_ms`` to
its end, status null) or ``transcription`` (a committed turn's speech to text). No header, body or
query string is written, so no key or content reaches the file. Lines are appended and flushed
one by one, in the order requests finish; it is a measurement of the server, e.g. of the request
rate a client really achieved.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import IO, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ENDPOINT_SCOPE_KEY = "voicelab.endpoint"
"""Where a route writes its endpoint name in the ASGI scope, for the log to read."""


class RequestLog:
    """Appends JSON lines to ``path`` (nothing at all when it is None), thread-safely."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self._file: IO[str] | None = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """Whether lines are written."""
        return self.path is not None

    def write(self, entry: dict[str, Any]) -> None:
        """Append ``entry`` as one line and flush it."""
        if self.path is None:
            return
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        with self._lock:
            if self._file is None:
                self._file = self.path.open("a", encoding="utf-8")
            self._file.write(line)
            self._file.flush()

    def realtime_event(
        self, event: str, started_s: float, started_ns: int, status: int | None = None
    ) -> None:
        """A realtime line for ``event``, begun at ``started_s`` (wall) / ``started_ns``."""
        if self.path is None:
            return
        self.write(
            {"time": started_s, "kind": "realtime", "endpoint": "realtime", "method": "WS",
             "path": "/v1/realtime", "event": event, "status": status,
             "processing_ms": _ms_since(started_ns)}
        )  # fmt: skip

    def close(self) -> None:
        """Close the file; a later line opens it again."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def _ms_since(started_ns: int) -> float:
    return round((time.perf_counter_ns() - started_ns) / 1e6, 3)


class RequestLogMiddleware:
    """Writes the line of every HTTP request, and of every realtime handshake, to the log."""

    def __init__(self, app: ASGIApp, log: RequestLog) -> None:
        self.app = app
        self._log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not self._log.enabled:
            await self.app(scope, receive, send)
            return
        started_s, started_ns = time.time(), time.perf_counter_ns()
        facts: dict[str, Any] = {"status": None, "processing_ms": None}
        websocket = scope["type"] == "websocket"

        def entry() -> dict[str, Any]:
            base = {"time": started_s, "kind": "realtime" if websocket else "http",
                    "endpoint": "realtime" if websocket else scope.get(ENDPOINT_SCOPE_KEY),
                    "method": scope.get("method", "GET"), "path": scope["path"]}  # fmt: skip
            if websocket:
                return {**base, "event": "session.open", **facts}
            return {**base, **facts, "total_ms": _ms_since(started_ns)}

        async def send_logged(message: Message) -> None:
            kind = message["type"]
            if kind in ("http.response.start", "websocket.http.response.start"):
                facts["status"], facts["processing_ms"] = message["status"], _ms_since(started_ns)
            elif kind == "websocket.accept":
                facts["status"], facts["processing_ms"] = 101, _ms_since(started_ns)
                self._log.write(entry())
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            if not websocket or facts["status"] != 101:
                self._log.write(entry())
