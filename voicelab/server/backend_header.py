"""Every HTTP response and WebSocket handshake names the server's backend, so clients label rows."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voicelab.providers.server_backend import BACKEND_HEADER

_STARTS = ("http.response.start", "websocket.accept", "websocket.http.response.start")


class BackendHeaderMiddleware:
    """Adds ``x-voicelab-backend: <label>`` to each response's headers (errors included)."""

    def __init__(self, app: ASGIApp, label: str) -> None:
        self.app = app
        self._header = (BACKEND_HEADER.encode(), label.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return

        async def send_named(message: Message) -> None:
            if message["type"] in _STARTS:
                message["headers"] = [*(message.get("headers") or []), self._header]
            await send(message)

        await self.app(scope, receive, send_named)
