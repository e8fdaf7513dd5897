"""RealtimePipeline: speech to speech over the Realtime API protocol (GA shape), one session per
conversation, with the chained agent's tools and the same TurnResult as the chained pipeline.

It speaks the protocol through the ``openai`` client's raw connection rather than the Agents
SDK's ``RealtimeSession``: every server event is stamped the moment it comes off the socket,
audio deltas arrive as sent, and usage is read from each ``response.done`` exactly as billed.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt
from agents import Agent

from voicelab.agent.description import describe_agent
from voicelab.audio import AudioClip, resample, to_pcm16
from voicelab.audio_formats import PCM_RATE_HZ, realtime_pcm_format
from voicelab.clock import Clock, PerfCounterClock
from voicelab.config_io import config_to_dict
from voicelab.datasets.types import Turn
from voicelab.errors import PipelineTimeoutError, RemoteTimeoutError
from voicelab.pipelines.feeding import feed_pcm16
from voicelab.pipelines.playback import PlaybackRecorder
from voicelab.pipelines.probe import TurnProbe
from voicelab.pipelines.realtime.agent import SessionAgent, session_agent
from voicelab.pipelines.realtime.backend import detect_backend, realtime_url, url_backend
from voicelab.pipelines.realtime.config import RealtimeConfig
from voicelab.pipelines.realtime.connection import RealtimeSocket
from voicelab.pipelines.realtime.replay import Item, exchange_items, replay
from voicelab.pipelines.realtime.turn import RealtimeTurn
from voicelab.pipelines.turn_errors import error_result
from voicelab.providers.openai_endpoint import OpenAIEndpoint
from voicelab.rate_limits import limit_realtime
from voicelab.redact import redact_text
from voicelab.speech_check import require_speech
from voicelab.timeline import TimelineRecorder
from voicelab.turn_result import TurnResult


@dataclass
class RealtimeConversation:
    """Per-conversation state: the session's socket (reopened after a failure) and what it said."""

    conversation_id: str
    probe: TurnProbe
    socket: RealtimeSocket | None = None
    broken: str | None = None
    """Why the socket was given up; the next turn (or its retry) opens a new session."""
    sessions: int = 0
    """Sessions opened so far; a reopened one is told the finished exchanges first."""
    exchanges: list[Item] = field(default_factory=list)
    """The finished turns as message items, replayed into a reopened session."""
    finished_turns: int = 0
    """Turns of this conversation that succeeded (the index of the next exchange)."""
    session_backend: str | None = None
    """The backend the latest ``session.created`` named."""
    rate_limits: list[Mapping[str, Any]] | None = None
    """The latest ``rate_limits.updated`` payload."""


class RealtimePipeline:
    """Runs each user turn through one Realtime session per conversation."""

    def __init__(
        self,
        *,
        endpoint: OpenAIEndpoint,
        agent: Agent[Any],
        config: RealtimeConfig | None = None,
        backend: str | None = None,
        clock: Clock | None = None,
        name: str = "realtime",
    ) -> None:
        self.endpoint = endpoint
        self.config = config or RealtimeConfig()
        self.agent = agent
        self.session_agent: SessionAgent = session_agent(
            agent, self.config.tool_choice, self.config.default_tool_choice
        )
        self.tools = self.session_agent.tools
        self.url = self.config.url
        self.backend = backend or url_backend(endpoint, self.url)
        """The label in ``describe()``; ``build_realtime`` asks the server for it."""
        self.clock: Clock = clock or PerfCounterClock()
        self._name = name
        self._secrets = [endpoint.api_key] if endpoint.api_key else []
        self._host = urlsplit(realtime_url(endpoint, self.url)).netloc
        """Where sessions go, the key of the realtime rate limit."""

    @property
    def name(self) -> str:
        return self._name

    @property
    def architecture(self) -> str:
        return "realtime"

    def models(self) -> dict[str, str]:
        """Component -> model name, for cost: input transcription is billed on its own."""
        models = {"realtime": self.config.model}
        if self.config.input_transcription_model:
            models["stt"] = self.config.input_transcription_model
        return models

    def describe(self) -> Mapping[str, Any]:
        return {
            "architecture": self.architecture,
            "backend": self.backend,
            "models": self.models(),
            "agent": describe_agent(self.agent),
            "tool_choice": self.session_agent.tool_choice,
            "config": config_to_dict(self.config),
            "url": redact_text(realtime_url(self.endpoint, self.url), self._secrets),
        }

    def session_config(self) -> dict[str, Any]:
        """The ``session`` of the ``session.update`` sent when a conversation opens."""
        config = self.config
        transcription = (
            {"model": config.input_transcription_model}
            if config.input_transcription_model
            else None
        )
        detection = (
            {"type": "server_vad", "silence_duration_ms": config.vad_silence_duration_ms,
             "create_response": True, "interrupt_response": True}
            if config.turn_detection == "server_vad"
            else None
        )  # fmt: skip
        return {
            "type": "realtime",
            "output_modalities": ["audio"],
            "instructions": self.session_agent.instructions,
            "tools": self.tools.definitions(),
            "tool_choice": self.session_agent.session_tool_choice(),
            "max_output_tokens": (
                config.max_output_tokens or self.session_agent.max_output_tokens or "inf"
            ),
            "audio": {
                "input": {"format": realtime_pcm_format(), "transcription": transcription,
                          "turn_detection": detection},
                "output": {"format": realtime_pcm_format(), "voice": config.voice},
            },
        }  # fmt: skip

    async def start_conversation(self, conversation_id: str) -> RealtimeConversation:
        state = RealtimeConversation(conversation_id=conversation_id, probe=TurnProbe())
        await self._open(state)
        return state

    async def _open(self, state: RealtimeConversation) -> RealtimeSocket:
        if state.socket is not None:
            await state.socket.close()
        state.socket = None
        await limit_realtime(self._host)
        socket = await RealtimeSocket.open(
            self.endpoint, self.url, self.config.model, self.session_config(),
            clock=self.clock, timeout_s=self.config.connect_timeout_s, meter=state.probe.harness,
        )  # fmt: skip
        if state.exchanges:
            try:
                async with asyncio.timeout(self.config.connect_timeout_s):
                    await replay(socket, state.exchanges)
            except BaseException as e:
                await socket.close()
                if isinstance(e, TimeoutError):
                    raise RemoteTimeoutError(
                        f"the reopened realtime session did not take the conversation so far "
                        f"within {self.config.connect_timeout_s:g} s"
                    ) from e
                raise
        state.socket, state.broken = socket, None
        state.sessions += 1
        state.session_backend = socket.backend
        return socket

    async def end_conversation(self, state: Any) -> None:
        assert isinstance(state, RealtimeConversation)
        if state.socket is not None:
            await state.socket.close()
            state.socket = None

    async def run_turn(self, turn: Turn, state: Any) -> TurnResult:
        assert isinstance(state, RealtimeConversation)
        recorder = TimelineRecorder(self.clock)
        state.probe.begin_turn(recorder)
        playback = PlaybackRecorder(recorder, PCM_RATE_HZ, self.config.audible_threshold_dbfs)
        collected = RealtimeTurn(
            recorder, playback,
            transcription=self.config.input_transcription_model is not None,
            manual_commit=self.config.turn_detection == "manual",
        )  # fmt: skip
        clip: AudioClip | None = None
        try:
            with state.probe.harness():
                clip = turn.load_clip()
                await require_speech(clip)
                pcm = to_pcm16(resample(clip, PCM_RATE_HZ).samples)
        except Exception as e:  # unusable audio: nothing was sent, the session stays as it is
            return self._failed(turn, e, state, collected, clip)
        try:
            try:
                async with asyncio.timeout(self.config.turn_timeout_s):
                    await self._converse(state, pcm, recorder, collected)
            except TimeoutError as e:
                raise PipelineTimeoutError(
                    f"timed out after {self.config.turn_timeout_s:g} s waiting for "
                    f"{collected.waiting_for()}"
                ) from e
            finally:
                if state.socket is not None:
                    state.rate_limits = state.socket.rate_limits or state.rate_limits
            with state.probe.harness():
                done = self._result(turn, state, recorder, clip, collected)
                state.exchanges += exchange_items(
                    state.finished_turns, done.user_transcript, pcm, done.agent_text
                )
                state.finished_turns += 1
                return done
        except Exception as e:
            state.broken = f"{type(e).__name__}: {e}"
            if state.socket is not None:  # stop the server working on a turn given up
                await state.socket.close()
            return self._failed(turn, e, state, collected, clip)

    def _failed(
        self,
        turn: Turn,
        error: Exception,
        state: RealtimeConversation,
        collected: RealtimeTurn,
        clip: AudioClip | None,
    ) -> TurnResult:
        """The error row: what was observed before the failure, with no key in the message."""
        failed = error_result(
            turn, error, recorder=collected.recorder, user_transcript=collected.user_transcript,
            tool_calls=tuple(state.probe.tool_calls),
            input_audio_s=clip.duration_s if clip else None,
        )  # fmt: skip
        return replace(failed, error=redact_text(failed.error or "", self._secrets))

    async def _converse(
        self,
        state: RealtimeConversation,
        pcm: npt.NDArray[np.int16],
        recorder: TimelineRecorder,
        collected: RealtimeTurn,
    ) -> None:
        """Stream the user's audio and play the session's side of the turn until it is over."""
        socket = state.socket
        if socket is None or socket.closed or state.broken is not None:
            socket = await self._open(state)
        socket.discard_pending()
        await limit_realtime(self._host)  # the turn's first response
        feeding = asyncio.create_task(self._feed(socket, pcm, recorder))
        answering = asyncio.create_task(self._answer(socket, state, collected))
        try:
            # both run to the end (the trailing silence may still be going out after the answer);
            # whichever fails first ends the turn
            await asyncio.wait({feeding, answering}, return_when=asyncio.FIRST_EXCEPTION)
            for task in (answering, feeding):
                error = task.exception() if task.done() else None
                if error is not None:
                    raise error
            if collected.transcript_pending:
                try:
                    async with asyncio.timeout(self.config.transcript_wait_s):
                        while collected.transcript_pending:
                            await self._handle(socket, state, collected)
                except TimeoutError:
                    pass  # the turn is complete without it: user_transcript stays None
        finally:
            for task in (feeding, answering):
                task.cancel()
            await asyncio.gather(feeding, answering, return_exceptions=True)

    async def _feed(
        self, socket: RealtimeSocket, pcm: npt.NDArray[np.int16], recorder: TimelineRecorder
    ) -> None:
        """Append the clip (and, for the VAD, trailing silence); in manual mode, commit."""

        async def append(chunk: npt.NDArray[np.int16]) -> None:
            with socket.meter():  # built by hand: this runs 50 times a second of audio
                audio = base64.b64encode(chunk.astype("<i2", copy=False).tobytes()).decode("ascii")
                payload = f'{{"type": "input_audio_buffer.append", "audio": "{audio}"}}'
            await socket.send_text(payload)

        await feed_pcm16(pcm, PCM_RATE_HZ, self.config.sent_feed, append, recorder)
        if self.config.turn_detection == "manual":
            await socket.send({"type": "input_audio_buffer.commit"})
            await socket.send({"type": "response.create"})

    async def _answer(
        self, socket: RealtimeSocket, state: RealtimeConversation, collected: RealtimeTurn
    ) -> None:
        """Read events until a response ends without a tool call, running the tools it asks."""
        rounds = 0
        while not collected.answered:
            await self._handle(socket, state, collected)
            if collected.follow_up_due:
                collected.follow_up_due = False
                rounds += 1
                await limit_realtime(self._host)
                await socket.send(
                    {
                        "type": "response.create",
                        "response": {"tool_choice": self._next_choice(rounds)},
                    }
                )

    def _next_choice(self, rounds: int) -> Any:
        """tool_choice after ``rounds`` tool calls: like the SDK's reset_tool_choice, since
        "required" would loop on tool calls forever; "none" once the rounds are used up."""
        if rounds >= self.config.max_tool_rounds:
            return "none"
        agent = self.session_agent
        return "auto" if agent.reset_tool_choice else agent.session_tool_choice()

    async def _handle(
        self, socket: RealtimeSocket, state: RealtimeConversation, collected: RealtimeTurn
    ) -> None:
        """Take the next event; run any tool it calls and send the output back."""
        event = await socket.next()
        with state.probe.harness():
            calls = collected.handle(event)
        for call in calls:
            done = await self.tools.invoke(call.name, call.call_id, call.arguments)
            state.probe.tool_calls.append(done)
            await socket.send(
                {"type": "conversation.item.create",
                 "item": {"type": "function_call_output", "call_id": call.call_id,
                          "output": done.output or ""}}
            )  # fmt: skip

    def _result(
        self,
        turn: Turn,
        state: RealtimeConversation,
        recorder: TimelineRecorder,
        clip: AudioClip,
        collected: RealtimeTurn,
    ) -> TurnResult:
        return TurnResult(
            conversation_id=turn.conversation_id,
            turn_index=turn.turn_index,
            user_transcript=collected.user_transcript,
            agent_text=collected.agent_text,
            agent_audio=collected.playback.finish(),
            tool_calls=tuple(state.probe.tool_calls),
            usage=collected.usage(clip.duration_s),
            timeline=recorder.freeze(),
            input_audio_s=clip.duration_s,
            feed_mode=self.config.feed.mode,
            harness_overhead_s=state.probe.overhead_ns / 1e9,
        )


def build_realtime(
    endpoint: OpenAIEndpoint, agent: Agent[Any], config: RealtimeConfig | None = None
) -> RealtimePipeline:
    """The "realtime" pipeline running ``agent``.

    A server other than OpenAI's cloud is asked once (a short session) which backend it is,
    so rows from voicelab's local server say ``local-cascade``.
    """
    pipeline = RealtimePipeline(endpoint=endpoint, agent=agent, config=config)  # refuses first
    pipeline.backend = detect_backend(endpoint, pipeline.config.url, pipeline.config.model)
    return pipeline
