"""Wrappers around the Agents SDK's model interfaces that stamp the turn's timeline.

They delegate every call unchanged; they only note when results come back, so the SDK's
``VoicePipeline`` runs as it is (no fork) and any STT/TTS/agent model can be measured.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from agents.agent_output import AgentOutputSchemaBase
from agents.handoffs import Handoff
from agents.items import ModelResponse, TResponseInputItem, TResponseStreamEvent
from agents.model_settings import ModelSettings
from agents.models.interface import Model, ModelTracing
from agents.tool import Tool
from agents.voice import (
    AudioInput,
    StreamedAudioInput,
    StreamedTranscriptionSession,
    STTModel,
    STTModelSettings,
    TTSModel,
    TTSModelSettings,
)

from voicelab.pipelines.probe import TurnProbe
from voicelab.processing_time import listening_for_processing_time
from voicelab.timeline import Event

# Stream events that carry the model's first output: text, a refusal, or a tool call
_OUTPUT_EVENTS = {
    "response.output_text.delta",
    "response.refusal.delta",
    "response.function_call_arguments.delta",
    "response.output_item.done",
}


class TimedSTTModel(STTModel):
    """Stamps ``transcript_final`` when the wrapped model returns the transcript, and keeps the
    server's reported processing time of the request as the ``stt`` figure."""

    def __init__(self, inner: STTModel, probe: TurnProbe) -> None:
        self.inner = inner
        self.probe = probe
        self.last_transcript: str | None = None
        self.session: StreamedTranscriptionSession | None = None
        """The latest streamed session of the wrapped model (None: none, or static input)."""

    @property
    def empty_turns(self) -> int:
        """Turns the latest streamed session detected but transcribed as empty text."""
        return int(getattr(self.session, "empty_turns", 0))

    @property
    def model_name(self) -> str:
        return self.inner.model_name

    async def transcribe(
        self,
        input: AudioInput,
        settings: STTModelSettings,
        trace_include_sensitive_data: bool,
        trace_include_sensitive_audio_data: bool,
    ) -> str:
        with listening_for_processing_time(self.probe.server_time_listener("stt")):
            text = await self.inner.transcribe(
                input, settings, trace_include_sensitive_data, trace_include_sensitive_audio_data
            )
        self.probe.recorder.first(Event.TRANSCRIPT_FINAL)
        self.last_transcript = text
        return text

    async def create_session(
        self,
        input: StreamedAudioInput,
        settings: STTModelSettings,
        trace_include_sensitive_data: bool,
        trace_include_sensitive_audio_data: bool,
    ) -> StreamedTranscriptionSession:
        self.session = await self.inner.create_session(
            input, settings, trace_include_sensitive_data, trace_include_sensitive_audio_data
        )
        return TimedTranscriptionSession(self.session, self)


class TimedTranscriptionSession(StreamedTranscriptionSession):
    """Stamps each streamed turn: when its end was detected (if the session says) and when its
    transcript arrived."""

    def __init__(self, inner: StreamedTranscriptionSession, stt: TimedSTTModel) -> None:
        self.inner = inner
        self.stt = stt

    async def transcribe_turns(self) -> AsyncIterator[str]:
        async for text in self.inner.transcribe_turns():
            recorder = self.stt.probe.recorder
            now = recorder.now_ns()
            detected = getattr(self.inner, "last_turn_detected_ns", None)
            recorder.first(Event.TURN_DETECTED, detected if detected is not None else now)
            recorder.first(Event.TRANSCRIPT_FINAL, now)
            self.stt.last_transcript = text
            yield text

    async def close(self) -> None:
        await self.inner.close()


class TimedTTSModel(TTSModel):
    """Stamps the first text request and the first audio bytes of the wrapped TTS model, and
    keeps the server's reported processing time of that first request as the ``tts`` figure."""

    def __init__(self, inner: TTSModel, probe: TurnProbe) -> None:
        self.inner = inner
        self.probe = probe

    @property
    def model_name(self) -> str:
        return self.inner.model_name

    async def run(self, text: str, settings: TTSModelSettings) -> AsyncIterator[bytes]:
        opens_turn = not self.probe.recorder.has(Event.TTS_REQUEST)
        listener = self.probe.server_time_listener("tts") if opens_turn else None
        self.probe.recorder.first(Event.TTS_REQUEST)
        chunks = self.inner.run(text, settings)
        while True:
            with listening_for_processing_time(listener):  # set and reset between our yields
                chunk = await anext(chunks, None)
            if chunk is None:
                return
            if chunk:
                self.probe.recorder.first(Event.TTS_FIRST_BYTE)
            yield chunk


class TimedAgentModel(Model):
    """Stamps the first model request and the first output event of the wrapped agent model."""

    def __init__(self, inner: Model, probe: TurnProbe) -> None:
        self.inner = inner
        self.probe = probe

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        **kwargs: Any,
    ) -> ModelResponse:
        self.probe.recorder.first(Event.LLM_REQUEST)
        response = await self.inner.get_response(
            system_instructions,
            input,
            model_settings,
            tools,
            output_schema,
            handoffs,
            tracing,
            **kwargs,
        )
        self.probe.recorder.first(Event.LLM_FIRST_TOKEN)
        return response

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        **kwargs: Any,
    ) -> AsyncIterator[TResponseStreamEvent]:
        self.probe.recorder.first(Event.LLM_REQUEST)
        async for event in self.inner.stream_response(
            system_instructions,
            input,
            model_settings,
            tools,
            output_schema,
            handoffs,
            tracing,
            **kwargs,
        ):
            if event.type in _OUTPUT_EVENTS:
                self.probe.recorder.first(Event.LLM_FIRST_TOKEN)
            yield event

    async def close(self) -> None:
        await self.inner.close()
