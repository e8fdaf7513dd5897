"""Handing user audio to a pipeline: all at once, or chunk by chunk at a microphone's pace.

Both architectures feed through here, so "end of user speech" means the same in every row:
the moment the clip's last sample was handed over (trailing silence added for a VAD to hear
the turn end comes after it and is not speech).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from voicelab.errors import ConfigError
from voicelab.timeline import Event, TimelineRecorder

FeedMode = Literal["fast", "realtime"]
Send = Callable[[npt.NDArray[np.int16]], Awaitable[None]]


@dataclass(frozen=True, kw_only=True)
class FeedConfig:
    """How user audio is streamed into a pipeline."""

    mode: FeedMode = "fast"
    """"fast": every chunk at once; "realtime": each chunk when a microphone would have it."""
    chunk_ms: float = 20.0
    """Chunk length (a microphone buffer)."""
    trailing_silence_ms: int = 800
    """Silence sent after the clip so voice-activity detection can hear the turn end."""

    def __post_init__(self) -> None:
        if self.mode not in ("fast", "realtime"):
            raise ConfigError(f"feed mode must be 'fast' or 'realtime', not {self.mode!r}")
        if self.chunk_ms <= 0 or self.trailing_silence_ms < 0:
            raise ConfigError("FeedConfig: chunk_ms must be > 0 and trailing_silence_ms >= 0")


async def feed_pcm16(
    pcm16: npt.NDArray[np.int16],
    rate_hz: int,
    config: FeedConfig,
    send: Send,
    recorder: TimelineRecorder,
) -> None:
    """Send ``pcm16`` then the trailing silence in chunks; stamp audio start and end of speech.

    In realtime mode chunk ``k`` goes out no earlier than ``start + k * chunk``, paced against
    the monotonic clock so waiting never accumulates drift.
    """
    step = max(1, round(rate_hz * config.chunk_ms / 1000))
    silence = np.zeros(rate_hz * config.trailing_silence_ms // 1000, dtype=np.int16)
    speech_chunks = [pcm16[i : i + step] for i in range(0, len(pcm16), step)]
    silence_chunks = [silence[i : i + step] for i in range(0, len(silence), step)]
    start = time.perf_counter()
    for index, chunk in enumerate(speech_chunks + silence_chunks):
        if config.mode == "realtime":
            delay = start + index * step / rate_hz - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        await send(chunk)
        recorder.first(Event.AUDIO_INPUT_START)
        if index == len(speech_chunks) - 1:
            recorder.first(Event.END_OF_SPEECH)
