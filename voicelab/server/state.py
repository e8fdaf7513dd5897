"""What the server holds: its configuration, the local models and the fault injector."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from voicelab.providers.llama_chat import LlamaChatEngine
from voicelab.providers.local_config import LlamaConfig, PiperConfig, WhisperConfig
from voicelab.providers.piper_tts import PiperTTSModel
from voicelab.providers.whisper_stt import FasterWhisperSTTModel
from voicelab.server.faults import FaultConfig, FaultInjector

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
    """Larger request bodies get 413."""
    max_input_buffer_bytes: int = MAX_INPUT_BUFFER_BYTES
    """A realtime append that would take the uncommitted audio past this gets an error event."""
    whisper: WhisperConfig | None = None
    piper: PiperConfig | None = None
    llama: LlamaConfig | None = None

    def __repr__(self) -> str:  # the key must never reach a log or a traceback
        key = "***" if self.api_key else None
        return f"ServerConfig(host={self.host!r}, port={self.port}, api_key={key})"


class ServerState:
    """The models load once, on first use, and serve every request after that."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.faults = FaultInjector(config.faults)

    @cached_property
    def stt(self) -> FasterWhisperSTTModel:
        """Whisper behind transcriptions and realtime input."""
        return FasterWhisperSTTModel(self.config.whisper)

    @cached_property
    def tts(self) -> PiperTTSModel:
        """Piper behind speech and realtime output."""
        return PiperTTSModel(self.config.piper)

    @cached_property
    def chat(self) -> LlamaChatEngine:
        """llama.cpp behind chat completions, responses and realtime replies."""
        return LlamaChatEngine(self.config.llama)

    def load_models(self) -> None:
        """Load every model now (at start-up) rather than on the first request."""
        _ = self.stt, self.tts, self.chat
