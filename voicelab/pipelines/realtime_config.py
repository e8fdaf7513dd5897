"""Settings of the realtime pipeline (kept apart so importing them loads neither SDK)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from voicelab.audio import DEFAULT_AUDIBLE_THRESHOLD_DBFS
from voicelab.errors import ConfigError
from voicelab.pipelines.feeding import FeedConfig

TurnDetection = Literal["server_vad", "manual"]
ToolChoice = Literal["auto", "required", "none"]


@dataclass(frozen=True, kw_only=True)
class RealtimeConfig:
    """Settings of a speech-to-speech run over the Realtime API protocol."""

    model: str = "gpt-realtime"
    """Realtime model, sent as ``?model=`` when the socket opens."""
    voice: str = "alloy"
    """Output voice."""
    instructions: str | None = None
    """System instructions; None uses the demo support agent's, as the chained pipeline does."""
    tool_choice: ToolChoice = "auto"
    """The session's tool_choice. "required" makes every turn start with a tool call (a 135M
    local model cannot decide on its own); the answer after a tool call then uses "auto", as
    the Agents SDK resets tool_choice after a call."""
    max_tool_rounds: int = 4
    """Tool-call responses allowed per user turn; the response after the last is told "none"."""
    max_output_tokens: int | None = None
    """Cap of each response's output tokens; None is the API's "inf"."""
    turn_detection: TurnDetection = "server_vad"
    """"server_vad": the server hears the turn end in trailing silence and answers by itself;
    "manual": voicelab sends ``input_audio_buffer.commit`` and ``response.create`` itself."""
    vad_silence_duration_ms: int = 500
    """server_vad: silence that ends a turn (OpenAI's default is 500 ms)."""
    feed_mode: Literal["fast", "realtime"] = "fast"
    """"fast": every chunk at once; "realtime": paced like a microphone, chunk ``k`` sent no
    earlier than ``k * chunk_ms`` after the first."""
    chunk_ms: float = 20.0
    """Length of each ``input_audio_buffer.append`` (a microphone buffer)."""
    trailing_silence_ms: int = 800
    """server_vad: silence sent after the clip so the VAD can hear the turn end. End of speech
    is stamped when the clip's last sample is sent, i.e. before this silence."""
    input_transcription_model: str | None = "gpt-4o-transcribe"
    """Model transcribing the user's audio for ``user_transcript``; None disables it."""
    transcript_wait_s: float = 10.0
    """How long to wait after the answer for a user transcript that arrives late."""
    turn_timeout_s: float = 120.0
    """A turn taking longer ends with a PipelineTimeoutError row."""
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
        if self.tool_choice not in ("auto", "required", "none"):
            raise ConfigError(
                f"tool_choice must be 'auto', 'required' or 'none', not {self.tool_choice!r}"
            )
        if self.feed_mode not in ("fast", "realtime"):
            raise ConfigError(f"feed_mode must be 'fast' or 'realtime', not {self.feed_mode!r}")
        if self.chunk_ms <= 0:
            raise ConfigError(f"chunk_ms must be > 0, not {self.chunk_ms}")
        if min(self.turn_timeout_s, self.connect_timeout_s) <= 0 or self.transcript_wait_s < 0:
            raise ConfigError(
                "RealtimeConfig: turn_timeout_s and connect_timeout_s > 0, transcript_wait_s >= 0"
            )
        too_few_tokens = self.max_output_tokens is not None and self.max_output_tokens < 1
        if self.max_tool_rounds < 0 or too_few_tokens:
            raise ConfigError("RealtimeConfig: max_tool_rounds >= 0 and max_output_tokens >= 1")
        if self.vad_silence_duration_ms <= 0 or self.trailing_silence_ms < 0:
            raise ConfigError(
                "RealtimeConfig: vad_silence_duration_ms > 0 and trailing_silence_ms >= 0"
            )
        if (
            self.turn_detection == "server_vad"
            and self.trailing_silence_ms <= self.vad_silence_duration_ms
        ):
            raise ConfigError(
                f"trailing_silence_ms ({self.trailing_silence_ms}) must exceed "
                f"vad_silence_duration_ms ({self.vad_silence_duration_ms}), or the server VAD "
                "never hears the turn end"
            )

    @property
    def feed(self) -> FeedConfig:
        """How the clip is streamed; trailing silence only where a VAD needs it."""
        silence_ms = self.trailing_silence_ms if self.turn_detection == "server_vad" else 0
        return FeedConfig(
            mode=self.feed_mode, chunk_ms=self.chunk_ms, trailing_silence_ms=silence_ms
        )
