"""What the server holds: its configuration, its engines (models) and the fault injector."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from voicelab.errors import ConfigError
from voicelab.providers.engines import ChatEngine, SpeechEngine, TranscriptionEngine
from voicelab.providers.llama_chat import LlamaChatEngine
from voicelab.providers.local_config import LlamaConfig, PiperConfig, WhisperConfig
from voicelab.providers.piper_tts import PiperTTSModel
from voicelab.providers.whisper_stt import FasterWhisperSTTModel
from voicelab.server.faults import FaultConfig, FaultInjector
from voicelab.server.request_log import RequestLog
from voicelab.server.synthetic import SyntheticChatEngine, SyntheticSpeech, SyntheticTranscriber
from voicelab.speech_split import DEFAULT_FIRST_CLAUSE_MIN_CHARS

MAX_BODY_BYTES = 25 * 1024 * 1024  # OpenAI's limit for audio uploads
# OpenAI's limit for one input_audio_buffer.append, and here for all the audio not yet
# committed: 15 MiB is 5.5 minutes of 24 kHz PCM16, longer than any turn.
MAX_INPUT_BUFFER_BYTES = 15 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class ServerConfig:
    """How ``voicelab serve`` runs."""

    host: str = "127.0.0.1"
    """Interface to bind; loopback unless the user asks for more."""
    port: int = 8765
    """TCP port; 0 picks a free one."""
    api_key: str | None = None
    """When set, every request must carry ``Authorization: Bearer <api_key>``."""
    faults: FaultConfig = field(default_factory=FaultConfig)
    """Injected latency and failures."""
    max_body_bytes: int = MAX_BODY_BYTES
    """Larger request bodies (counted as read, chunked or not) get 413."""
    body_timeout_s: float = 10.0
    """A request body must arrive within this; a slower client gets 408 and is disconnected."""
    max_input_buffer_bytes: int = MAX_INPUT_BUFFER_BYTES
    """A realtime append that would take the uncommitted audio past this gets an error event."""
    backend: str = "local"
    """What answers: ``local`` (the embedded models) or ``synthetic`` (fixed content at once,
    for load and fault tests)."""
    request_log: Path | None = None
    """A JSON-lines file that gets one line per request (see ``voicelab.server.request_log``)."""
    whisper: WhisperConfig | None = None
    piper: PiperConfig | None = None
    llama: LlamaConfig | None = None
    first_clause_min_chars: int = DEFAULT_FIRST_CLAUSE_MIN_CHARS
    """Realtime answers start speaking at the first clause this long (comma, semicolon or
    colon) or the first sentence, whichever ends first; 0 waits for whole sentences."""

    speculative_stt: bool = True
    """Realtime input with server VAD: a turn's transcription starts when its closing silence
    begins, and is used if that silence ends the turn (``voicelab.providers.speculation``)."""

    def __post_init__(self) -> None:
        if self.first_clause_min_chars < 0:
            raise ConfigError(
                f"first_clause_min_chars must be >= 0, not {self.first_clause_min_chars}"
            )
        if self.backend not in BACKENDS:
            raise ConfigError(
                f"unknown server backend {self.backend!r}; choose from {', '.join(BACKENDS)}"
            )

    def __repr__(self) -> str:  # the key must never reach a log or a traceback
        key = "***" if self.api_key else None
        return (
            f"ServerConfig(host={self.host!r}, port={self.port}, backend={self.backend!r}, "
            f"api_key={key})"
        )


@dataclass(frozen=True)
class Backend:
    """How a backend builds its three engines, and how it names itself to clients."""

    stt: Callable[[ServerConfig], TranscriptionEngine]
    tts: Callable[[ServerConfig], SpeechEngine]
    chat: Callable[[ServerConfig], ChatEngine]
    label: str
    """Sent in the ``x-voicelab-backend`` header of every HTTP response."""
    realtime_label: str
    """Named in realtime sessions (``session.voicelab.backend``)."""


BACKENDS = {
    "local": Backend(
        stt=lambda c: FasterWhisperSTTModel(c.whisper),
        tts=lambda c: PiperTTSModel(c.piper),
        chat=lambda c: LlamaChatEngine(c.llama),
        label="local-server",
        realtime_label="local-cascade",
    ),
    "synthetic": Backend(
        stt=lambda c: SyntheticTranscriber(),
        tts=lambda c: SyntheticSpeech(),
        chat=lambda c: SyntheticChatEngine(),
        label="synthetic",
        realtime_label="synthetic",
    ),
}
"""The server's backends by name (``voicelab serve --backend``)."""


class ServerState:
    """The engines load once, on first use, and serve every request after that."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.backend = BACKENDS[config.backend]
        self.faults = FaultInjector(config.faults)
        self.request_log = RequestLog(config.request_log)

    @cached_property
    def stt(self) -> TranscriptionEngine:
        """Speech to text behind transcriptions and realtime input (Whisper, locally)."""
        return self.backend.stt(self.config)

    @cached_property
    def tts(self) -> SpeechEngine:
        """Text to speech behind speech and realtime output (Piper, locally)."""
        return self.backend.tts(self.config)

    @cached_property
    def chat(self) -> ChatEngine:
        """The chat model behind chat completions, responses and realtime replies (llama.cpp)."""
        return self.backend.chat(self.config)

    def load_models(self) -> None:
        """Load every model now (at start-up) rather than on the first request."""
        _ = self.stt, self.tts, self.chat
