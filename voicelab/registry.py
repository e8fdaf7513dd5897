"""Named pipelines: each name maps to its config class and the factory that builds it.

``build_pipeline("realtime", agent=my_agent, config=RealtimeConfig(...))`` runs any Agents SDK
agent on any registered architecture. A new backend is a new entry, not a new ``if``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from voicelab.errors import ConfigError
from voicelab.pipelines.base import Pipeline
from voicelab.pipelines.chained.config import ChainedLocalConfig, ChainedOpenAIConfig
from voicelab.pipelines.realtime.config import RealtimeConfig

if TYPE_CHECKING:
    from agents import Agent

    from voicelab.providers.local_config import LlamaConfig, WhisperConfig


def _given(**fields: Any) -> dict[str, Any]:
    """The fields that are set (None keeps the config class's default)."""
    return {key: value for key, value in fields.items() if value is not None}


def _capped(threads: int | None, cap: int | None) -> int | None:
    """A component's thread setting under a worker's cap (None: no setting, no cap)."""
    return cap if threads is None else _at_most(threads, cap)


def _at_most(threads: int, cap: int | None) -> int:
    """A thread count under a worker's cap (None: no cap)."""
    return threads if cap is None else min(threads, cap)


def chained_local_whisper(config: ChainedLocalConfig, threads: int | None = None) -> WhisperConfig:
    """The Whisper settings chained-local transcribes with under ``config``."""
    from voicelab.providers.local_config import WhisperConfig

    return WhisperConfig(
        **_given(model_path=config.whisper_model),
        cpu_threads=_at_most(config.stt_threads, threads),
        temperature_fallback=config.stt_temperature_fallback,
        speculative=config.speculative_stt,
    )


def chained_local_llama(config: ChainedLocalConfig, threads: int | None = None) -> LlamaConfig:
    """The llama.cpp settings chained-local's agent model runs with under ``config``."""
    from voicelab.providers.local_config import LlamaConfig

    return LlamaConfig(
        **_given(model_path=config.llm_model),
        n_threads=_at_most(config.llm_threads, threads),
        n_threads_batch=_at_most(config.llm_threads_batch, threads),
        idle_prefill_threads=_at_most(config.llm_idle_prefill_threads, threads),
        idle_decode_threads=_at_most(config.llm_idle_decode_threads, threads),
        idle_decode_chars=config.llm_idle_decode_chars,
        extra_buffer_types=config.llm_extra_buffer_types,
        stable_prompt_prefix=config.llm_stable_prompt_prefix,
        prefill_call_opening=config.llm_prefill_call_opening,
        prefill_argument_name=config.llm_prefill_argument_name,
        answer_token_mask=config.llm_answer_token_mask,
        reuse_decoded_tokens=config.llm_reuse_decoded_tokens,
        tool_result_style=config.llm_tool_result_style,
        ground_tool_arguments=config.llm_ground_tool_arguments,
        route_tools_by_description=config.llm_route_tools_by_description,
        router_keeps_descriptions=config.llm_router_keeps_descriptions,
    )


def _chained_local(
    config: Any, agent: Agent[Any], api_key: str | None, threads: int | None = None
) -> Pipeline:
    from voicelab.pipelines.chained.pipeline import ChainedPipeline
    from voicelab.providers.local_config import PiperConfig
    from voicelab.providers.local_provider import LocalVoiceModelProvider, local_agent_model
    from voicelab.vad import VadConfig

    assert isinstance(config, ChainedLocalConfig)
    whisper = chained_local_whisper(config, threads)
    piper = PiperConfig(
        **_given(model_path=config.piper_voice, threads=_capped(config.tts_threads, threads)),
        max_leading_silence_ms=config.tts_max_leading_silence_ms,
    )
    llama = chained_local_llama(config, threads)
    vad = VadConfig(warmup_silence_ms=config.vad_warmup_silence_ms)
    provider = LocalVoiceModelProvider(whisper, piper, vad)
    model, model_name = local_agent_model(llama)
    return ChainedPipeline(
        name="chained-local",
        stt_model=provider.get_stt_model(None),
        agent=agent,
        agent_model=model,
        agent_model_name=model_name,
        tts_model=provider.get_tts_model(None),
        config=config,
        backend="local",
    )


def _chained_openai(
    config: Any, agent: Agent[Any], api_key: str | None, threads: int | None = None
) -> Pipeline:
    from voicelab.pipelines.chained.pipeline import ChainedPipeline
    from voicelab.providers.openai_models import openai_agent_model, openai_voice_models
    from voicelab.providers.server_backend import http_backend

    assert isinstance(config, ChainedOpenAIConfig)
    endpoint = config.endpoint(api_key)
    stt, tts = openai_voice_models(endpoint, config.stt_model, config.tts_model)
    return ChainedPipeline(
        name="chained-openai",
        stt_model=stt,
        agent=agent,
        agent_model=openai_agent_model(endpoint, config.llm_model, config.agent_api),
        agent_model_name=config.llm_model,
        tts_model=tts,
        config=config,
        backend=http_backend(endpoint),
    )


def _realtime(
    config: Any, agent: Agent[Any], api_key: str | None, threads: int | None = None
) -> Pipeline:
    from voicelab.pipelines.realtime.pipeline import build_realtime

    assert isinstance(config, RealtimeConfig)
    return build_realtime(config.endpoint(api_key), agent, config)


Factory = Callable[[Any, "Agent[Any]", str | None, int | None], Pipeline]
"""(config, agent, api_key, threads): ``threads`` caps the CPU threads of local models."""


@dataclass(frozen=True)
class PipelineEntry:
    """A registered pipeline: the config class it takes and the factory that builds it."""

    config_class: type[Any]
    factory: Factory
    summary: str


PIPELINES: dict[str, PipelineEntry] = {
    "chained-local": PipelineEntry(
        ChainedLocalConfig, _chained_local, "embedded Whisper -> llama.cpp agent -> piper"
    ),
    "chained-openai": PipelineEntry(
        ChainedOpenAIConfig, _chained_openai, "OpenAI STT -> agent model -> TTS at any base URL"
    ),
    "realtime": PipelineEntry(
        RealtimeConfig, _realtime, "one speech-to-speech model over the Realtime protocol"
    ),
}


def pipeline_entry(name: str) -> PipelineEntry:
    """The registry entry of ``name``, or a ConfigError listing the names there are."""
    try:
        return PIPELINES[name]
    except KeyError:
        raise ConfigError(
            f"unknown pipeline {name!r}; choose from {', '.join(PIPELINES)}"
        ) from None


def build_pipeline(
    name: str,
    *,
    agent: Agent[Any] | None = None,
    config: Any = None,
    api_key: str | None = None,
    threads: int | None = None,
) -> Pipeline:
    """Build the pipeline registered under ``name`` running ``agent`` (default: the demo one).

    ``config`` is an instance of the entry's config class (default: its defaults);
    ``api_key`` is passed, never read from the environment here. ``threads`` caps the CPU
    threads each local model uses (a worker process's share of the machine); it is an execution
    setting, so it is not part of the config nor of ``describe()``.
    """
    entry = pipeline_entry(name)
    config = entry.config_class() if config is None else config
    if not isinstance(config, entry.config_class):
        raise ConfigError(
            f"pipeline {name!r} takes a {entry.config_class.__name__}, "
            f"not a {type(config).__name__}"
        )
    if agent is None:
        from voicelab.agent.loading import default_agent

        agent = default_agent().agent
    return entry.factory(config, agent, api_key, threads)
