"""Streamed HTTP responses: the fault plan applied (pace, drop, stall), and a clean end when the
server cuts a stream on purpose or the client leaves.

An injected drop is one log line, not a traceback; a client that leaves stops the work that
feeds its stream (the producer threads of ``iterate_in_thread`` stop with their consumer).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextvars import ContextVar
from typing import TypeVar

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from voicelab.errors import InjectedDropError
from voicelab.server.faults import FaultPlan

T = TypeVar("T")
logger = logging.getLogger("voicelab.server")
# uvicorn's complaint when an app returns with its response unfinished, as a cut stream does
_UNFINISHED_RESPONSE = "ASGI callable returned without completing response."
# set in a request's task when the server cut its response on purpose (uvicorn logs after the
# app returns, in the same task, so its filter sees it)
_CUT_ON_PURPOSE: ContextVar[bool] = ContextVar("voicelab_cut_on_purpose", default=False)


async def faulted(items: AsyncIterator[T], plan: FaultPlan) -> AsyncIterator[T]:
    """``items`` with the plan's pace between them, cut or stalled where the plan says."""
    sent = 0
    async for item in items:
        if plan.drop_after_chunks is not None and sent >= plan.drop_after_chunks:
            raise InjectedDropError(f"injected drop after {sent} chunks")
        if plan.stall_after_chunks is not None and sent >= plan.stall_after_chunks:
            await asyncio.sleep(plan.stall_s)
            return
        if sent and plan.chunk_delay_s:
            await asyncio.sleep(plan.chunk_delay_s)
        yield item
        sent += 1
    if plan.drop_after_chunks is not None:  # a stream shorter than the drop point still drops
        raise InjectedDropError(f"injected drop after {sent} chunks")


class CutStreamFilter(logging.Filter):
    """Drops uvicorn's "returned without completing response" for a stream the server cut on
    purpose: the cut is logged once, by ``ClosingStreamingResponse``."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (_CUT_ON_PURPOSE.get() and record.msg == _UNFINISHED_RESPONSE)


class ClosingStreamingResponse(StreamingResponse):
    """A stream whose source is always closed when the response ends, however it ends.

    An injected drop closes the connection with one log line; a client leaving mid-stream
    (Starlette then cancels the sending) is logged once, and its source stops at once.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        source = self.body_iterator
        finished = False

        async def tracked() -> AsyncGenerator[bytes | str | memoryview, None]:
            nonlocal finished
            async for chunk in source:
                yield chunk
            finished = True

        wrapped = tracked()
        self.body_iterator = wrapped
        where = f"{scope.get('method', '')} {scope.get('path', '')}"
        try:
            await super().__call__(scope, receive, send)
        except InjectedDropError as e:
            _CUT_ON_PURPOSE.set(True)
            logger.warning("%s: %s; connection cut", where, e)
            return
        finally:
            await wrapped.aclose()
            aclose = getattr(source, "aclose", None)
            if aclose is not None:
                await aclose()
        if not finished:
            logger.info("%s: the client left mid-response; its work stopped", where)
