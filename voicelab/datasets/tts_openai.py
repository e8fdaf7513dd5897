"""Script turns spoken by an OpenAI-compatible ``/v1/audio/speech`` (the cloud, ``voicelab
serve``, any server that speaks the protocol), through the ``openai`` client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from voicelab.audio import AudioClip, clip_from_array, decode_audio_bytes, pcm16_bytes_to_float
from voicelab.audio_formats import PCM_RATE_HZ
from voicelab.datasets.tts import VoiceChoice
from voicelab.errors import ConfigError
from voicelab.providers.openai_endpoint import DEFAULT_TTS_MODEL

if TYPE_CHECKING:
    from openai import OpenAI

SpeechFormat = Literal["wav", "pcm", "flac", "mp3", "opus"]
SPEECH_FORMATS: tuple[SpeechFormat, ...] = ("wav", "pcm", "flac", "mp3", "opus")  # soundfile reads
CLOUD_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True, kw_only=True)
class OpenAISpeechConfig:
    """Where and how to call ``/v1/audio/speech``; the key is kept apart (``OpenAISpeech``)."""

    base_url: str | None = None
    """API root such as ``http://127.0.0.1:8765/v1``; None is the OpenAI cloud."""
    model: str = DEFAULT_TTS_MODEL
    """The TTS model."""
    voice: str = "alloy"
    """The default voice; a turn's ``voice`` overrides it."""
    response_format: SpeechFormat = "wav"
    """The audio format asked for (``pcm`` is 24 kHz 16-bit mono); saved as WAV either way."""
    timeout_s: float = 120.0
    """Per-request timeout."""
    max_retries: int = 2
    """Client retries of transient failures (a dataset is built once: retrying is right here)."""

    def __post_init__(self) -> None:
        if self.response_format not in SPEECH_FORMATS:
            raise ConfigError(
                f"response_format {self.response_format!r} is not one of {SPEECH_FORMATS}"
            )
        if self.timeout_s <= 0 or self.max_retries < 0:
            raise ConfigError("timeout_s must be > 0 and max_retries >= 0")


class OpenAISpeech:
    """A ``SpeechSynthesizer`` over ``/v1/audio/speech``; a turn's ``voice`` is a voice name.
    The language is not sent: the API has no such field, its voices speak the text's language."""

    def __init__(self, config: OpenAISpeechConfig, api_key: str | None = None) -> None:
        if not api_key and not config.base_url:
            raise ConfigError(
                "the OpenAI cloud needs a key: set OPENAI_API_KEY (or name another variable "
                "with --api-key-env), or give --base-url of a compatible server"
            )
        self.config = config
        self._api_key = api_key
        self._client: OpenAI | None = None

    def __repr__(self) -> str:
        return f"OpenAISpeech({self.config!r}, api_key={'***' if self._api_key else None})"

    @property
    def model_name(self) -> str:
        return self.config.model

    @property
    def url(self) -> str:
        """The speech endpoint, for messages (no key in it)."""
        return f"{(self.config.base_url or CLOUD_BASE_URL).rstrip('/')}/audio/speech"

    def voice(self, requested: str | None, language: str | None, where: str) -> VoiceChoice:
        name = requested or self.config.voice
        identity = {
            "tts": "openai", "url": self.url, "model": self.config.model, "voice": name,
            "response_format": self.config.response_format,
        }  # fmt: skip
        return VoiceChoice(name=name, ref=name, identity=identity)

    def synthesize(self, text: str, voice: VoiceChoice, where: str) -> AudioClip:
        from voicelab.error_mapping import as_voicelab_error

        source = f"{where} (POST {self.url})"
        try:
            response = self._openai().audio.speech.create(
                input=text, model=self.config.model, voice=voice.ref,
                response_format=self.config.response_format,
            )  # fmt: skip
            data = response.read()
        except Exception as e:  # the client's own errors, mapped to voicelab's classes
            raise as_voicelab_error(e, where=source, secrets=self._secrets()) from e
        if self.config.response_format == "pcm":
            return clip_from_array(pcm16_bytes_to_float(data), PCM_RATE_HZ, source=source)
        return decode_audio_bytes(data, source=source)

    def _openai(self) -> OpenAI:
        if self._client is None:
            from openai import DefaultHttpxClient, OpenAI

            from voicelab.providers.openai_endpoint import tls_context

            self._client = OpenAI(
                api_key=self._api_key or "no-key-needed-locally",
                base_url=self.config.base_url,
                timeout=self.config.timeout_s,
                max_retries=self.config.max_retries,
                http_client=DefaultHttpxClient(verify=tls_context()),
            )
        return self._client

    def _secrets(self) -> tuple[str, ...]:
        return (self._api_key,) if self._api_key else ()
