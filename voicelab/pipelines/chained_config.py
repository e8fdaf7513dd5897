"""Settings of the chained pipeline (kept apart so importing them does not load the SDK)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from voicelab.audio import DEFAULT_AUDIBLE_THRESHOLD_DBFS
from voicelab.errors import ConfigError
from voicelab.pipelines.feeding import FeedConfig


@dataclass(frozen=True, kw_only=True)
class ChainedConfig:
    """Settings of a chained pipeline run."""

    tts_buffer_size: int = 1
    """TTS chunks the SDK gathers before emitting audio; its default 120 holds ~2.5 s back."""
    max_agent_turns: int = 4
    """Model calls allowed per user turn (a tool call and the answer take two)."""
    turn_timeout_s: float = 120.0
    """A turn taking longer ends with a PipelineTimeoutError row."""
    audible_threshold_dbfs: float = DEFAULT_AUDIBLE_THRESHOLD_DBFS
    """Agent audio quieter than this counts as silence for ``first_audible_audio``."""
    input_mode: Literal["static", "streamed"] = "static"
    """"static": the whole clip as one ``AudioInput``; "streamed": chunks into the SDK's
    ``StreamedAudioInput``, and the STT session's own VAD decides where the turn ends."""
    feed: FeedConfig = field(default_factory=FeedConfig)
    """Streamed mode: pace, chunk size and trailing silence."""

    def __post_init__(self) -> None:
        if self.tts_buffer_size < 1 or self.max_agent_turns < 1 or self.turn_timeout_s <= 0:
            raise ConfigError(
                "ChainedConfig: tts_buffer_size and max_agent_turns >= 1, turn_timeout_s > 0"
            )
        if self.input_mode not in ("static", "streamed"):
            raise ConfigError(f"input_mode must be 'static' or 'streamed', not {self.input_mode!r}")
        if self.input_mode == "static" and self.feed.mode == "realtime":
            raise ConfigError("real-time feeding needs input_mode='streamed' (static is one clip)")
