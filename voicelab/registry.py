"""Named pipelines the CLI and notebooks can build: each name maps to one factory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from voicelab.errors import ConfigError
from voicelab.pipelines.base import Pipeline
from voicelab.pipelines.chained_config import ChainedConfig
from voicelab.pipelines.feeding import FeedConfig
from voicelab.providers.openai_endpoint import (
    DEFAULT_LLM_MODEL,
    DEFAULT_STT_MODEL,
    DEFAULT_TTS_MODEL,
    OpenAIEndpoint,
)


@dataclass(frozen=True, kw_only=True)
class PipelineOptions:
    """What a user may set for any named pipeline; None keeps each component's default."""

    whisper_model_path: str | None = None
    """Local STT: a CTranslate2 Whisper folder."""
    piper_voice_path: str | None = None
    """Local TTS: a piper .onnx voice."""
    llm_model_path: str | None = None
    """Local LLM: a GGUF chat model."""
    tool_choice: str | None = None
    """The agent's tool_choice; None is the pipeline's default ("required" for the embedded
    135M model, which cannot decide on its own; "auto" for OpenAI models)."""
    chained: ChainedConfig = field(default_factory=ChainedConfig)
    """Chained pipeline settings (its ``feed`` is replaced by ``feed`` below)."""
    feed: FeedConfig = field(default_factory=FeedConfig)
    """How user audio is streamed in, for every pipeline that streams it."""
    endpoint: OpenAIEndpoint | None = None
    """Where OpenAI pipelines send requests (key, base URL, timeout, retries)."""
    stt_model: str = DEFAULT_STT_MODEL
    """OpenAI pipelines: speech-to-text model."""
    llm_model: str = DEFAULT_LLM_MODEL
    """OpenAI pipelines: agent model."""
    tts_model: str = DEFAULT_TTS_MODEL
    """OpenAI pipelines: text-to-speech model."""
    agent_api: str = "responses"
    """OpenAI pipelines: "responses" (the SDK's default) or "chat_completions"."""
    realtime_model: str = "gpt-realtime"
    """realtime: the speech-to-speech model."""
    realtime_url: str | None = None
    """realtime: a full WebSocket URL (Azure, a self-hosted server); default from the endpoint."""
    realtime_voice: str = "alloy"
    """realtime: the output voice."""
    turn_detection: str = "server_vad"
    """realtime: "server_vad" (the server finds the turn end) or "manual" (commit)."""


def _chained_local(options: PipelineOptions) -> Pipeline:
    from voicelab.demo.support_agent import make_support_agent
    from voicelab.pipelines.chained import ChainedPipeline
    from voicelab.providers.local_config import LlamaConfig, PiperConfig, WhisperConfig
    from voicelab.providers.local_provider import LocalVoiceModelProvider, local_agent_model

    whisper = (
        WhisperConfig(model_path=options.whisper_model_path)
        if options.whisper_model_path
        else WhisperConfig()
    )
    piper = (
        PiperConfig(model_path=options.piper_voice_path)
        if options.piper_voice_path
        else PiperConfig()
    )
    llama = (
        LlamaConfig(model_path=options.llm_model_path) if options.llm_model_path else LlamaConfig()
    )
    provider = LocalVoiceModelProvider(whisper, piper)
    model, model_name = local_agent_model(llama)
    return ChainedPipeline(
        name="chained-local",
        stt_model=provider.get_stt_model(None),
        agent=make_support_agent(options.tool_choice or "required"),
        agent_model=model,
        agent_model_name=model_name,
        tts_model=provider.get_tts_model(None),
        config=replace(options.chained, feed=options.feed),
        backend="local",
    )


def _chained_openai(options: PipelineOptions) -> Pipeline:
    from voicelab.demo.support_agent import make_support_agent
    from voicelab.pipelines.chained import ChainedPipeline
    from voicelab.providers.openai_models import openai_agent_model, openai_voice_models

    if options.endpoint is None:
        raise ConfigError("chained-openai needs an endpoint (API key and/or base URL)")
    stt, tts = openai_voice_models(options.endpoint, options.stt_model, options.tts_model)
    return ChainedPipeline(
        name="chained-openai",
        stt_model=stt,
        agent=make_support_agent(options.tool_choice or "auto"),
        agent_model=openai_agent_model(options.endpoint, options.llm_model, options.agent_api),
        agent_model_name=options.llm_model,
        tts_model=tts,
        config=replace(options.chained, feed=options.feed),
        backend=options.endpoint.backend,
        extra_description={"agent_api": options.agent_api, "base_url": options.endpoint.base_url},
    )


def _realtime(options: PipelineOptions) -> Pipeline:
    from voicelab.pipelines.realtime import build_realtime
    from voicelab.pipelines.realtime_config import RealtimeConfig

    if options.endpoint is None:
        raise ConfigError("realtime needs an endpoint (API key and/or base URL)")
    feed = options.feed
    config = RealtimeConfig(
        model=options.realtime_model,
        voice=options.realtime_voice,
        tool_choice=options.tool_choice or "auto",  # type: ignore[arg-type]
        turn_detection=options.turn_detection,  # type: ignore[arg-type]
        feed_mode=feed.mode,
        chunk_ms=feed.chunk_ms,
        trailing_silence_ms=feed.trailing_silence_ms,
        turn_timeout_s=options.chained.turn_timeout_s,
    )
    return build_realtime(options.endpoint, config, url=options.realtime_url)


PIPELINES: dict[str, Callable[[PipelineOptions], Pipeline]] = {
    "chained-local": _chained_local,
    "chained-openai": _chained_openai,
    "realtime": _realtime,
}


def build_pipeline(name: str, options: PipelineOptions | None = None) -> Pipeline:
    """Build the pipeline registered under ``name``."""
    try:
        factory = PIPELINES[name]
    except KeyError:
        raise ConfigError(
            f"unknown pipeline {name!r}; choose from {', '.join(PIPELINES)}"
        ) from None
    return factory(options or PipelineOptions())
