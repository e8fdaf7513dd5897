"""The embedded default's models as Agents SDK objects: STT, TTS and the agent's model."""

from __future__ import annotations

from agents import OpenAIChatCompletionsModel
from agents.models.interface import Model
from agents.voice import STTModel, TTSModel, VoiceModelProvider

from voicelab.providers.inprocess_client import inprocess_openai_client
from voicelab.providers.llama_chat import LlamaChatEngine
from voicelab.providers.local_config import LlamaConfig, PiperConfig, WhisperConfig
from voicelab.providers.piper_tts import PiperTTSModel
from voicelab.providers.whisper_stt import FasterWhisperSTTModel
from voicelab.vad import VadConfig


class LocalVoiceModelProvider(VoiceModelProvider):
    """``VoiceModelProvider`` for faster-whisper and piper; model names are ignored."""

    def __init__(
        self,
        whisper: WhisperConfig | None = None,
        piper: PiperConfig | None = None,
        vad: VadConfig | None = None,
    ) -> None:
        self._stt = FasterWhisperSTTModel(whisper, vad)
        self._tts = PiperTTSModel(piper)

    def get_stt_model(self, model_name: str | None) -> STTModel:
        return self._stt

    def get_tts_model(self, model_name: str | None) -> TTSModel:
        return self._tts


def local_agent_model(config: LlamaConfig | None = None) -> tuple[Model, str]:
    """The SDK's Chat Completions model, served in-process by llama.cpp; and its name."""
    engine = LlamaChatEngine(config)
    model = OpenAIChatCompletionsModel(
        model=engine.model_name, openai_client=inprocess_openai_client(engine)
    )
    return model, engine.model_name
