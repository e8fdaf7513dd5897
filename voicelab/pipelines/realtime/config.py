"""Settings of the realtime pipeline (kept apart so importing them loads neither SDK)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar, Literal

from voicelab.audio import DEFAULT_AUDIBLE_THRESHOLD_DBFS
from voicelab.errors import ConfigError
from voicelab.pipelines.feeding import FeedConfig
from voicelab.pipelines.settings import EndpointSettings, TurnSettings

TurnDetection = Literal["server_vad", "manual"]


@dataclass(frozen=True, kw_only=True)
class RealtimeConfig(TurnSettings, EndpointSettings):
    """realtime: speech to speech over the Realtime API protocol (OpenAI, Azure, voicelab serve).

    ``feed.trailing_silence_ms`` is sent after the clip only with server VAD, so it can hear
    the turn end; end of speech is stamped when the clip's last sample is sent, before it.
    """

    default_tool_choice: ClassVar[str] = "auto"

    model: str = "gpt-realtime"
    """Realtime model, sent as ``?model=`` when the socket opens."""
    url: str | None = None
    """A full WebSocket URL (Azure, a self-hosted server); None derives it from ``base_url``."""
    voice: str = "alloy"
    """Output voice."""
    tool_choice: str | None = None
    """"auto", "required", "none" or a tool name; None keeps the agent's own, else "auto".
    After a tool call the next response uses "auto" when the agent resets tool_choice (the
    SDK's default), as the chained pipeline does."""
    max_tool_rounds: int = 4
    """Tool-call responses allowed per user turn; the response after the last is told "none"."""
    max_output_tokens: int | None = None
    """Cap of each response's output tokens; None is the API's "inf" (or the agent's max_tokens)."""
    turn_detection: TurnDetection = "server_vad"
    """"server_vad": the server hears the turn end in trailing silence and answers by itself;
    "manual": voicelab sends ``input_audio_buffer.commit`` and ``response.create`` itself."""
    vad_silence_duration_ms: int = 500
    """server_vad: silence that ends a turn (OpenAI's default is 500 ms)."""
    input_transcription_model: str | None = "gpt-4o-transcribe"
    """Model transcribing the user's audio for ``user_transcript``; None disables it."""
    transcript_wait_s: float = 10.0
    """How long to wait after the answer for a user transcript that arrives late."""
    connect_timeout_s: float = 30.0
    """Opening the socket and configuring the session must finish within this."""
    audible_threshold_dbfs: float = DEFAULT_AUDIBLE_THRESHOLD_DBFS
    """Agent audio quieter than this counts as silence for ``first_audible_audio``."""

    def __post_init__(self) -> None:
        if not self.model or not self.voice:
            raise ConfigError("RealtimeConfig: model and voice must not be empty")
        if self.turn_detection not in ("server_vad", "manual"):
            raise ConfigError(
                f"turn_detection must be 'server_vad' or 'manual', not {self.turn_detection!r}"
            )
        if self.tool_choice is not None and not self.tool_choice.strip():
            raise ConfigError("tool_choice must not be empty (None keeps the agent's own)")
        if self.connect_timeout_s <= 0 or self.transcript_wait_s < 0:
            raise ConfigError("RealtimeConfig: connect_timeout_s > 0, transcript_wait_s >= 0")
        too_few_tokens = self.max_output_tokens is not None and self.max_output_tokens < 1
        if self.max_tool_rounds < 0 or too_few_tokens:
            raise ConfigError("RealtimeConfig: max_tool_rounds >= 0 and max_output_tokens >= 1")
        if self.vad_silence_duration_ms <= 0:
            raise ConfigError("RealtimeConfig: vad_silence_duration_ms must be > 0")
        if (
            self.turn_detection == "server_vad"
            and self.feed.trailing_silence_ms <= self.vad_silence_duration_ms
        ):
            raise ConfigError(
                f"feed.trailing_silence_ms ({self.feed.trailing_silence_ms}) must exceed "
                f"vad_silence_duration_ms ({self.vad_silence_duration_ms}), or the server VAD "
                "never hears the turn end"
            )
        super().__post_init__()

    @property
    def sent_feed(self) -> FeedConfig:
        """How the clip is streamed: trailing silence only where a VAD needs it."""
        if self.turn_detection == "server_vad":
            return self.feed
        return replace(self.feed, trailing_silence_ms=0)
