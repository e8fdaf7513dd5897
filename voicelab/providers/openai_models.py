"""The chained architecture's cloud models through the Agents SDK's own OpenAI classes.

Pointed at any OpenAI-compatible ``base_url``: the OpenAI cloud, Azure, or ``voicelab serve``.
"""

from __future__ import annotations

from agents import OpenAIChatCompletionsModel, OpenAIResponsesModel
from agents.models.interface import Model
from agents.voice import OpenAIVoiceModelProvider, STTModel, TTSModel

from voicelab.errors import ConfigError
from voicelab.providers.openai_endpoint import AGENT_APIS, OpenAIEndpoint


def openai_voice_models(
    endpoint: OpenAIEndpoint, stt_model: str, tts_model: str
) -> tuple[STTModel, TTSModel]:
    """STT and TTS models of the SDK's ``OpenAIVoiceModelProvider`` at ``endpoint``."""
    provider = OpenAIVoiceModelProvider(openai_client=endpoint.client())
    return provider.get_stt_model(stt_model), provider.get_tts_model(tts_model)


def openai_agent_model(endpoint: OpenAIEndpoint, model: str, api: str) -> Model:
    """The SDK's Responses or Chat Completions model for ``model`` at ``endpoint``."""
    if api == "responses":
        return OpenAIResponsesModel(model=model, openai_client=endpoint.client())
    if api == "chat_completions":
        return OpenAIChatCompletionsModel(model=model, openai_client=endpoint.client())
    raise ConfigError(f"agent API must be one of {AGENT_APIS}, not {api!r}")
