"""ChainedPipeline: STT -> agent with tools -> TTS on the Agents SDK's ``VoicePipeline``."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from agents import Agent, ModelSettings, RunConfig
from agents.models.interface import Model
from agents.voice import (
    AudioInput,
    StreamedAudioInput,
    StreamedAudioResult,
    STTModel,
    TTSModel,
    TTSModelSettings,
    VoicePipeline,
    VoicePipelineConfig,
)

from voicelab.agent.description import describe_agent, resolve_tool_choice
from voicelab.audio import AudioClip, resample, to_pcm16
from voicelab.audio_formats import PCM_RATE_HZ
from voicelab.clock import Clock, PerfCounterClock
from voicelab.config_io import config_to_dict
from voicelab.datasets.types import Turn
from voicelab.errors import PipelineError
from voicelab.pipelines.chained.config import ChainedConfig
from voicelab.pipelines.chained.instrumented import TimedAgentModel, TimedSTTModel, TimedTTSModel
from voicelab.pipelines.chained.workflow import RecordingAgentWorkflow
from voicelab.pipelines.feeding import feed_pcm16
from voicelab.pipelines.playback import PlaybackRecorder
from voicelab.pipelines.probe import TurnProbe
from voicelab.pipelines.turn_errors import error_result
from voicelab.speech_check import require_speech
from voicelab.speech_split import SpeechSplitter
from voicelab.timeline import Event, TimelineRecorder
from voicelab.turn_result import TurnResult, Usage


@dataclass
class ChainedConversation:
    """Per-conversation state: the agent's history lives in the workflow."""

    conversation_id: str
    probe: TurnProbe
    stt: TimedSTTModel
    tts: TimedTTSModel
    workflow: RecordingAgentWorkflow


class ChainedPipeline:
    """Runs each turn through ``VoicePipeline`` with instrumented STT, agent model and TTS.

    The agent runs as given, except that its model is the pipeline's (so architectures compare
    like with like), its tool_choice is resolved (config, else the agent's, else the config's
    default), and usage is always requested (cost needs it).
    """

    def __init__(
        self,
        *,
        name: str,
        stt_model: STTModel,
        agent: Agent[Any],
        agent_model: Model,
        agent_model_name: str,
        tts_model: TTSModel,
        config: ChainedConfig | None = None,
        backend: str = "local",
        clock: Clock | None = None,
    ) -> None:
        self._name = name
        self.config = config or ChainedConfig()
        self.stt_model = stt_model
        self.tool_choice = resolve_tool_choice(
            self.config.tool_choice, agent, self.config.default_tool_choice
        )
        """The tool_choice actually used (recorded in every row)."""
        self._agent_description = describe_agent(agent)
        self.agent = agent.clone(
            model_settings=agent.model_settings.resolve(
                ModelSettings(tool_choice=self.tool_choice, include_usage=True)
            )
        )
        self.agent_model = agent_model
        self.agent_model_name = agent_model_name
        self.tts_model = tts_model
        self._backend = backend
        self.clock: Clock = clock or PerfCounterClock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def architecture(self) -> str:
        return "chained"

    @property
    def backend(self) -> str:
        return self._backend

    def models(self) -> dict[str, str]:
        """Component -> model name, for cost and the result rows."""
        return {
            "stt": self.stt_model.model_name,
            "llm": self.agent_model_name,
            "tts": self.tts_model.model_name,
        }

    def describe(self) -> Mapping[str, Any]:
        return {
            "architecture": self.architecture,
            "backend": self.backend,
            "models": self.models(),
            "agent": self._agent_description,
            "tool_choice": self.tool_choice,
            "config": config_to_dict(self.config),
        }

    async def start_conversation(self, conversation_id: str) -> ChainedConversation:
        probe = TurnProbe()
        agent = self.agent.clone(model=TimedAgentModel(self.agent_model, probe))
        workflow = RecordingAgentWorkflow(
            agent, probe, RunConfig(tracing_disabled=True), self.config.max_agent_turns
        )
        return ChainedConversation(
            conversation_id=conversation_id,
            probe=probe,
            stt=TimedSTTModel(self.stt_model, probe),
            tts=TimedTTSModel(self.tts_model, probe),
            workflow=workflow,
        )

    async def end_conversation(self, state: Any) -> None:
        return None

    def _voice_pipeline(self, state: ChainedConversation) -> VoicePipeline:
        settings = TTSModelSettings(buffer_size=self.config.tts_buffer_size)
        config = self.config
        if config.first_clause_min_chars or config.first_words_min_chars:
            # a new splitter per turn: it knows what it cut
            settings.text_splitter = SpeechSplitter(
                config.first_clause_min_chars, config.first_words_min_chars
            )
        return VoicePipeline(
            workflow=state.workflow,
            stt_model=state.stt,
            tts_model=state.tts,
            config=VoicePipelineConfig(tracing_disabled=True, tts_settings=settings),
        )

    async def run_turn(self, turn: Turn, state: Any) -> TurnResult:
        assert isinstance(state, ChainedConversation)
        recorder = TimelineRecorder(self.clock)
        state.probe.begin_turn(recorder)
        state.stt.last_transcript = None
        state.stt.session = None
        state.workflow.discard()
        playback = PlaybackRecorder(recorder, PCM_RATE_HZ, self.config.audible_threshold_dbfs)
        clip: AudioClip | None = None
        try:
            with state.probe.harness():
                clip = turn.load_clip()
                await require_speech(clip)
                pcm = to_pcm16(resample(clip, PCM_RATE_HZ).samples)
                voice_pipeline = self._voice_pipeline(state)
            async with asyncio.timeout(self.config.turn_timeout_s):
                result, feeding = await self._start(voice_pipeline, pcm, recorder)
                try:
                    async for event in result.stream():
                        with state.probe.harness():
                            if event.type == "voice_stream_event_audio" and event.data is not None:
                                playback.add(np.asarray(event.data, dtype=np.int16).reshape(-1))
                            elif event.type == "voice_stream_event_error":
                                raise PipelineError(f"voice pipeline error: {event.error}")
                finally:
                    if feeding is not None and not feeding.done():
                        feeding.cancel()
                if feeding is not None:
                    await feeding
            if state.stt.last_transcript is None:
                raise PipelineError(_no_transcript_reason(state.stt.empty_turns))
            with state.probe.harness():
                agent_audio = playback.finish()
                done = self._result(
                    turn, state, recorder, clip, result.total_output_text, agent_audio
                )
            state.workflow.commit()
            return done
        except Exception as e:
            return error_result(
                turn,
                e,
                recorder=recorder,
                user_transcript=state.stt.last_transcript,
                tool_calls=tuple(state.probe.tool_calls),
                input_audio_s=clip.duration_s if clip else None,
                timeout_s=self.config.turn_timeout_s,
            )

    async def _start(
        self, voice_pipeline: VoicePipeline, pcm: npt.NDArray[np.int16], recorder: TimelineRecorder
    ) -> tuple[StreamedAudioResult, asyncio.Task[None] | None]:
        """Start the SDK pipeline on static or streamed input; the task feeding a stream."""
        if self.config.input_mode == "static":
            recorder.first(Event.AUDIO_INPUT_START)
            recorder.first(Event.END_OF_SPEECH)  # the whole utterance is handed over at once
            audio_input = AudioInput(buffer=pcm, frame_rate=PCM_RATE_HZ)
            return await voice_pipeline.run(audio_input), None
        streamed = StreamedAudioInput()  # type: ignore[no-untyped-call]
        result = await voice_pipeline.run(streamed)

        async def feed() -> None:
            await feed_pcm16(pcm, PCM_RATE_HZ, self.config.feed, streamed.add_audio, recorder)
            await streamed.add_audio(None)  # the conversation's audio for this turn is over

        return result, asyncio.create_task(feed())

    def _result(
        self,
        turn: Turn,
        state: ChainedConversation,
        recorder: TimelineRecorder,
        clip: AudioClip,
        agent_text: str,
        agent_audio: AudioClip | None,
    ) -> TurnResult:
        sdk_usage = state.workflow.last_usage
        usage = Usage(
            stt_audio_s=clip.duration_s,
            llm_requests=sdk_usage.requests if sdk_usage else 0,
            llm_input_tokens=sdk_usage.input_tokens if sdk_usage else 0,
            llm_cached_input_tokens=(
                sdk_usage.input_tokens_details.cached_tokens if sdk_usage else 0
            )
            or 0,
            llm_output_tokens=sdk_usage.output_tokens if sdk_usage else 0,
            tts_characters=len(agent_text),
            tts_audio_s=agent_audio.duration_s if agent_audio else 0.0,
        )
        return TurnResult(
            conversation_id=turn.conversation_id,
            turn_index=turn.turn_index,
            user_transcript=state.stt.last_transcript,
            agent_text=agent_text,
            agent_audio=agent_audio,
            tool_calls=tuple(state.probe.tool_calls),
            usage=usage,
            timeline=recorder.freeze(),
            input_audio_s=clip.duration_s,
            feed_mode=self.config.feed.mode if self.config.input_mode == "streamed" else "fast",
            harness_overhead_s=state.probe.overhead_ns / 1e9,
            server_processing_s=dict(state.probe.server_processing_s),
        )


def _no_transcript_reason(empty_turns: int) -> str:
    """Why a turn ended without a transcript for the agent."""
    if empty_turns:
        return (
            "the user's turn was detected but transcribed as empty text: nothing for the agent "
            "to answer (the speech-to-text model heard no words)"
        )
    return "no user turn was detected in the audio (no transcript)"
