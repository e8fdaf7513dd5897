"""A deterministic scripted pipeline for testing the runner, resume and reports quickly.

It never stands in for the real models where a test is about them.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voicelab.audio import AudioClip
from voicelab.audio_formats import PCM_RATE_HZ
from voicelab.clock import ManualClock
from voicelab.datasets.types import Turn
from voicelab.errors import RateLimitedError
from voicelab.pipelines.turn_errors import error_result
from voicelab.timeline import Event, TimelineRecorder
from voicelab.turn_result import ToolCall, TurnResult, Usage

_MS = 1_000_000  # nanoseconds in a millisecond
_REPLY_TONE_HZ = 440.0  # the scripted agent's "speech": a tone, audible from its first sample
_REPLY_AMPLITUDE = 0.25  # -12 dBFS, well above the audible threshold


class ScriptedCrash(BaseException):
    """Raised to simulate the whole process dying mid-run (not caught at the turn boundary)."""


@dataclass
class ScriptedState:
    """History of the scripted conversation."""

    conversation_id: str
    history: list[str] = field(default_factory=list)


class ScriptedPipeline:
    """Echoes the reference text back, with scripted stage latencies on a manual clock.

    ``jitter_ms`` adds to each stage a whole number of milliseconds in [0, jitter_ms], drawn
    from ``seed`` and the turn id, so a rerun gives the same latencies turn by turn.
    ``fail_turns`` turn ids raise an ordinary error (an error row, permanent); the first
    ``transient_failures[turn_id]`` attempts of a turn fail as a 429 asking for
    ``retry_after_s`` (None: no Retry-After), and ``attempt_started_ns`` records when each
    attempt began on the real clock (retry waits are real). ``crash_after`` turns in
    total, it raises ``ScriptedCrash`` as a killed process would. ``heard`` maps turn ids to
    the transcript to report instead of the reference (a scripted mishearing); ``name`` tells
    two scripted pipelines apart in one table.
    """

    def __init__(
        self,
        *,
        stage_ms: Mapping[str, int] | None = None,
        fail_turns: frozenset[str] = frozenset(),
        transient_failures: Mapping[str, int] | None = None,
        retry_after_s: float | None = None,
        crash_after: int | None = None,
        jitter_ms: int = 0,
        seed: int = 0,
        heard: Mapping[str, str] | None = None,
        name: str = "scripted",
    ) -> None:
        self.stage_ms = dict(stage_ms or {"stt": 300, "llm": 150, "tts": 100})
        self.jitter_ms = jitter_ms
        self.seed = seed
        self.fail_turns = fail_turns
        self.transient_failures = dict(transient_failures or {})
        self.retry_after_s = retry_after_s
        self.attempt_started_ns: dict[str, list[int]] = {}
        self.crash_after = crash_after
        self.heard = dict(heard or {})
        self._name = name
        self.turns_run = 0

    @property
    def name(self) -> str:
        return self._name

    @property
    def architecture(self) -> str:
        return "chained"

    @property
    def backend(self) -> str:
        return "scripted"

    def models(self) -> dict[str, str]:
        return {"stt": "local/scripted", "llm": "local/scripted", "tts": "local/scripted"}

    def describe(self) -> Mapping[str, Any]:
        return {
            "architecture": self.architecture,
            "backend": self.backend,
            "models": self.models(),
            "tool_choice": "none",
            "stage_ms": self.stage_ms,
            "jitter_ms": self.jitter_ms,
            "seed": self.seed,
        }

    def _stage_ms(self, turn_id: str) -> dict[str, int]:
        rng = np.random.default_rng([self.seed, zlib.crc32(turn_id.encode())])
        return {
            stage: ms + int(rng.integers(0, self.jitter_ms + 1))
            for stage, ms in self.stage_ms.items()
        }

    async def start_conversation(self, conversation_id: str) -> ScriptedState:
        return ScriptedState(conversation_id)

    async def end_conversation(self, state: Any) -> None:
        return None

    async def run_turn(self, turn: Turn, state: Any) -> TurnResult:
        if self.crash_after is not None and self.turns_run >= self.crash_after:
            raise ScriptedCrash(f"simulated crash before {turn.turn_id}")
        self.turns_run += 1
        clock = ManualClock(start_ns=1_000 * _MS)
        recorder = TimelineRecorder(clock)
        recorder.first(Event.END_OF_SPEECH)
        attempts = self.attempt_started_ns.setdefault(turn.turn_id, [])
        attempts.append(time.perf_counter_ns())
        if turn.turn_id in self.fail_turns:
            return error_result(turn, RuntimeError("scripted failure"), recorder=recorder)
        if len(attempts) <= self.transient_failures.get(turn.turn_id, 0):
            refusal = RateLimitedError("scripted 429", status=429, retry_after_s=self.retry_after_s)
            return error_result(turn, refusal, recorder=recorder)
        transcript = self.heard.get(turn.turn_id, turn.reference_text or "")
        state.history.append(transcript)
        stage_ms = self._stage_ms(turn.turn_id)
        clock.advance(stage_ms["stt"] * _MS)
        recorder.first(Event.TRANSCRIPT_FINAL)
        clock.advance(stage_ms["llm"] * _MS)
        recorder.first(Event.LLM_FIRST_TOKEN)
        recorder.first(Event.FIRST_TEXT_CHUNK)
        recorder.first(Event.TTS_REQUEST)
        clock.advance(stage_ms["tts"] * _MS)
        recorder.first(Event.TTS_FIRST_BYTE)
        recorder.first(Event.FIRST_AGENT_AUDIO)
        recorder.first(Event.FIRST_AUDIBLE_AUDIO)
        clock.advance(500 * _MS)
        recorder.first(Event.LAST_AGENT_AUDIO)
        calls: tuple[ToolCall, ...] = ()
        if turn.expected_tool_call:
            expected = turn.expected_tool_call
            calls = (ToolCall(name=expected.name, arguments=dict(expected.arguments)),)
        return TurnResult(
            conversation_id=turn.conversation_id,
            turn_index=turn.turn_index,
            user_transcript=transcript,
            agent_text=f"You said: {transcript}",
            agent_audio=_reply_tone(),
            tool_calls=calls,
            usage=Usage(stt_audio_s=1.0, llm_input_tokens=10, llm_output_tokens=5),
            timeline=recorder.freeze(),
            input_audio_s=1.0,
            harness_overhead_s=0.0,
        )


def _reply_tone() -> AudioClip:
    """0.1 s of tone: the scripted agent's reply, audible from its first sample on."""
    t = np.arange(PCM_RATE_HZ // 10) / PCM_RATE_HZ
    samples = _REPLY_AMPLITUDE * np.cos(2 * np.pi * _REPLY_TONE_HZ * t)
    return AudioClip(samples.astype(np.float32), PCM_RATE_HZ, "scripted")
