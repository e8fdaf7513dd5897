"""One realtime response from the local cascade: chat model → sentences → Piper, as events.

Text streams from the chat model in a worker thread; the first clause and then each finished
sentence (``voicelab.speech_split``, the chained pipeline's rule too) is synthesised by Piper
(another thread) while the model goes on writing, so the first audio delta does not wait for
the whole answer. Cancelling the task stops both and ends the response "cancelled".
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from voicelab.errors import ChannelClosedError
from voicelab.server.realtime.channel import EventChannel
from voicelab.server.realtime.conversation import Conversation
from voicelab.server.realtime.events import (
    Event,
    assistant_item,
    function_call_item,
    new_id,
    rate_limits_event,
    response_object,
    response_usage,
)
from voicelab.server.state import ServerState
from voicelab.server.tool_shapes import chat_tool_choice, chat_tools
from voicelab.speech_split import SpeechSplitter

logger = logging.getLogger("voicelab.server")
T = TypeVar("T")
OUTPUT_BYTES_PER_S = 48_000  # 24 kHz mono PCM16
AUDIO_DELTA_BYTES = 4_800  # 100 ms of audio per response.output_audio.delta


@contextlib.asynccontextmanager
async def _closing(stream: AsyncIterator[T]) -> AsyncGenerator[AsyncIterator[T], None]:
    """Close a worker-thread stream when its consumer stops (cancelled, say), so the worker
    stops at its next item instead of running on while holding the model."""
    try:
        yield stream
    finally:
        await cast(AsyncGenerator[T, None], stream).aclose()


@dataclass(frozen=True, kw_only=True)
class ResponseSettings:
    """What one response does: the session's settings with ``response.create`` overrides."""

    instructions: str | None
    tools: list[dict[str, Any]]
    """Realtime function tools."""
    tool_choice: Any
    output_modalities: list[str]
    max_output_tokens: int | str
    temperature: float | None
    audio_output: dict[str, Any]
    metadata: dict[str, Any] | None
    conversation_id: str | None
    """None when the response stays out of the conversation (``conversation: "none"``)."""
    input_items: list[Event] | None
    """The context to answer, when it is not the whole conversation."""

    @property
    def speaks(self) -> bool:
        """Whether the answer is audio (with a transcript) rather than text."""
        return "audio" in self.output_modalities

    def public(self) -> dict[str, Any]:
        """The fields echoed in the ``realtime.response`` object."""
        return {
            "output_modalities": ["audio"] if self.speaks else ["text"],
            "max_output_tokens": self.max_output_tokens,
            "audio_output": self.audio_output,
            "metadata": self.metadata,
            "conversation_id": self.conversation_id,
        }


class CascadeResponse:
    """Runs one response; ``run`` is the body of its task, ``cancel_reason`` set by the session."""

    def __init__(
        self,
        settings: ResponseSettings,
        state: ServerState,
        channel: EventChannel,
        conversation: Conversation,
    ) -> None:
        self.id = new_id("resp")
        self.settings = settings
        self.cancel_reason = "client_cancelled"
        self._state = state
        self._channel = channel
        self._conversation = conversation
        self._output: list[Event] = []
        self._created = False
        self._message: Event | None = None
        self._message_index = 0
        self._previous: dict[str, str | None] = {}  # item id -> previous_item_id
        self._text: list[str] = []
        self._splitter = SpeechSplitter(state.config.first_clause_min_chars)
        self._unspoken = ""  # answer text not yet handed to the speaker
        self._sentences: asyncio.Queue[str | None] = asyncio.Queue()
        self._speaker: asyncio.Task[None] | None = None
        self._audio_bytes = 0
        self._heard_s = 0.0
        self._usage: Mapping[str, Any] = {}

    async def run(self) -> None:
        """Produce the response, then always finish it with ``response.done``."""
        status = "completed"
        details: dict[str, Any] | None = None
        try:
            await self._produce()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self._channel.closed.is_set() or task is None:
                self._log_cut_short()
                raise
            task.uncancel()  # cancelled on purpose: finish the response below
            status, details = "cancelled", {"type": "cancelled", "reason": self.cancel_reason}
        except ChannelClosedError:
            self._log_cut_short()
            return
        except Exception as e:  # a model failure ends this response, never the session
            logger.exception("realtime response %s failed", self.id)
            status = "failed"
            details = {
                "type": "failed",
                "error": {"type": "server_error", "code": "model_error",
                          "message": f"{type(e).__name__}: {e}"},
            }  # fmt: skip
        try:
            await self._finish(status, details)
        except ChannelClosedError:
            return

    def _log_cut_short(self) -> None:
        """The one line a response stopped by a closed socket leaves (no traceback)."""
        logger.info("realtime response %s stopped mid-response: %s", self.id,
                    self._channel.close_reason)  # fmt: skip

    async def _send(self, event: Event) -> None:
        await self._channel.send(event, in_response=True)

    async def _produce(self) -> None:
        if self._channel.plan.ttfb_s:
            await asyncio.sleep(self._channel.plan.ttfb_s)
        await self._send_created()
        settings = self.settings
        items = settings.input_items
        if items is None:
            items = list(self._conversation.items)
        messages = await self._conversation.chat_messages(items, settings.instructions)
        self._heard_s = self._conversation.heard_audio_s(items)
        cap = settings.max_output_tokens
        request = {
            "messages": messages,
            "tools": chat_tools(settings.tools),
            "tool_choice": chat_tool_choice(settings.tool_choice),
            "max_tokens": cap if isinstance(cap, int) else None,
            "temperature": settings.temperature,
            "stream_options": {"include_usage": True},
        }
        stream = self._state.chat.astream(request)
        try:
            async with _closing(stream) as chunks:
                async for chunk in chunks:
                    self._usage = chunk.get("usage") or self._usage
                    for choice in chunk.get("choices") or []:
                        delta = choice.get("delta") or {}
                        if delta.get("content"):
                            await self._on_text(delta["content"])
                        for call in delta.get("tool_calls") or []:
                            await self._on_tool_call(call)
            await self._end_message()
        finally:
            if self._speaker is not None:  # stopped, and its outcome read even when it failed
                self._speaker.cancel()
                await asyncio.gather(self._speaker, return_exceptions=True)

    async def _send_created(self) -> None:
        self._created = True
        response = response_object(self.id, self.settings.public())
        await self._send({"type": "response.created", "response": response})

    def _add_output(self, item: Event) -> int:
        """Append to the response's output (and the conversation); returns the output index."""
        self._output.append(item)
        if self.settings.conversation_id is not None:
            self._previous[item["id"]] = self._conversation.insert(item)
        return len(self._output) - 1

    async def _item_added(self, item: Event, index: int) -> None:
        await self._item_event(item, index, "added")

    async def _item_done(self, item: Event, index: int) -> None:
        await self._item_event(item, index, "done")

    async def _item_event(self, item: Event, index: int, stage: str) -> None:
        """``response.output_item.<stage>``, and its ``conversation.item.<stage>`` twin."""
        await self._send(
            {"type": f"response.output_item.{stage}", "response_id": self.id,
             "output_index": index, "item": item}
        )  # fmt: skip
        if self.settings.conversation_id is not None:
            await self._send(
                {"type": f"conversation.item.{stage}",
                 "previous_item_id": self._previous[item["id"]], "item": item}
            )  # fmt: skip

    def _part_fields(self) -> Event:
        assert self._message is not None
        return {"response_id": self.id, "item_id": self._message["id"],
                "output_index": self._message_index, "content_index": 0}  # fmt: skip

    async def _open_message(self) -> None:
        self._message = assistant_item(new_id("item"))
        self._message_index = self._add_output(self._message)
        await self._item_added(self._message, self._message_index)
        part = {"type": "audio", "transcript": ""} if self.settings.speaks else (
            {"type": "text", "text": ""}
        )  # fmt: skip
        await self._send({"type": "response.content_part.added", **self._part_fields(),
                          "part": part})  # fmt: skip
        if self.settings.speaks:
            self._speaker = asyncio.create_task(self._speak())

    async def _on_text(self, text: str) -> None:
        if self._message is None:
            await self._open_message()
        self._text.append(text)
        kind = "response.output_audio_transcript.delta" if self.settings.speaks else (
            "response.output_text.delta"
        )  # fmt: skip
        await self._send({"type": kind, **self._part_fields(), "delta": text})
        ready, self._unspoken = self._splitter(self._unspoken + text)
        if ready.strip():
            self._sentences.put_nowait(ready.strip())

    async def _speak(self) -> None:
        """Synthesise sentences as they arrive and stream their audio in 100 ms deltas."""
        while (sentence := await self._sentences.get()) is not None:
            async with _closing(self._state.tts.astream_pcm16(sentence)) as chunks:
                async for pcm in chunks:
                    await self._send_audio(pcm)

    async def _send_audio(self, pcm: bytes) -> None:
        for start in range(0, len(pcm), AUDIO_DELTA_BYTES):
            if self._audio_bytes:
                await self._channel.pace()
            piece = pcm[start : start + AUDIO_DELTA_BYTES]
            delta = base64.b64encode(piece).decode("ascii")
            await self._send(
                {"type": "response.output_audio.delta", **self._part_fields(), "delta": delta}
            )
            self._audio_bytes += len(piece)

    async def _end_message(self) -> None:
        """The text is complete: speak what is left, then close the message."""
        if self._message is None:
            return
        if self._speaker is not None:
            rest, self._unspoken = self._unspoken.strip(), ""
            if rest:
                self._sentences.put_nowait(rest)
            self._sentences.put_nowait(None)
            await self._speaker
        await self._close_message("completed")

    async def _close_message(self, status: str) -> None:
        message, fields, text = self._message, self._part_fields(), "".join(self._text)
        assert message is not None
        self._message = None
        if self.settings.speaks:
            await self._send({"type": "response.output_audio.done", **fields})
            await self._send(
                {"type": "response.output_audio_transcript.done", **fields, "transcript": text}
            )
            part: Event = {"type": "audio", "transcript": text}
            message["content"] = [{"type": "output_audio", "transcript": text}]
            self._conversation.audio_s[message["id"]] = self._audio_bytes / OUTPUT_BYTES_PER_S
        else:
            await self._send({"type": "response.output_text.done", **fields, "text": text})
            part = {"type": "text", "text": text}
            message["content"] = [{"type": "output_text", "text": text}]
        await self._send({"type": "response.content_part.done", **fields, "part": part})
        message["status"] = status
        await self._item_done(message, fields["output_index"])

    async def _on_tool_call(self, call: Mapping[str, Any]) -> None:
        function = call.get("function") or {}
        name, arguments = str(function.get("name", "")), str(function.get("arguments") or "{}")
        item = function_call_item(new_id("item"), str(call.get("id") or new_id("call")), name)
        index = self._add_output(item)
        await self._item_added(item, index)
        fields = {"response_id": self.id, "item_id": item["id"], "output_index": index,
                  "call_id": item["call_id"]}  # fmt: skip
        await self._send({"type": "response.function_call_arguments.delta", **fields,
                          "delta": arguments})  # fmt: skip
        await self._send({"type": "response.function_call_arguments.done", **fields,
                          "name": name, "arguments": arguments})  # fmt: skip
        item["arguments"], item["status"] = arguments, "completed"
        await self._item_done(item, index)

    async def _finish(self, status: str, details: dict[str, Any] | None) -> None:
        if not self._created:
            await self._send_created()
        if self._message is not None:
            await self._close_message("incomplete")
        usage = response_usage(
            int(self._usage.get("prompt_tokens", 0)),
            int(self._usage.get("completion_tokens", len(self._text))),
            self._heard_s,
            self._audio_bytes / OUTPUT_BYTES_PER_S,
        )
        response = response_object(
            self.id, self.settings.public(), status=status, output=self._output,
            status_details=details, usage=usage,
        )  # fmt: skip
        await self._send({"type": "response.done", "response": response})
        await self._send(rate_limits_event(usage["total_tokens"]))
