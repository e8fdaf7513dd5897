"""The wrapper every HTTP route goes through: faults, errors in OpenAI's shape, never a hang."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from voicelab.errors import AudioError, ConfigError, ModelError, ServerRequestError
from voicelab.processing_time import PROCESSING_MS_HEADER, processing_ms_value
from voicelab.server.bodies import BodyRefusedError
from voicelab.server.faults import FAULT_HEADER, FaultPlan, parse_fault_header
from voicelab.server.http_errors import error_response, injected_error
from voicelab.server.request_log import ENDPOINT_SCOPE_KEY
from voicelab.server.state import ServerState
from voicelab.server.streams import ClosingStreamingResponse, faulted

T = TypeVar("T")
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
        # a body refused unread (too large, too slow, malformed) leaves the connection unusable
        return error_response(
            e, {"connection": "close"} if isinstance(e, BodyRefusedError) else None
        )
    except (AudioError, ModelError) as e:
        return error_response(ServerRequestError(400, str(e), type(e).__name__))
    except (ClientGone, ClientDisconnect):
        logger.info("%s %s: the client left; its work stopped", request.method, request.url.path)
        return Response(status_code=499)  # never sent: nobody is there to read it
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

    return ClosingStreamingResponse(
        faulted(body(), plan),
        status_code=response.status_code,
        headers={k: v for k, v in response.headers.items() if k != "content-length"},
    )


class ClientGone(Exception):
    """The client disconnected while the server worked on its request."""


async def unless_client_leaves(request: Request, work: Awaitable[T]) -> T:
    """``work``'s result, or ``ClientGone`` once the client disconnects (``work`` cancelled).

    Call it after the body is read: it then listens for the client's disconnect.
    """

    async def disconnected() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(disconnected())
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            return task.result()
        raise ClientGone
    finally:
        for pending in (task, watcher):
            pending.cancel()
        await asyncio.gather(task, watcher, return_exceptions=True)


async def prefetched(items: AsyncIterator[T]) -> AsyncIterator[T]:
    """``items`` with its first item already produced, so that an error before it (a bad
    request the model refuses) is raised here, before any response starts."""
    first = await anext(items, _END)
    return _starting_with(first, items)


_END: Any = object()


async def _starting_with(first: T, rest: AsyncIterator[T]) -> AsyncIterator[T]:
    if first is _END:
        return
    try:
        yield first
        async for item in rest:
            yield item
    finally:
        aclose = getattr(rest, "aclose", None)
        if aclose is not None:
            await aclose()


async def stream_response(
    request: Request, chunks: AsyncIterator[bytes], plan: FaultPlan, media_type: str
) -> StreamingResponse:
    """A streamed body with the plan's pace, drops and stalls applied, answered once its first
    chunk is ready: the headers go out with the first bytes, and an error before them is a
    proper error status rather than a cut stream. A client leaving stops ``chunks``."""
    started = await unless_client_leaves(request, prefetched(chunks))
    return ClosingStreamingResponse(faulted(started, plan), media_type=media_type)
