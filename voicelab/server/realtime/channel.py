"""The outgoing side of a realtime socket: ordered sends, event ids, and injected faults."""

from __future__ import annotations

import asyncio
import json
import logging

from starlette.websockets import WebSocket, WebSocketDisconnect

from voicelab.errors import ChannelClosedError
from voicelab.server.faults import FaultPlan
from voicelab.server.realtime.events import Event, new_id

logger = logging.getLogger("voicelab.server")
DROP_CLOSE_CODE = 1011  # "internal error": how an injected drop looks to the client


class EventChannel:
    """Sends server events one at a time, applying the connection's fault plan to responses.

    Only events that belong to a response count towards ``drop_after_chunks`` and
    ``stall_after_chunks``; session and input events are never faulted.
    """

    def __init__(self, websocket: WebSocket, plan: FaultPlan) -> None:
        self.plan = plan
        self.closed = asyncio.Event()
        """Set once nothing more may be sent: the client left, a drop, or the session ending."""
        self.close_reason = "the client left"
        """Why ``closed`` is set, for the one log line of a response cut short."""
        self._websocket = websocket
        self._close_sent = False
        self._lock = asyncio.Lock()
        self._response_events = 0
        self._stalled = False

    async def send(self, event: Event, *, in_response: bool = False) -> None:
        """Send ``event`` with a fresh ``event_id``; raises ``ChannelClosedError`` once closed."""
        async with self._lock:
            if self.closed.is_set():
                raise ChannelClosedError("the realtime socket is closed")
            if in_response:
                await self._apply_faults()
            payload = {"type": event["type"], "event_id": new_id("event"), **event}
            try:
                await self._websocket.send_text(json.dumps(payload))
                # uvicorn's send does not yield while the socket is writable: without this, a
                # response streaming audio would never let the loop see the client leave, and
                # every write to the dead socket would log "socket.send() raised exception".
                await asyncio.sleep(0)
            except (WebSocketDisconnect, RuntimeError, OSError) as e:
                self.closed.set()
                raise ChannelClosedError("the client closed the realtime socket") from e
            if in_response:
                self._response_events += 1

    async def pace(self) -> None:
        """The injected delay between streamed audio deltas."""
        if self.plan.chunk_delay_s:
            await asyncio.sleep(self.plan.chunk_delay_s)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the socket (once); later sends raise ``ChannelClosedError``."""
        self.closed.set()
        if self._close_sent:
            return
        self._close_sent = True
        try:
            await self._websocket.close(code=code, reason=reason)
        except (WebSocketDisconnect, RuntimeError, OSError):  # the client has already gone
            logger.debug("realtime socket was already closed")

    async def _apply_faults(self) -> None:
        plan, sent = self.plan, self._response_events
        if plan.drop_after_chunks is not None and sent >= plan.drop_after_chunks:
            self.close_reason = f"an injected drop after {sent} response events"
            await self.close(DROP_CLOSE_CODE, "injected drop")
            raise ChannelClosedError(f"injected drop after {sent} response events")
        stall_due = plan.stall_after_chunks is not None and sent >= plan.stall_after_chunks
        if stall_due and not self._stalled:
            self._stalled = True
            await asyncio.sleep(plan.stall_s)
