"""A reopened Realtime session is told the conversation so far, so no turn loses its context.

A session holds the conversation on the server; when its socket is given up (a turn failed),
the next session starts empty. Each finished turn is kept as two message items (the user's
words, the agent's answer); a new session receives them with ``conversation.item.create``
before its first turn. The user's words are the session's own transcript where there is one,
else the turn's audio itself. The tool calls of earlier turns are not replayed: the agent's
answers carry what they returned.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import numpy.typing as npt

from voicelab.pipelines.realtime.connection import RealtimeSocket

Item = dict[str, Any]


def exchange_items(
    index: int, user_transcript: str | None, pcm: npt.NDArray[np.int16], agent_text: str
) -> list[Item]:
    """The message items of finished exchange ``index`` (ids ``replay_<index>_user/_agent``)."""
    if user_transcript:
        user_part: Item = {"type": "input_text", "text": user_transcript}
    else:
        audio = base64.b64encode(pcm.astype("<i2", copy=False).tobytes()).decode("ascii")
        user_part = {"type": "input_audio", "audio": audio}
    items: list[Item] = [
        {"id": replay_item_id(index, "user"), "type": "message", "role": "user",
         "content": [user_part]},
    ]  # fmt: skip
    if agent_text:
        items.append(
            {"id": replay_item_id(index, "agent"), "type": "message", "role": "assistant",
             "content": [{"type": "output_text", "text": agent_text}]}
        )  # fmt: skip
    return items


def replay_item_id(index: int, who: str) -> str:
    """The item id of exchange ``index``'s ``who`` ("user" or "agent") in a reopened session."""
    return f"replay_{index}_{who}"


async def replay(socket: RealtimeSocket, items: list[Item]) -> None:
    """Add ``items`` to the session's conversation, in order; return once the server has
    them all (an ``error`` event is raised as the service's error)."""
    for item in items:
        await socket.send({"type": "conversation.item.create", "item": item})
    for _ in items:
        await socket.expect("conversation.item.added")
