"""One realtime connection: client events in, the cascade's server events out.

Client events are handled one at a time, in order; transcriptions and responses run as tasks
so the socket keeps reading (a ``response.cancel`` is seen while a response speaks). A bad
event is answered with an ``error`` event and the session goes on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import numpy as np
from openai.types.realtime import RealtimeResponseCreateParams
from starlette.websockets import WebSocket

from voicelab.audio import clip_from_array
from voicelab.audio_formats import PCM_RATE_HZ, PCM_SAMPLE_BYTES
from voicelab.errors import ChannelClosedError, ClientEventError
from voicelab.providers.speculation import SpeculativeTranscript
from voicelab.server.realtime.channel import EventChannel
from voicelab.server.realtime.client_events import (
    buffer_full_error,
    check_event,
    checked_item,
    commit_empty_error,
    decode_pcm16,
    parse_client_event,
)
from voicelab.server.realtime.config import (
    SessionKind,
    apply_update,
    check_model_payload,
    check_tools,
    default_session,
    from_beta,
    transcription_enabled,
    turn_detection,
)
from voicelab.server.realtime.conversation import Conversation
from voicelab.server.realtime.events import Event, error_event, new_id, user_audio_item
from voicelab.server.realtime.input import MIN_COMMIT_MS, InputAudioBuffer
from voicelab.server.realtime.limits import check_response_limits
from voicelab.server.realtime.response import CascadeResponse, ResponseSettings
from voicelab.server.state import ServerState
from voicelab.vad import VadEvent

logger = logging.getLogger("voicelab.server")
Handler = Callable[["RealtimeSession", Event, "str | None"], Awaitable[None]]


class RealtimeSession:
    """The state of one connection and the handler of each client event type."""

    def __init__(
        self,
        websocket: WebSocket,
        state: ServerState,
        channel: EventChannel,
        kind: SessionKind,
        model: str | None,
    ) -> None:
        backend = {"backend": state.backend.realtime_label, "stt": state.stt.model_name,
                   "llm": state.chat.model_name, "tts": state.tts.model_name}  # fmt: skip
        self.session = default_session(kind, model, backend)
        self.conversation = Conversation()
        self._conversation_id = new_id("conv")
        self._websocket = websocket
        self._state = state
        self._channel = channel
        self._input = InputAudioBuffer(state.config.max_input_buffer_bytes)
        self._speech_item_id: str | None = None
        self._response: tuple[CascadeResponse, asyncio.Task[None]] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._speculation = SpeculativeTranscript()

    async def run(self) -> None:
        """Greet with ``session.created``, then serve client events until the socket closes."""
        closed = asyncio.ensure_future(self._channel.closed.wait())
        try:
            await self._input.configure(turn_detection(self.session))
            await self._channel.send({"type": "session.created", "session": self.session})
            while True:
                receive = asyncio.ensure_future(self._websocket.receive())
                await asyncio.wait({receive, closed}, return_when=asyncio.FIRST_COMPLETED)
                if not receive.done():  # an injected drop closed the socket
                    receive.cancel()
                    break
                message = receive.result()
                if message["type"] == "websocket.disconnect":
                    break
                await self._dispatch(message.get("text"), message.get("bytes"))
        except ChannelClosedError:
            pass
        finally:
            closed.cancel()
            await self._shutdown()

    async def _shutdown(self) -> None:
        self._channel.closed.set()  # responses stop without trying to finish
        tasks = [*self._tasks, *([self._response[1]] if self._response else [])]
        for task in tasks:
            task.cancel()
        self.conversation.cancel_transcriptions()
        self._speculation.discard()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _dispatch(self, text: str | None, data: bytes | None) -> None:
        event_id: str | None = None
        try:
            event = parse_client_event(text, data)
            event_id = event.get("event_id")
            handler = _HANDLERS.get(event["type"])
            if handler is None:
                raise ClientEventError(
                    f"Invalid value: '{event['type']}'. Supported values are: "
                    f"{', '.join(sorted(_HANDLERS))}.",
                    "invalid_value", "type", event_id,
                )  # fmt: skip
            check_event(event, event_id)
            await handler(self, event, event_id)
        except ClientEventError as e:
            await self._channel.send(error_event(e))
        except ChannelClosedError:
            raise
        except Exception as e:  # a bug must answer in the API's shape, not kill the socket
            logger.exception("realtime event failed")
            error = ClientEventError(
                f"internal error: {type(e).__name__}", "internal_error", None, event_id,
                "server_error",
            )  # fmt: skip
            await self._channel.send(error_event(error))

    async def _session_update(self, event: Event, event_id: str | None) -> None:
        self.session = apply_update(self.session, event.get("session"), event_id)
        await self._input.configure(turn_detection(self.session))
        self._speculation.discard()
        await self._channel.send({"type": "session.updated", "session": self.session})

    async def _append(self, event: Event, event_id: str | None) -> None:
        pcm = decode_pcm16(event["audio"], "audio", event_id)
        if len(pcm) > self._input.room_bytes:
            raise buffer_full_error(len(pcm), self._input.max_bytes, event_id)
        for vad_event in await self._input.append(pcm):
            await self._on_vad(vad_event)
        if self._state.config.speculative_stt:
            self._speculate()

    def _speculate(self) -> None:
        """Transcribe the turn in progress once its closing silence has begun."""
        span = self._input.pending_span()
        if span is None:
            self._speculation.discard()  # speech goes on (or resumed)
        elif span != self._speculation.span:
            pcm = self._input.audio(span)
            self._speculation.start(span, lambda: self._stt_text(pcm, "speculative turn"))

    async def _stt_text(self, pcm: bytes, source: str) -> str:
        samples = np.frombuffer(pcm, dtype="<i2")
        return await self._state.stt.atranscribe_clip(
            clip_from_array(samples, PCM_RATE_HZ, source=f"realtime {source}")
        )

    async def _on_vad(self, event: VadEvent) -> None:
        detection = turn_detection(self.session) or {}
        if event.kind == "speech_started":
            self._speech_item_id = new_id("item")
            await self._channel.send(
                {"type": "input_audio_buffer.speech_started", "item_id": self._speech_item_id,
                 "audio_start_ms": event.audio_start_ms}
            )  # fmt: skip
            if self._response is not None and detection.get("interrupt_response", True):
                await self._cancel_response("turn_detected")
            return
        item_id = self._speech_item_id or new_id("item")
        self._speech_item_id = None
        assert event.audio_end_ms is not None
        await self._channel.send(
            {"type": "input_audio_buffer.speech_stopped", "item_id": item_id,
             "audio_end_ms": event.audio_end_ms}
        )  # fmt: skip
        span = self._input.transcribed_span(event)
        speculated = self._speculation.take(span)
        spoken = self._input.audio(span) if speculated is None else b""
        if speculated is not None:
            logger.debug("%s: the speculative transcription of %s is the turn's", item_id, span)
        await self._commit_audio(
            self._input.take(event.audio_start_ms, event.audio_end_ms), item_id,
            transcribe=speculated or spoken,
        )  # fmt: skip
        if self.session["type"] == "realtime" and detection.get("create_response", True):
            if self._response is None:
                await self._start_response(self._response_settings({}, None))
            else:
                logger.debug("speech stopped during a response; no new response")

    async def _commit(self, event: Event, event_id: str | None) -> None:
        if self._input.vad_enabled and not self._input.in_speech:
            raise ClientEventError(  # the SDK's streamed STT expects this code here
                "Error committing input audio buffer: no speech since server VAD committed "
                "the last turn.",
                "input_audio_buffer_commit_empty", None, event_id,
            )  # fmt: skip
        if self._input.duration_ms < MIN_COMMIT_MS:
            raise commit_empty_error(self._input.duration_ms, event_id)
        item_id = self._speech_item_id or new_id("item")
        self._speech_item_id = None
        self._speculation.discard()
        await self._commit_audio(self._input.take_all(), item_id)

    async def _commit_audio(
        self, pcm: bytes, item_id: str, transcribe: bytes | asyncio.Task[str] | None = None
    ) -> None:
        """Commit ``pcm`` as a user item and transcribe it, or ``transcribe``: the audio to
        transcribe instead (a VAD turn's), or its transcription already under way."""
        item = user_audio_item(item_id)
        previous = self.conversation.insert(item)
        self.conversation.audio_s[item_id] = len(pcm) / (PCM_SAMPLE_BYTES * PCM_RATE_HZ)
        await self._channel.send(
            {"type": "input_audio_buffer.committed", "item_id": item_id,
             "previous_item_id": previous}
        )  # fmt: skip
        await self._item_added(item, previous)
        self._transcribe_later(item, pcm if transcribe is None else transcribe)

    def _transcribe_later(
        self, item: Event, pcm: bytes | asyncio.Task[str], content_index: int = 0
    ) -> None:
        started = time.time(), time.perf_counter_ns()
        task = asyncio.create_task(self._transcribe(item, pcm, content_index))
        task.add_done_callback(
            lambda _: self._state.request_log.realtime_event("transcription", *started)
        )
        self.conversation.transcribing(item["id"], task)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _transcribe(
        self, item: Event, pcm: bytes | asyncio.Task[str], content_index: int
    ) -> str:
        """Whisper on a committed turn (or the speculative transcription of it); reports the
        transcript when the session asks for it."""
        item_id = item["id"]
        seconds = self.conversation.audio_s.get(item_id) or (
            len(pcm) / (PCM_SAMPLE_BYTES * PCM_RATE_HZ) if isinstance(pcm, bytes) else 0.0
        )
        report = transcription_enabled(self.session)
        try:
            if isinstance(pcm, bytes):
                text = await self._stt_text(pcm, item_id)
            else:
                text = await pcm
        except Exception as e:  # reported to the client as a failed transcription
            logger.warning("transcription of %s failed: %s", item_id, e)
            if report:
                error = {"type": "server_error", "code": "transcription_failed", "message": str(e)}
                await self._send_quietly(
                    {"type": "conversation.item.input_audio_transcription.failed",
                     "item_id": item_id, "content_index": content_index, "error": error}
                )  # fmt: skip
            return ""
        item["content"][content_index]["transcript"] = text
        if report:
            await self._send_quietly(
                {"type": "conversation.item.input_audio_transcription.completed",
                 "item_id": item_id, "content_index": content_index, "transcript": text,
                 "usage": {"type": "duration", "seconds": round(seconds, 3)}}
            )  # fmt: skip
        return text

    async def _send_quietly(self, event: Event) -> None:
        try:
            await self._channel.send(event)
        except ChannelClosedError:
            logger.debug("socket closed before %s was sent", event["type"])

    async def _clear(self, event: Event, event_id: str | None) -> None:
        self._input.clear()
        self._speculation.discard()
        self._speech_item_id = None
        await self._channel.send({"type": "input_audio_buffer.cleared"})

    async def _item_added(self, item: Event, previous: str | None) -> None:
        for kind in ("conversation.item.added", "conversation.item.done"):
            await self._channel.send({"type": kind, "previous_item_id": previous, "item": item})

    async def _item_create(self, event: Event, event_id: str | None) -> None:
        item = checked_item(event.get("item"), "item", event_id)
        if self.conversation.get(item["id"]) is not None:
            raise ClientEventError(
                f"an item with id '{item['id']}' already exists", "invalid_value", "item.id",
                event_id,
            )  # fmt: skip
        previous_id = event.get("previous_item_id")
        try:
            previous = self.conversation.insert(item, previous_id)
        except KeyError as e:
            raise ClientEventError(
                f"previous_item_id '{previous_id}' is not in the conversation",
                "invalid_value", "previous_item_id", event_id,
            ) from e  # fmt: skip
        for index, part in enumerate(item.get("content") or []):
            if (
                part.get("type") == "input_audio"
                and part.get("audio")
                and not part.get("transcript")
            ):
                pcm = decode_pcm16(part["audio"], f"item.content[{index}].audio", event_id)
                self._transcribe_later(item, pcm, index)
                break
        await self._item_added(item, previous)

    def _item(self, item_id: str, event_id: str | None) -> Event:
        item = self.conversation.get(item_id)
        if item is None:
            raise ClientEventError(
                f"Item with item_id '{item_id}' not found in the conversation.",
                "item_not_found", "item_id", event_id,
            )  # fmt: skip
        return item

    async def _item_retrieve(self, event: Event, event_id: str | None) -> None:
        item = self._item(event["item_id"], event_id)
        await self._channel.send({"type": "conversation.item.retrieved", "item": item})

    async def _item_delete(self, event: Event, event_id: str | None) -> None:
        self._item(event["item_id"], event_id)
        self.conversation.delete(event["item_id"])
        await self._channel.send({"type": "conversation.item.deleted", "item_id": event["item_id"]})

    async def _item_truncate(self, event: Event, event_id: str | None) -> None:
        item = self._item(event["item_id"], event_id)
        if item.get("role") != "assistant" or event["content_index"] != 0:
            raise ClientEventError(
                "only the audio of an assistant message (content_index 0) can be truncated",
                "invalid_value", "item_id", event_id,
            )  # fmt: skip
        audio_ms = round(self.conversation.audio_s.get(item["id"], 0.0) * 1000)
        if not 0 <= event["audio_end_ms"] <= audio_ms:
            raise ClientEventError(
                f"audio_end_ms must be within the item's {audio_ms} ms of audio",
                "invalid_value", "audio_end_ms", event_id,
            )  # fmt: skip
        self.conversation.truncate(item, event["audio_end_ms"])
        await self._channel.send(
            {"type": "conversation.item.truncated", "item_id": item["id"],
             "content_index": 0, "audio_end_ms": event["audio_end_ms"]}
        )  # fmt: skip

    async def _response_create(self, event: Event, event_id: str | None) -> None:
        if self.session["type"] == "transcription":
            raise ClientEventError(
                "transcription sessions do not create responses", "invalid_value", "type",
                event_id,
            )  # fmt: skip
        if self._response is not None:
            raise ClientEventError(
                f"Conversation already has an active response in progress: "
                f"{self._response[0].id}. Wait until the response is finished before "
                "creating a new one.",
                "conversation_already_has_active_response", None, event_id,
            )  # fmt: skip
        overrides = event.get("response") or {}
        if not isinstance(overrides, Mapping):
            raise ClientEventError("'response' must be an object", "invalid_type", "response",
                                   event_id)  # fmt: skip
        await self._start_response(self._response_settings(dict(overrides), event_id))

    def _response_settings(
        self, overrides: dict[str, Any], event_id: str | None
    ) -> ResponseSettings:
        overrides = from_beta(overrides)
        items = overrides.pop("input", None)
        check_model_payload(RealtimeResponseCreateParams, overrides, "response", event_id)
        check_tools(overrides.get("tools"), "response.tools", event_id)
        session = self.session
        output = (overrides.get("audio") or {}).get("output") or {}
        session_output = session["audio"]["output"]
        settings = ResponseSettings(
            instructions=overrides.get("instructions", session.get("instructions")),
            tools=overrides.get("tools", session.get("tools") or []),
            tool_choice=overrides.get("tool_choice", session.get("tool_choice")),
            output_modalities=overrides.get("output_modalities") or session["output_modalities"],
            max_output_tokens=overrides.get("max_output_tokens", session["max_output_tokens"]),
            temperature=overrides.get("temperature", session.get("temperature")),
            audio_output={"format": session_output["format"],
                          "voice": output.get("voice", session_output["voice"])},
            metadata=overrides.get("metadata"),
            conversation_id=None if overrides.get("conversation") == "none" else (
                self._conversation_id
            ),
            input_items=None if items is None else self._input_items(items, event_id),
        )  # fmt: skip
        limited = {"max_output_tokens": settings.max_output_tokens, "tools": settings.tools,
                   "tool_choice": settings.tool_choice}  # fmt: skip
        check_response_limits(limited, "response", event_id)
        return settings

    def _input_items(self, items: Any, event_id: str | None) -> list[Event]:
        if not isinstance(items, list):
            raise ClientEventError("'response.input' must be a list", "invalid_type",
                                   "response.input", event_id)  # fmt: skip
        resolved = []
        for index, item in enumerate(items):
            if isinstance(item, Mapping) and item.get("type") == "item_reference":
                resolved.append(self._item(str(item.get("id")), event_id))
            else:
                resolved.append(checked_item(item, f"response.input[{index}]", event_id))
        return resolved

    async def _start_response(self, settings: ResponseSettings) -> None:
        started = time.time(), time.perf_counter_ns()
        response = CascadeResponse(settings, self._state, self._channel, self.conversation)
        task = asyncio.create_task(response.run())
        self._response = (response, task)

        def finished(_: asyncio.Task[None]) -> None:
            self._state.request_log.realtime_event("response.create", *started)
            if self._response is not None and self._response[0] is response:
                self._response = None

        task.add_done_callback(finished)

    async def _response_cancel(self, event: Event, event_id: str | None) -> None:
        wanted = event.get("response_id")
        if self._response is None or (wanted and wanted != self._response[0].id):
            raise ClientEventError(
                "Cancellation failed: no active response found.",
                "response_cancel_not_active", None, event_id,
            )  # fmt: skip
        await self._cancel_response("client_cancelled")

    async def _cancel_response(self, reason: str) -> None:
        """Stop the active response now; it ends with ``response.done`` status cancelled."""
        if self._response is None:
            return
        response, task = self._response
        response.cancel_reason = reason
        task.cancel()
        await asyncio.wait({task})


# A table of plain functions, not of bound methods: a session holding its own bound methods
# would be a reference cycle, freed only by a later garbage-collector pass.
_HANDLERS: dict[str, Handler] = {
    "session.update": RealtimeSession._session_update,
    "transcription_session.update": RealtimeSession._session_update,  # beta name
    "input_audio_buffer.append": RealtimeSession._append,
    "input_audio_buffer.commit": RealtimeSession._commit,
    "input_audio_buffer.clear": RealtimeSession._clear,
    "conversation.item.create": RealtimeSession._item_create,
    "conversation.item.retrieve": RealtimeSession._item_retrieve,
    "conversation.item.delete": RealtimeSession._item_delete,
    "conversation.item.truncate": RealtimeSession._item_truncate,
    "response.create": RealtimeSession._response_create,
    "response.cancel": RealtimeSession._response_cancel,
}
