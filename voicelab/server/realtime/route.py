"""``/v1/realtime``: OpenAI's Realtime API (GA protocol) served by the local cascade.

Whisper hears the committed turns, the local chat model answers and Piper speaks, with server
VAD (Silero) deciding turns. ``?model=`` opens a conversation session; ``?intent=transcription``
a transcription session, as the Agents SDK's streamed STT opens. The connection's faults come
from the server's fault config and the ``X-Voicelab-Faults`` header.
"""

from __future__ import annotations

import logging

from starlette.websockets import WebSocket

from voicelab.errors import ChannelClosedError, ClientEventError, ConfigError
from voicelab.server.catalog import REALTIME_MODELS
from voicelab.server.faults import FAULT_HEADER, FaultPlan, parse_fault_header
from voicelab.server.http_errors import error_body
from voicelab.server.realtime.channel import EventChannel
from voicelab.server.realtime.config import SessionKind
from voicelab.server.realtime.events import error_event
from voicelab.server.realtime.session import RealtimeSession
from voicelab.server.state import ServerState

logger = logging.getLogger("voicelab.server")
_POLICY_CLOSE_CODE = 1008  # the request itself is wrong (unknown model, bad header)
_TRY_AGAIN_CLOSE_CODE = 1013  # 429 and 503: come back later
_SERVER_ERROR_CLOSE_CODE = 1011
_SUBPROTOCOL = "realtime"  # browsers' clients offer it alongside their key


async def realtime_endpoint(websocket: WebSocket) -> None:
    """Serve one realtime connection until either side closes it."""
    state: ServerState = websocket.app.state.voicelab
    offered = websocket.scope.get("subprotocols") or []
    await websocket.accept(subprotocol=_SUBPROTOCOL if _SUBPROTOCOL in offered else None)
    channel = EventChannel(websocket, FaultPlan())
    try:
        plan = _fault_plan(websocket, state)
        kind, model = _session_kind(websocket)
    except ClientEventError as e:
        await _refuse(channel, e, _POLICY_CLOSE_CODE)
        return
    if plan.error_status is not None:
        await _refuse(channel, _injected_error(plan.error_status), _close_code(plan.error_status))
        return
    channel.plan = plan
    try:
        await RealtimeSession(websocket, state, channel, kind, model).run()
    finally:
        await channel.close()


def _fault_plan(websocket: WebSocket, state: ServerState) -> FaultPlan:
    header = websocket.headers.get(FAULT_HEADER)
    try:
        return state.faults.plan("realtime", parse_fault_header(header) if header else None)
    except ConfigError as e:
        raise ClientEventError(str(e), "invalid_fault_header", FAULT_HEADER) from e


def _session_kind(websocket: WebSocket) -> tuple[SessionKind, str | None]:
    """``realtime`` with its model, or ``transcription``; a ``ClientEventError`` otherwise."""
    intent = websocket.query_params.get("intent")
    model = websocket.query_params.get("model")
    if intent == "transcription":
        return "transcription", model
    if intent is not None:
        raise ClientEventError(
            f"Invalid intent {intent!r}; use intent=transcription or a model.",
            "invalid_value", "intent",
        )  # fmt: skip
    if not model:
        raise ClientEventError(
            "You must provide a model parameter (?model=...).", "missing_model", "model"
        )
    if model not in REALTIME_MODELS:
        raise ClientEventError(
            f"The model `{model}` does not exist for realtime on this local server "
            f"(served: {', '.join(sorted(REALTIME_MODELS))}).",
            "model_not_found", "model",
        )  # fmt: skip
    return "realtime", model


def _injected_error(status: int) -> ClientEventError:
    error = error_body(status, f"Injected fault: HTTP {status}.", "injected_fault")["error"]
    assert isinstance(error, dict)
    code = "rate_limit_exceeded" if status == 429 else "injected_fault"
    return ClientEventError(str(error["message"]), code, None, None, str(error["type"]))


def _close_code(status: int) -> int:
    return _TRY_AGAIN_CLOSE_CODE if status in (429, 503) else _SERVER_ERROR_CLOSE_CODE


async def _refuse(channel: EventChannel, error: ClientEventError, close_code: int) -> None:
    """Say why in an ``error`` event, then close."""
    try:
        await channel.send(error_event(error))
    except ChannelClosedError:
        logger.debug("client left before the refusal was sent")
    await channel.close(close_code, error.code[:100])
