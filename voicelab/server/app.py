"""The local OpenAI-compatible server: routes, key check and shared state, composed."""

from __future__ import annotations

import time

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from voicelab.server.auth import BearerKeyMiddleware
from voicelab.server.backend_header import BackendHeaderMiddleware
from voicelab.server.catalog import ALL_MODELS
from voicelab.server.endpoint import route
from voicelab.server.faults import FaultPlan
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
    )
    app.state.voicelab = state
    return app
