"""Bearer-key check for every HTTP request and WebSocket, when the server has a key."""

from __future__ import annotations

import hmac
import json

from starlette.types import ASGIApp, Receive, Scope, Send

from voicelab.server.http_errors import error_body


class BearerKeyMiddleware:
    """Answers 401 (HTTP, and the WebSocket handshake) unless the bearer key matches."""

    def __init__(self, app: ASGIApp, api_key: str | None) -> None:
        self.app = app
        self._expected = f"Bearer {api_key}".encode() if api_key else None

    def _authorised(self, scope: Scope) -> bool:
        if self._expected is None:
            return True
        given = dict(scope.get("headers") or []).get(b"authorization", b"")
        return hmac.compare_digest(given, self._expected)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self._authorised(scope):
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            error_body(401, "Incorrect API key provided.", "invalid_api_key")
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        prefix = "websocket.http." if scope["type"] == "websocket" else "http."
        if scope["type"] == "websocket":
            await receive()  # the websocket.connect event
        await send({"type": f"{prefix}response.start", "status": 401, "headers": headers})
        await send({"type": f"{prefix}response.body", "body": body})
