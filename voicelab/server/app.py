"""The local OpenAI-compatible server: routes, key check and shared state, composed."""

from __future__ import annotations

import time

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from voicelab.errors import ServerRequestError
from voicelab.server.auth import BearerKeyMiddleware
from voicelab.server.backend_header import BackendHeaderMiddleware
from voicelab.server.catalog import ALL_MODELS
from voicelab.server.endpoint import route
from voicelab.server.faults import FaultPlan
from voicelab.server.http_errors import error_response
from voicelab.server.realtime.route import realtime_endpoint
from voicelab.server.request_log import RequestLogMiddleware
from voicelab.server.routes_audio import speech, transcriptions
from voicelab.server.routes_text import chat_completions, responses
from voicelab.server.state import ServerConfig, ServerState


async def list_models(request: Request, state: ServerState, plan: FaultPlan) -> Response:
    """``GET /v1/models``: every name this server answers to."""
    created = int(time.time())
    data = [
        {"id": name, "object": "model", "created": created, "owned_by": "voicelab-local"}
        for name in sorted(ALL_MODELS)
    ]
    return JSONResponse({"object": "list", "data": data})


async def routing_error(request: Request, exc: Exception) -> Response:
    """Unknown paths (404) and wrong methods (405) in OpenAI's error shape, as its API says."""
    assert isinstance(exc, HTTPException)
    what = "Invalid URL" if exc.status_code == 404 else "Invalid method for URL"
    message = f"{what} ({request.method} {request.url.path})"
    return error_response(
        ServerRequestError(exc.status_code, message), dict(exc.headers or {}) or None
    )


def create_app(config: ServerConfig | None = None, state: ServerState | None = None) -> Starlette:
    """The ASGI app for ``config`` (or an existing ``state``, to share loaded models)."""
    state = state or ServerState(config or ServerConfig())
    app = Starlette(
        routes=[
            Route("/v1/models", route("models", list_models), methods=["GET"]),
            Route(
                "/v1/audio/transcriptions",
                route("transcriptions", transcriptions),
                methods=["POST"],
            ),
            Route("/v1/audio/speech", route("speech", speech), methods=["POST"]),
            Route("/v1/chat/completions", route("chat", chat_completions), methods=["POST"]),
            Route("/v1/responses", route("responses", responses), methods=["POST"]),
            WebSocketRoute("/v1/realtime", realtime_endpoint),
        ],
        middleware=[
            Middleware(BackendHeaderMiddleware, label=state.backend.label),
            Middleware(RequestLogMiddleware, log=state.request_log),
            Middleware(BearerKeyMiddleware, api_key=state.config.api_key),
        ],
        exception_handlers={HTTPException: routing_error},
    )
    app.state.voicelab = state
    return app
