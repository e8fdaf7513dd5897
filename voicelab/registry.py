"""Named pipelines the CLI and notebooks can build: each name maps to one factory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from voicelab.errors import ConfigError
from voicelab.pipelines.base import Pipeline
from voicelab.pipelines.chained_config import ChainedConfig


@dataclass(frozen=True, kw_only=True)
class PipelineOptions:
    """What a user may set for any named pipeline; None keeps each component's default."""

    whisper_model_path: str | None = None
    """Local STT: a CTranslate2 Whisper folder."""
    piper_voice_path: str | None = None
    """Local TTS: a piper .onnx voice."""
    llm_model_path: str | None = None
    """Local LLM: a GGUF chat model."""
    tool_choice: str | None = "required"
    """The agent's tool_choice ("auto" suits models larger than the embedded one)."""
    chained: ChainedConfig = field(default_factory=ChainedConfig)
    """Chained pipeline settings."""


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
        agent=make_support_agent(options.tool_choice),
        agent_model=model,
        agent_model_name=model_name,
        tts_model=provider.get_tts_model(None),
        config=options.chained,
        backend="local",
    )


PIPELINES: dict[str, Callable[[PipelineOptions], Pipeline]] = {
    "chained-local": _chained_local,
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
