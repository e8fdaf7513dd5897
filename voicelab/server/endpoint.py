"""The wrapper every HTTP route goes through: faults, errors in OpenAI's shape, never a hang."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from voicelab.errors import AudioError, ConfigError, ModelError, ServerRequestError
from voicelab.processing_time import PROCESSING_MS_HEADER, processing_ms_value
from voicelab.server.faults import FAULT_HEADER, FaultPlan, parse_fault_header
from voicelab.server.http_errors import error_response, injected_error
from voicelab.server.request_log import ENDPOINT_SCOPE_KEY
from voicelab.server.state import ServerState
from voicelab.server.streams import faulted

logger = logging.getLogger("voicelab.server")
Handler = Callable[[Request, ServerState, FaultPlan], Awaitable[Response]]


def route(endpoint: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap ``handler`` for ``endpoint`` (a fault-injection endpoint name).

    Every response carries ``openai-processing-ms``: the time from the request reaching the
    route to the response being ready, less the injected delay (the fault is not the server's
    work). A stream is ready when its first chunk is, so this is the server's time to first byte.
    """

    async def wrapped(request: Request) -> Response:
        started_ns = time.perf_counter_ns()
        request.scope[ENDPOINT_SCOPE_KEY] = endpoint
        state: ServerState = request.app.state.voicelab
        try:
            header = request.headers.get(FAULT_HEADER)
            plan = state.faults.plan(endpoint, parse_fault_header(header) if header else None)
        except ConfigError as e:
            error = error_response(ServerRequestError(400, str(e), "invalid_fault_header"))
            return _with_processing_time(error, started_ns)
        if plan.error_status is not None:
            error = injected_error(plan.error_status, plan.retry_after_s)
            return _with_processing_time(error, started_ns)
        if plan.ttfb_s:
            await asyncio.sleep(plan.ttfb_s)
        response = await _handle(request, state, plan, endpoint, handler)
        return _with_processing_time(response, started_ns, plan.ttfb_s)

    return wrapped


def _with_processing_time(response: Response, started_ns: int, injected_s: float = 0.0) -> Response:
    """``response`` with ``openai-processing-ms``: the time since ``started_ns``, less the
    delay injected."""
    processing_ns = time.perf_counter_ns() - started_ns - round(injected_s * 1e9)
    response.headers[PROCESSING_MS_HEADER] = processing_ms_value(processing_ns)
    return response


async def _handle(
    request: Request, state: ServerState, plan: FaultPlan, endpoint: str, handler: Handler
) -> Response:
    """The handler's response, or its failure in OpenAI's error shape."""
    try:
        response = await handler(request, state, plan)
    except ServerRequestError as e:
        return error_response(e)
    except (AudioError, ModelError) as e:
        return error_response(ServerRequestError(400, str(e), type(e).__name__))
    except Exception as e:  # a bug must still answer, in the API's shape
        logger.exception("internal error on %s", endpoint)
        return error_response(
            ServerRequestError(500, f"internal error: {type(e).__name__}", "internal")
        )
    if plan.disturbs_stream and not isinstance(response, StreamingResponse):
        return _as_disturbed_stream(response, plan)
    return response


def _as_disturbed_stream(response: Response, plan: FaultPlan) -> StreamingResponse:
    """A whole response sent as a one-chunk stream, so a drop or stall can hit it too."""

    async def body() -> AsyncIterator[bytes]:
        yield bytes(response.body)

    return StreamingResponse(
        faulted(body(), plan),
        status_code=response.status_code,
        headers={k: v for k, v in response.headers.items() if k != "content-length"},
    )


async def json_body(request: Request, state: ServerState) -> dict[str, Any]:
    """The request's JSON object body, or a 400/413 that says what is wrong."""
    raw = await read_body(request, state)
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ServerRequestError(400, f"request body is not valid JSON: {e}", "invalid_json") from e
    if not isinstance(body, dict):
        raise ServerRequestError(400, "request body must be a JSON object", "invalid_json")
    return body


async def read_body(request: Request, state: ServerState) -> bytes:
    """The raw body, refusing anything over the configured limit with 413."""
    limit = state.config.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ServerRequestError(413, f"request body exceeds {limit} bytes", "request_too_large")
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > limit:
            raise ServerRequestError(
                413, f"request body exceeds {limit} bytes", "request_too_large"
            )
    return bytes(body)


def field(
    body: dict[str, Any], name: str, kinds: type | tuple[type, ...], default: Any = None
) -> Any:
    """``body[name]`` checked against ``kinds`` (400 naming the field otherwise)."""
    value = body.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
        raise ServerRequestError(
            400, f"'{name}' has the wrong type (got a boolean)", "invalid_type", name
        )
    if not isinstance(value, kinds):
        raise ServerRequestError(
            400, f"'{name}' has the wrong type (got {type(value).__name__})", "invalid_type", name
        )
    return value


async def stream_response(
    chunks: AsyncIterator[bytes], plan: FaultPlan, media_type: str
) -> StreamingResponse:
    """A streamed body with the plan's pace, drops and stalls applied, answered once its first
    chunk is ready: the headers go out with the first bytes, and an error before them is a
    proper error status rather than a cut stream."""
    first = await anext(chunks, None)
    return StreamingResponse(faulted(_starting_with(first, chunks), plan), media_type=media_type)


async def _starting_with(first: bytes | None, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first is None:
        return
    yield first
    async for chunk in rest:
        yield chunk
