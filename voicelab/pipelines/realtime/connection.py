"""One Realtime WebSocket: the session opened and configured, server events stamped on arrival.

A reader task takes every message off the socket as soon as it arrives and stamps it with the
pipeline's clock before anything else happens, so a slow step in the turn's own handling (a
tool call, say) never shifts a latency stamp.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openai import OpenAIError
from websockets.exceptions import ConnectionClosed, WebSocketException

from voicelab.clock import Clock
from voicelab.error_mapping import as_voicelab_error, service_error_class
from voicelab.errors import ConnectionDroppedError, RemoteTimeoutError, ServiceError
from voicelab.pipelines.realtime.backend import realtime_client, realtime_url, session_backend
from voicelab.providers.openai_endpoint import OpenAIEndpoint

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from openai.resources.realtime.realtime import AsyncRealtimeConnection

Meter = Callable[[], AbstractContextManager[None]]


def server_error(event: Mapping[str, Any], what: str = "realtime error") -> ServiceError:
    """The ``error`` event as voicelab's class for its type, naming its code and message."""
    error = event.get("error") or {}
    code = error.get("code") or error.get("type")
    cls = service_error_class(error_type=error.get("type"), code=error.get("code"))
    return cls(f"{what} {code}: {error.get('message') or 'no message'}", code=code)


@dataclass(frozen=True)
class ServerEvent:
    """A server event as JSON, with the clock reading taken when it came off the socket."""

    type: str
    data: Mapping[str, Any]
    received_ns: int


@dataclass(frozen=True)
class _Closed:
    reason: str


class RealtimeSocket:
    """An open, configured Realtime session; use ``open`` to make one."""

    def __init__(
        self,
        connection: AsyncRealtimeConnection,
        client: AsyncOpenAI,
        clock: Clock,
        meter: Meter = nullcontext,
    ) -> None:
        self.backend: str | None = None
        """What ``session.created`` named as the backend, if anything."""
        self.rate_limits: list[Mapping[str, Any]] | None = None
        """The latest ``rate_limits.updated`` payload."""
        self.meter = meter
        """Counts voicelab's own work (JSON, base64) as harness overhead."""
        self._connection = connection
        self._client = client
        self._clock = clock
        self._queue: asyncio.Queue[ServerEvent | _Closed] = asyncio.Queue()
        self._closed: _Closed | None = None
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(
        cls,
        endpoint: OpenAIEndpoint,
        url: str | None,
        model: str,
        session: Mapping[str, Any],
        *,
        clock: Clock,
        timeout_s: float,
        meter: Meter = nullcontext,
    ) -> RealtimeSocket:
        """Connect, wait for ``session.created``, send ``session``, wait for ``session.updated``."""
        where = realtime_url(endpoint, url)
        client = realtime_client(endpoint, url)
        try:
            async with asyncio.timeout(timeout_s):
                connection = await client.realtime.connect(model=model).enter()
        except TimeoutError as e:
            await client.close()
            raise RemoteTimeoutError(f"{where}: no connection within {timeout_s:g} s") from e
        except (OSError, WebSocketException, OpenAIError) as e:
            await client.close()
            secrets = [endpoint.api_key or ""]
            raise as_voicelab_error(e, where=f"{where}: cannot connect", secrets=secrets) from e
        socket = cls(connection, client, clock, meter)
        try:
            async with asyncio.timeout(timeout_s):
                created = await socket.expect("session.created")
                socket.backend = session_backend(created.data)
                await socket.send({"type": "session.update", "session": dict(session)})
                await socket.expect("session.updated")
        except BaseException as e:
            await socket.close()
            if isinstance(e, TimeoutError):
                raise RemoteTimeoutError(
                    f"{where}: the session was not configured within {timeout_s:g} s"
                ) from e
            raise
        return socket

    @property
    def closed(self) -> bool:
        """Whether the socket has closed (nothing more will arrive)."""
        return self._closed is not None

    async def _read(self) -> None:
        try:
            while True:
                message = await self._connection.recv_bytes()
                received_ns = self._clock.now_ns()
                with self.meter():
                    try:
                        data = json.loads(message)
                    except json.JSONDecodeError as e:
                        error = {"type": "server_error", "code": "invalid_server_event",
                                 "message": f"not JSON: {e.msg}"}  # fmt: skip
                        data = {"type": "error", "error": error}
                    event = ServerEvent(str(data.get("type")), data, received_ns)
                    if event.type == "rate_limits.updated":
                        self.rate_limits = data.get("rate_limits")
                self._queue.put_nowait(event)
        except ConnectionClosed as e:
            self._closed = _Closed(f"the realtime socket closed ({e})")
        except (OSError, WebSocketException) as e:
            self._closed = _Closed(f"the realtime socket failed ({type(e).__name__}: {e})")
        self._queue.put_nowait(self._closed)

    async def next(self) -> ServerEvent:
        """The next server event; ``ConnectionDroppedError`` once the socket has closed."""
        item = await self._queue.get()
        if isinstance(item, _Closed):
            self._queue.put_nowait(item)  # every later call fails the same way
            raise ConnectionDroppedError(item.reason)
        return item

    async def expect(self, event_type: str) -> ServerEvent:
        """Skip events up to the first of ``event_type``; an ``error`` event is raised."""
        while True:
            event = await self.next()
            if event.type == "error":
                raise server_error(event.data, "realtime session rejected:")
            if event.type == event_type:
                return event

    def discard_pending(self) -> int:
        """Drop events already received (left over from an earlier turn); how many."""
        dropped = 0
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if isinstance(item, _Closed):
                self._queue.put_nowait(item)
                break
            dropped += 1
        return dropped

    async def send(self, event: Mapping[str, Any]) -> None:
        """Send one client event as JSON."""
        with self.meter():
            payload = json.dumps(event)
        await self.send_text(payload)

    async def send_text(self, payload: str) -> None:
        """Send a client event already encoded as JSON text."""
        try:
            await self._connection.send_raw(payload)
        except (ConnectionClosed, OSError) as e:
            raise ConnectionDroppedError(
                self._closed.reason if self._closed else f"the realtime socket closed ({e})"
            ) from e

    async def close(self) -> None:
        """Close the socket and stop reading; safe to call more than once."""
        self._reader.cancel()
        with suppress(ConnectionClosed, OSError, WebSocketException):  # already gone: fine
            await self._connection.close()
        await asyncio.gather(self._reader, return_exceptions=True)
        await self._client.close()
