"""What the server events of one user turn add up to: stamps, agent audio and text, the user's
transcript, tool calls to run, and usage summed over every response of the turn."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from voicelab.errors import PipelineError
from voicelab.pipelines.playback import PlaybackRecorder
from voicelab.pipelines.realtime.connection import ServerEvent, server_error
from voicelab.timeline import Event, TimelineRecorder
from voicelab.turn_result import Usage

# GA event names first; the beta protocol's names are still sent by some servers
AUDIO_DELTAS = frozenset({"response.output_audio.delta", "response.audio.delta"})
TEXT_DELTAS = frozenset(
    {
        "response.output_audio_transcript.delta",
        "response.audio_transcript.delta",
        "response.output_text.delta",
        "response.text.delta",
    }
)
TRANSCRIPTION_DONE = "conversation.item.input_audio_transcription.completed"
TRANSCRIPTION_FAILED = "conversation.item.input_audio_transcription.failed"
# A response the server VAD cancelled because the user went on speaking: another one follows.
_SUPERSEDED = "turn_detected"


@dataclass(frozen=True)
class FunctionCall:
    """A function call item of a response."""

    name: str
    call_id: str
    arguments: str


@dataclass
class _Tokens:
    """Token counts summed over the turn's responses."""

    responses: int = 0
    text_in: int = 0
    cached_text_in: int = 0
    audio_in: int = 0
    text_out: int = 0
    audio_out: int = 0

    def add(self, usage: Mapping[str, Any] | None) -> None:
        self.responses += 1
        if not usage:
            return
        details_in = usage.get("input_token_details") or {}
        details_out = usage.get("output_token_details") or {}
        text_in = details_in.get("text_tokens", usage.get("input_tokens")) or 0
        cached = details_in.get("cached_tokens") or 0
        cached_text = (details_in.get("cached_tokens_details") or {}).get("text_tokens")
        self.text_in += text_in
        # only text has a cached price in the table; cached audio stays at the audio rate
        self.cached_text_in += min(text_in, cached if cached_text is None else cached_text)
        self.audio_in += details_in.get("audio_tokens") or 0
        self.text_out += details_out.get("text_tokens", usage.get("output_tokens")) or 0
        self.audio_out += details_out.get("audio_tokens") or 0


class RealtimeTurn:
    """Folds one turn's server events into its facts; ``handle`` is called for each in order."""

    def __init__(
        self,
        recorder: TimelineRecorder,
        playback: PlaybackRecorder,
        *,
        transcription: bool,
        manual_commit: bool,
    ) -> None:
        self.recorder = recorder
        self.playback = playback
        self.transcription = transcription
        self._turn_event = (
            "input_audio_buffer.committed" if manual_commit else "input_audio_buffer.speech_stopped"
        )
        self.speech_started = False
        self.answered = False
        """A response finished without asking for a tool: the agent's answer is complete."""
        self.follow_up_due = False
        """A response finished with tool calls: their outputs are sent, a new response is due."""
        self._committed: list[str] = []
        self._transcripts: dict[str, str | None] = {}
        self._transcribed_s = 0.0
        self._texts: list[list[str]] = []
        self._calls_seen: set[str] = set()
        self._calls_in_response = 0
        self._tokens = _Tokens()

    def handle(self, event: ServerEvent) -> list[FunctionCall]:
        """Take in one event; the function calls it completes (to be run now)."""
        kind, data, at_ns = event.type, event.data, event.received_ns
        if kind in AUDIO_DELTAS:
            pcm = np.frombuffer(base64.b64decode(data.get("delta") or ""), dtype="<i2")
            self.playback.add(pcm.astype(np.int16), at_ns)
        elif kind in TEXT_DELTAS:
            if not self._texts:
                self._texts.append([])
            self._texts[-1].append(str(data.get("delta") or ""))
        elif kind == "input_audio_buffer.speech_started":
            self.speech_started = True
        elif kind == "input_audio_buffer.committed":
            self._committed.append(str(data.get("item_id")))
        elif kind in (TRANSCRIPTION_DONE, TRANSCRIPTION_FAILED):
            self._transcribed(data, at_ns, kind == TRANSCRIPTION_DONE)
        elif kind == "response.created":
            self.recorder.first(Event.RESPONSE_CREATED, at_ns)
            self._texts.append([])
            self._calls_in_response = 0
        elif kind == "response.output_item.done":
            return self._calls([data.get("item") or {}])
        elif kind == "response.done":
            return self._response_done(data.get("response") or {}, at_ns)
        elif kind == "error":
            raise server_error(data)
        if kind == self._turn_event:
            self.recorder.last(Event.TURN_DETECTED, at_ns)
        return []

    def _transcribed(self, data: Mapping[str, Any], at_ns: int, ok: bool) -> None:
        item_id = str(data.get("item_id"))
        if item_id not in self._committed:
            return  # a late transcript of an earlier turn
        if not ok:
            self._transcripts[item_id] = None
            return
        self._transcripts[item_id] = str(data.get("transcript") or "")
        self.recorder.last(Event.TRANSCRIPT_FINAL, at_ns)
        usage = data.get("usage") or {}
        if usage.get("type") == "duration":
            self._transcribed_s += float(usage.get("seconds") or 0.0)

    def _calls(self, items: list[Mapping[str, Any]]) -> list[FunctionCall]:
        calls = []
        for item in items:
            call_id = str(item.get("call_id") or "")
            if item.get("type") != "function_call" or call_id in self._calls_seen:
                continue
            self._calls_seen.add(call_id)
            self._calls_in_response += 1
            name, arguments = str(item.get("name") or ""), str(item.get("arguments") or "")
            calls.append(FunctionCall(name, call_id, arguments))
        return calls

    def _response_done(self, response: Mapping[str, Any], at_ns: int) -> list[FunctionCall]:
        self._tokens.add(response.get("usage"))
        status = response.get("status")
        details = response.get("status_details") or {}
        if status == "failed":
            raise server_error(details, "realtime response failed:")
        if status == "cancelled":
            if details.get("reason") == _SUPERSEDED:
                return []
            raise PipelineError(f"realtime response cancelled ({details.get('reason')})")
        late_calls = self._calls(list(response.get("output") or []))  # no output_item.done seen
        if self._calls_in_response:
            self.follow_up_due = True
        else:
            self.answered = True
            self.recorder.last(Event.RESPONSE_DONE, at_ns)
        return late_calls

    @property
    def transcript_pending(self) -> bool:
        """Whether a transcript of this turn's audio is still to come."""
        if not self.transcription:
            return False
        return not self._committed or any(i not in self._transcripts for i in self._committed)

    @property
    def user_transcript(self) -> str | None:
        """The transcripts of the turn's committed audio, joined; None if none arrived."""
        texts = [self._transcripts.get(i) for i in self._committed]
        found = [t for t in texts if t is not None]
        return " ".join(t.strip() for t in found).strip() if found else None

    @property
    def agent_text(self) -> str:
        """What the agent said (audio transcript or text) over all responses of the turn."""
        return " ".join(t for t in ("".join(p).strip() for p in self._texts) if t)

    def waiting_for(self) -> str:
        """What the turn was waiting for, for a timeout's message."""
        if not self.speech_started and not self._committed:
            return "the server to hear speech in the audio"
        if not self._committed:
            return "the server to detect the end of speech"
        if not self.answered:
            return "response.done"
        return "the user transcript"

    def usage(self, input_audio_s: float) -> Usage:
        """Usage of the turn; ``stt_audio_s`` is the transcribed audio (for the STT price)."""
        tokens = self._tokens
        transcribed_s = self._transcribed_s or (input_audio_s if self.user_transcript else 0.0)
        return Usage(
            stt_audio_s=transcribed_s if self.transcription else 0.0,
            llm_requests=tokens.responses,
            llm_input_tokens=tokens.text_in,
            llm_cached_input_tokens=tokens.cached_text_in,
            llm_output_tokens=tokens.text_out,
            input_audio_tokens=tokens.audio_in,
            output_audio_tokens=tokens.audio_out,
        )
