"""A realtime session's conversation: ordered items, their transcripts, and the chat prompt.

Items are kept in the GA ``ConversationItem`` JSON shape and updated in place, so a
``conversation.item.retrieve`` always sees their current state. User audio is transcribed in
the background; building the chat prompt waits for the transcripts it needs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from voicelab.server.realtime.events import Event

logger = logging.getLogger("voicelab.server")
_ROOT = "root"  # previous_item_id that inserts at the start of the conversation


class Conversation:
    """Items in order, with the audio length of each and pending transcriptions."""

    def __init__(self) -> None:
        self.items: list[Event] = []
        self.audio_s: dict[str, float] = {}
        """Seconds of audio per item: heard for user items, spoken for assistant items."""
        self._transcripts: dict[str, asyncio.Task[str]] = {}

    def get(self, item_id: str) -> Event | None:
        """The item with ``item_id``, if the conversation has it."""
        return next((item for item in self.items if item.get("id") == item_id), None)

    def last_id(self) -> str | None:
        """The id of the newest item (the ``previous_item_id`` of the next one)."""
        return self.items[-1]["id"] if self.items else None

    def insert(self, item: Event, previous_item_id: str | None = None) -> str | None:
        """Add ``item`` after ``previous_item_id`` (at the end by default); returns its predecessor.

        Raises ``KeyError`` when ``previous_item_id`` names no item.
        """
        if previous_item_id is None:
            previous = self.last_id()
            self.items.append(item)
            return previous
        if previous_item_id == _ROOT:
            self.items.insert(0, item)
            return None
        index = next(
            (i for i, it in enumerate(self.items) if it.get("id") == previous_item_id), None
        )
        if index is None:
            raise KeyError(previous_item_id)
        self.items.insert(index + 1, item)
        return previous_item_id

    def delete(self, item_id: str) -> bool:
        """Remove an item; False when there is none with that id."""
        item = self.get(item_id)
        if item is None:
            return False
        self.items.remove(item)
        task = self._transcripts.pop(item_id, None)
        if task is not None:
            task.cancel()
        return True

    def transcribing(self, item_id: str, task: asyncio.Task[str]) -> None:
        """Record the background transcription of a user audio item."""
        self._transcripts[item_id] = task

    async def chat_messages(
        self, items: Iterable[Event], instructions: str | None
    ) -> list[dict[str, Any]]:
        """Chat Completions messages for ``items``, once their transcripts are ready."""
        messages: list[dict[str, Any]] = []
        if instructions:
            messages.append({"role": "system", "content": instructions})
        for item in items:
            message = await self._as_message(item)
            if message is not None:
                messages.append(message)
        return messages

    async def _as_message(self, item: Event) -> dict[str, Any] | None:
        kind = item.get("type")
        if kind == "function_call":
            call = {
                "id": item.get("call_id") or item.get("id"),
                "type": "function",
                "function": {"name": item["name"], "arguments": item.get("arguments") or "{}"},
            }
            return {"role": "assistant", "content": None, "tool_calls": [call]}
        if kind == "function_call_output":
            return {"role": "tool", "tool_call_id": item["call_id"], "content": item["output"]}
        if kind != "message":
            return None
        texts = [await self._part_text(item, part) for part in item.get("content") or []]
        text = " ".join(t for t in texts if t)
        return {"role": item["role"], "content": text} if text else None

    async def _part_text(self, item: Event, part: Mapping[str, Any]) -> str:
        if part.get("type") == "input_audio" and part.get("transcript") is None:
            task = self._transcripts.get(item.get("id", ""))
            if task is None or task.cancelled():
                return ""
            try:
                return await asyncio.shield(task)
            except Exception:  # the failure was reported when it happened
                return ""
        return str(part.get("text") or part.get("transcript") or "")

    def heard_audio_s(self, items: Iterable[Event]) -> float:
        """Seconds of user audio among ``items``: what a speech-to-speech model would hear."""
        return sum(
            self.audio_s.get(item.get("id", ""), 0.0)
            for item in items
            if item.get("role") == "user"
        )

    def truncate(self, item: Event, audio_end_ms: int) -> None:
        """Cut an assistant item's audio, and its transcript in proportion, at ``audio_end_ms``."""
        item_id = item["id"]
        total_s = self.audio_s.get(item_id, 0.0)
        kept_s = min(total_s, audio_end_ms / 1000)
        if total_s > 0:
            for part in item.get("content") or []:
                transcript = part.get("transcript")
                if isinstance(transcript, str):
                    words = transcript.split()
                    part["transcript"] = " ".join(words[: round(len(words) * kept_s / total_s)])
        self.audio_s[item_id] = kept_s

    def cancel_transcriptions(self) -> None:
        """Stop every pending transcription (the session is ending)."""
        for task in self._transcripts.values():
            task.cancel()
