"""The Agents SDK's ``STTModel`` over faster-whisper, for the embedded default."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from agents.voice import (
    AudioInput,
    StreamedAudioInput,
    StreamedTranscriptionSession,
    STTModel,
    STTModelSettings,
)

from voicelab._async import iterate_in_thread
from voicelab.audio import AudioClip, clip_from_array, resample
from voicelab.audio_formats import WHISPER_RATE_HZ
from voicelab.errors import ModelError
from voicelab.providers.local_config import WhisperConfig
from voicelab.providers.local_models import load_whisper, model_lock
from voicelab.providers.whisper_session import LocalTranscriptionSession
from voicelab.vad import VadConfig

_FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # Whisper's and faster-whisper's default


class FasterWhisperSTTModel(STTModel):
    """Transcribes a whole turn with faster-whisper in a worker thread."""

    def __init__(
        self, config: WhisperConfig | None = None, vad_config: VadConfig | None = None
    ) -> None:
        self.config = config or WhisperConfig()
        self.vad_config = vad_config or VadConfig()
        self._model = load_whisper(self.config)
        self._lock = model_lock(id(self._model))

    @property
    def model_name(self) -> str:
        return self.config.served_name

    def transcribe_clip(self, clip: AudioClip) -> str:
        """Blocking: resample to 16 kHz and decode greedily; returns the joined segment texts."""
        return " ".join(self.segment_texts(clip)).strip()

    def segment_texts(self, clip: AudioClip) -> Iterator[str]:
        """Blocking: each ~30 s segment's text as it is decoded (stop early by not reading on)."""
        audio = resample(clip, WHISPER_RATE_HZ).samples
        try:
            with self._lock:
                segments, _info = self._model.transcribe(
                    audio,
                    language=self.config.language,
                    beam_size=self.config.beam_size,
                    vad_filter=False,
                    without_timestamps=True,
                    condition_on_previous_text=False,
                    temperature=_FALLBACK_TEMPERATURES if self.config.temperature_fallback else 0.0,
                )
                for segment in segments:
                    yield segment.text.strip()
        except (RuntimeError, ValueError) as e:
            raise ModelError(f"Whisper failed on {clip.source}: {e}") from e

    async def atranscribe_clip(self, clip: AudioClip) -> str:
        """``transcribe_clip`` in a worker thread that stops between segments when this
        coroutine is cancelled (a client that left)."""
        texts = [text async for text in iterate_in_thread(lambda: self.segment_texts(clip))]
        return " ".join(texts).strip()

    async def transcribe(
        self,
        input: AudioInput,
        settings: STTModelSettings,
        trace_include_sensitive_data: bool,
        trace_include_sensitive_audio_data: bool,
    ) -> str:
        clip = clip_from_array(input.buffer, input.frame_rate, source="AudioInput")
        return await self.atranscribe_clip(clip)

    async def create_session(
        self,
        input: StreamedAudioInput,
        settings: STTModelSettings,
        trace_include_sensitive_data: bool,
        trace_include_sensitive_audio_data: bool,
    ) -> StreamedTranscriptionSession:
        return LocalTranscriptionSession(
            input, self, self.vad_config, speculative=self.config.speculative
        )

    def describe(self) -> dict[str, Any]:
        """Settings recorded with a run."""
        return {"model": self.model_name, **self.config.__dict__, "vad": self.vad_config.__dict__}
