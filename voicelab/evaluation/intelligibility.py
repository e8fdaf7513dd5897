"""The agent's own intelligibility: its audio transcribed back by an STT model.

The transcript is scored against the agent's own text (``agent_wer``, in ``voicelab.scoring``),
so a TTS voice and a speech-to-speech voice are compared on the same footing. The STT is the
embedded faster-whisper (any CTranslate2 Whisper folder) or any OpenAI-compatible
``/v1/audio/transcriptions``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from voicelab.audio import AudioClip, wav_bytes
from voicelab.error_mapping import as_voicelab_error
from voicelab.errors import ConfigError, VoicelabError
from voicelab.evaluation.settings import LOCAL_STT, AgentWerSettings
from voicelab.execution.retry import Failure, RetryPolicy, error_failure, with_retries
from voicelab.metrics.wer import is_english
from voicelab.providers.openai_endpoint import OpenAIEndpoint

ENGLISH = "en"


def spoken_language(language: str | None) -> str:
    """The ISO 639-1 code an STT takes for a turn's ``language`` (``en-US`` is ``en``); an
    unknown language, or any spelling of English (``eng``, ``English``), is ``en``, as
    ``voicelab.metrics.wer`` takes it."""
    if is_english(language):
        return ENGLISH
    return str(language).strip().lower().replace("_", "-").split("-")[0]


class AgentTranscriber(Protocol):
    """Speech to text of the agent's audio."""

    async def transcribe(self, clip: AudioClip, language: str) -> str:
        """The clip's transcript; ``language`` is what the agent spoke."""
        ...

    def describe(self) -> dict[str, Any]:
        """Settings recorded in run.json (never a key)."""
        ...


class LocalWhisperTranscriber:
    """The embedded faster-whisper (weights shared with any pipeline using the same model)."""

    def __init__(self, model_path: str | None = None) -> None:
        from voicelab.providers.local_config import WhisperConfig

        self.config = (
            WhisperConfig() if model_path is None else WhisperConfig(model_path=model_path)
        )

    async def transcribe(self, clip: AudioClip, language: str) -> str:
        from voicelab.providers.whisper_stt import FasterWhisperSTTModel

        model = FasterWhisperSTTModel(replace(self.config, language=language))  # loaded once
        return await model.atranscribe_clip(clip)

    def describe(self) -> dict[str, Any]:
        return {"stt": "faster-whisper", "model": self.config.served_name,
                "model_path": self.config.model_path}  # fmt: skip


class EndpointTranscriber:
    """A served STT model behind an OpenAI-compatible ``/v1/audio/transcriptions``."""

    def __init__(self, model: str, endpoint: OpenAIEndpoint) -> None:
        self.model = model
        self.endpoint = endpoint

    async def transcribe(self, clip: AudioClip, language: str) -> str:
        async with self.endpoint.client() as client:
            transcription = await client.audio.transcriptions.create(
                model=self.model, file=("agent.wav", wav_bytes(clip), "audio/wav"),
                language=language,
            )  # fmt: skip
        return transcription.text

    def describe(self) -> dict[str, Any]:
        return {"stt": "openai-compatible", "model": self.model, "base_url": self.endpoint.base_url}


def agent_transcriber(settings: AgentWerSettings, api_key: str | None) -> AgentTranscriber:
    """The transcriber ``settings`` name: the embedded Whisper for ``local`` or a folder (no
    ``base_url``), else the served model."""
    local = settings.model == LOCAL_STT or Path(settings.model).is_dir()
    if settings.base_url is None and local:
        return LocalWhisperTranscriber(None if settings.model == LOCAL_STT else settings.model)
    if settings.base_url is None and not api_key:
        raise ConfigError(
            f"agent_wer model {settings.model!r} is neither 'local' nor a Whisper folder; a "
            f"served model needs --agent-wer-base-url (or a key in ${settings.api_key_env} for "
            "the OpenAI cloud)"
        )
    endpoint = OpenAIEndpoint(
        api_key=api_key, base_url=settings.base_url, timeout_s=settings.timeout_s
    )
    return EndpointTranscriber(settings.model, endpoint)


@dataclass(frozen=True)
class TranscriptOutcome:
    """The agent's audio as heard back, or the error that stopped the transcription."""

    transcript: str | None = None
    error: VoicelabError | None = None

    @property
    def failure(self) -> Failure | None:
        """The error as a failed attempt, for the retry loop."""
        return error_failure(self.error) if self.error is not None else None


class AgentIntelligibility:
    """Transcribes the agent's audio; a failure is an outcome, never an exception."""

    def __init__(
        self,
        transcriber: AgentTranscriber,
        *,
        retry: RetryPolicy | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        self.transcriber = transcriber
        self.retry = retry or RetryPolicy()
        self.secrets = tuple(secrets)

    def describe(self) -> dict[str, Any]:
        """The STT's settings, recorded in run.json."""
        return self.transcriber.describe()

    async def transcribe(
        self, clip: AudioClip, turn_id: str, language: str = ENGLISH
    ) -> TranscriptOutcome:
        """``clip`` (the agent's audio of ``turn_id``) as text; transient failures retried."""

        async def once() -> TranscriptOutcome:
            try:
                return TranscriptOutcome(await self.transcriber.transcribe(clip, language))
            except Exception as e:  # the evaluation's error, never the turn's
                where = f"agent_wer transcription of {turn_id}"
                return TranscriptOutcome(
                    error=as_voicelab_error(e, where=where, secrets=self.secrets)
                )

        outcome, _, _ = await with_retries(
            self.retry, f"agent_wer:{turn_id}", once, lambda o: o.failure
        )
        return outcome
