"""Settings of the chained pipelines (kept apart so importing them does not load the SDK)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from voicelab.audio import DEFAULT_AUDIBLE_THRESHOLD_DBFS
from voicelab.errors import ConfigError
from voicelab.pipelines.settings import EndpointSettings, TurnSettings
from voicelab.providers.chat_render import ToolResultStyle
from voicelab.providers.local_config import DEFAULT_MAX_LEADING_SILENCE_MS
from voicelab.providers.openai_endpoint import (
    AGENT_APIS,
    DEFAULT_LLM_MODEL,
    DEFAULT_STT_MODEL,
    DEFAULT_TTS_MODEL,
)
from voicelab.speech_split import (
    DEFAULT_FIRST_CLAUSE_MIN_CHARS,
    DEFAULT_FIRST_WORDS_MIN_CHARS,
    FIRST_WORDS_MIN_CHARS_CHAINED,
)
from voicelab.vad import DEFAULT_WARMUP_SILENCE_MS

AgentApi = Literal["responses", "chat_completions"]


@dataclass(frozen=True, kw_only=True)
class ChainedConfig(TurnSettings):
    """Settings of any chained (STT -> agent -> TTS) pipeline."""

    default_tool_choice: ClassVar[str] = "auto"

    tool_choice: str | None = None
    """"auto", "required", "none" or a tool name; None keeps the agent's own, and an agent
    without one gets the pipeline's default."""
    tts_buffer_size: int = 1
    """TTS chunks the SDK gathers before emitting audio; its default 120 holds ~2.5 s back."""
    max_agent_turns: int = 4
    """Model calls allowed per user turn (a tool call and the answer take two)."""
    audible_threshold_dbfs: float = DEFAULT_AUDIBLE_THRESHOLD_DBFS
    """Agent audio quieter than this counts as silence for ``first_audible_audio``."""
    input_mode: Literal["static", "streamed"] = "static"
    """"static": the whole clip as one ``AudioInput``; "streamed": chunks into the SDK's
    ``StreamedAudioInput``, and the STT session's own VAD decides where the turn ends."""
    first_clause_min_chars: int = DEFAULT_FIRST_CLAUSE_MIN_CHARS
    """The answer's first piece goes to TTS at the first clause this long (comma, semicolon or
    colon) or the first sentence, whichever ends first, then whole sentences; 0 is the SDK's
    own sentence splitter (unless ``first_words_min_chars`` is set)."""
    first_words_min_chars: int = DEFAULT_FIRST_WORDS_MIN_CHARS
    """Speed lever: the answer's first piece may also go to TTS at the first complete word once
    this many characters are waiting, without waiting for punctuation (the model decodes the
    rest while the first words are synthesised and played); 0 turns it off. On by default in
    chained-local, where it was measured; off here (a cloud TTS request has its own cost)."""

    def __post_init__(self) -> None:
        if self.tts_buffer_size < 1 or self.max_agent_turns < 1:
            raise ConfigError("tts_buffer_size and max_agent_turns must be >= 1")
        if self.first_clause_min_chars < 0 or self.first_words_min_chars < 0:
            raise ConfigError(
                "first_clause_min_chars and first_words_min_chars must be >= 0, not "
                f"{self.first_clause_min_chars} and {self.first_words_min_chars}"
            )
        if self.input_mode not in ("static", "streamed"):
            raise ConfigError(f"input_mode must be 'static' or 'streamed', not {self.input_mode!r}")
        if self.input_mode == "static" and self.feed.mode == "realtime":
            raise ConfigError("real-time feeding needs input_mode='streamed' (static is one clip)")
        if self.tool_choice is not None and not self.tool_choice.strip():
            raise ConfigError("tool_choice must not be empty (None keeps the agent's own)")
        super().__post_init__()


@dataclass(frozen=True, kw_only=True)
class ChainedLocalConfig(ChainedConfig):
    """chained-local: the embedded models (Whisper, a llama.cpp model, piper), no key needed."""

    default_tool_choice: ClassVar[str] = "required"
    """The embedded 135M model cannot decide on its own when to call a tool."""

    first_words_min_chars: int = FIRST_WORDS_MIN_CHARS_CHAINED
    """Speed lever (``ChainedConfig.first_words_min_chars``), on: about three words go to
    piper first, while llama.cpp decodes the rest."""
    whisper_model: str | None = None
    """A CTranslate2 Whisper folder; None is the embedded Whisper tiny.en."""
    llm_model: str | None = None
    """A GGUF chat model; None is the embedded SmolLM2-135M-Instruct."""
    piper_voice: str | None = None
    """A piper .onnx voice; None is the embedded joe-medium voice."""
    llm_threads: int = 1
    """llama.cpp threads; 1 avoids barrier stalls when STT/TTS share the two cores."""
    llm_threads_batch: int = 1
    """llama.cpp prefill threads (``LlamaConfig.n_threads_batch``)."""
    llm_idle_prefill_threads: int = 2
    """Speed lever: prefill on up to this many threads when that many cores are idle at the
    request, else on ``llm_threads_batch``; a value at or below ``llm_threads_batch`` switches
    it off (``LlamaConfig.idle_prefill_threads``)."""
    llm_idle_decode_threads: int = 2
    """Speed lever: a request that starts on idle cores decodes on up to this many threads
    until its reply is a whole tool call or holds ``llm_idle_decode_chars`` characters, then on
    ``llm_threads``; a value at or below ``llm_threads`` switches it off
    (``LlamaConfig.idle_decode_threads``)."""
    llm_idle_decode_chars: int = 16
    """Answer text decoded on ``llm_idle_decode_threads`` before TTS starts speaking it
    (``LlamaConfig.idle_decode_chars``)."""
    llm_extra_buffer_types: bool = False
    """llama.cpp's extra weight buffers (``LlamaConfig.extra_buffer_types``); off: they
    crashed llama-cpp-python 0.3.36 on an AMX Xeon."""
    llm_stable_prompt_prefix: bool = True
    """Keep the tools in the prompt of every phase so the KV cache is reused
    (``LlamaConfig.stable_prompt_prefix``)."""
    llm_prefill_call_opening: bool = True
    """Prefill a required call's fixed opening; stop once its arguments close
    (``LlamaConfig.prefill_call_opening``)."""
    llm_prefill_argument_name: bool = True
    """A required call to a tool with one required argument and no others is prefilled through
    the argument's name; only its value is decoded (``LlamaConfig.prefill_argument_name``)."""
    llm_reuse_decoded_tokens: bool = False
    """Also reuse the cache of decoded tokens; faster, but answers depend on the cache
    (``LlamaConfig.reuse_decoded_tokens``)."""
    llm_answer_token_mask: bool = True
    """Hold the answer to its rule with a token mask, not a grammar
    (``LlamaConfig.answer_token_mask``)."""
    llm_tool_result_style: ToolResultStyle = "system"
    """How a tool's result is shown to the model: "system", "user", "assistant" or "tool_role"
    (``LlamaConfig.tool_result_style``)."""
    llm_ground_tool_arguments: bool = True
    """Digit identifiers in a call only as the user said them this turn
    (``LlamaConfig.ground_tool_arguments``)."""
    llm_route_tools_by_description: bool = True
    """A required call uses the tool whose description best explains the user's words; the
    model writes only its arguments (``LlamaConfig.route_tools_by_description``)."""
    llm_router_keeps_descriptions: bool = True
    """Each tool's description stays evaluated for routing; a turn evaluates only the user's
    words (``LlamaConfig.router_keeps_descriptions``)."""
    stt_temperature_fallback: bool = False
    """Whisper decodes again with sampling when the greedy text looks like a failure; off:
    greedy only, repeatable (``WhisperConfig.temperature_fallback``)."""
    speculative_stt: bool = True
    """Streamed input: transcription starts when the turn's closing silence begins and is used
    if that silence ends the turn (``WhisperConfig.speculative``)."""
    tts_max_leading_silence_ms: float | None = DEFAULT_MAX_LEADING_SILENCE_MS
    """Piper's silence before each sentence's first audible sample is cut to this; None keeps
    it (``PiperConfig.max_leading_silence_ms``)."""

    stt_threads: int = 2
    """Speed lever: faster-whisper's CPU threads (``WhisperConfig.cpu_threads``)."""
    vad_warmup_silence_ms: int = DEFAULT_WARMUP_SILENCE_MS
    """Streamed input: silence the turn detector hears before the stream, so a word at the
    stream's very start is not missed (``VadConfig.warmup_silence_ms``); 0 starts cold."""
    tts_threads: int | None = 2
    """Speed lever: piper's onnxruntime intra-op threads, which never spin while idle
    (``PiperConfig.threads``); None keeps onnxruntime's default session (one thread per core,
    spinning), which competes with llama.cpp still decoding the answer while piper speaks its
    first piece."""

    def __post_init__(self) -> None:
        if self.stt_threads < 1:
            raise ConfigError(f"stt_threads must be >= 1, not {self.stt_threads}")
        if self.vad_warmup_silence_ms < 0:
            raise ConfigError(
                f"vad_warmup_silence_ms must be >= 0, not {self.vad_warmup_silence_ms}"
            )
        if self.tts_threads is not None and self.tts_threads < 1:
            raise ConfigError(
                f"tts_threads must be >= 1 (None: onnxruntime's default), not {self.tts_threads}"
            )
        threads = (
            self.llm_threads,
            self.llm_threads_batch,
            self.llm_idle_prefill_threads,
            self.llm_idle_decode_threads,
        )
        if min(threads) < 1:
            raise ConfigError(
                "llm_threads, llm_threads_batch, llm_idle_prefill_threads and "
                f"llm_idle_decode_threads must be >= 1, not {', '.join(map(str, threads))}"
            )
        if self.llm_idle_decode_chars < 0:
            raise ConfigError(
                f"llm_idle_decode_chars must be >= 0, not {self.llm_idle_decode_chars}"
            )
        if self.tts_max_leading_silence_ms is not None and self.tts_max_leading_silence_ms < 0:
            raise ConfigError("tts_max_leading_silence_ms must be >= 0 (None: no trim)")
        super().__post_init__()


@dataclass(frozen=True, kw_only=True)
class ChainedOpenAIConfig(ChainedConfig, EndpointSettings):
    """chained-openai: the SDK's own OpenAI STT, agent model and TTS at any compatible URL."""

    stt_model: str = DEFAULT_STT_MODEL
    """Speech-to-text model."""
    llm_model: str = DEFAULT_LLM_MODEL
    """Agent model (replaces whatever model the agent names, so runs compare like with like)."""
    tts_model: str = DEFAULT_TTS_MODEL
    """Text-to-speech model."""
    agent_api: AgentApi = "responses"
    """"responses" (the SDK's default) or "chat_completions"."""

    def __post_init__(self) -> None:
        if self.agent_api not in AGENT_APIS:
            raise ConfigError(f"agent_api must be one of {AGENT_APIS}, not {self.agent_api!r}")
        if not (self.stt_model and self.llm_model and self.tts_model):
            raise ConfigError("stt_model, llm_model and tts_model must not be empty")
        super().__post_init__()
