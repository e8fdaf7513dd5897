"""A voice workflow that runs one agent, keeps history, and records tool calls and usage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from agents import Agent, RunConfig, Runner
from agents.items import TResponseInputItem
from agents.usage import Usage as SDKUsage
from agents.voice import VoiceWorkflowBase

from voicelab.pipelines.probe import TurnProbe
from voicelab.timeline import Event
from voicelab.turn_result import ToolCall, parse_tool_arguments


class RecordingAgentWorkflow(VoiceWorkflowBase):
    """Like the SDK's ``SingleAgentVoiceWorkflow``, but reports what the agent did to a probe.

    A turn's exchange joins the history only when the pipeline ``commit``s it, once the whole
    turn (speech included) has succeeded: a failed attempt, retried, is in the history once.
    """

    def __init__(
        self, agent: Agent[Any], probe: TurnProbe, run_config: RunConfig, max_turns: int
    ) -> None:
        self._agent = agent
        self._probe = probe
        self._run_config = run_config
        self._max_turns = max_turns
        self._history: list[TResponseInputItem] = []
        self._pending: tuple[list[TResponseInputItem], Agent[Any]] | None = None
        self.last_usage: SDKUsage | None = None

    async def run(self, transcription: str) -> AsyncIterator[str]:
        history: list[TResponseInputItem] = [
            *self._history,
            {"role": "user", "content": transcription},
        ]
        result = Runner.run_streamed(
            self._agent, history, run_config=self._run_config, max_turns=self._max_turns
        )
        calls: dict[str, int] = {}
        async for event in result.stream_events():
            if (
                event.type == "raw_response_event"
                and event.data.type == "response.output_text.delta"
            ):
                self._probe.recorder.first(Event.FIRST_TEXT_CHUNK)
                yield event.data.delta
            elif event.type == "run_item_stream_event":
                self._record_item(event.name, event.item, calls)
        self._pending = (result.to_input_list(), result.last_agent)
        self.last_usage = result.context_wrapper.usage

    @property
    def history(self) -> list[TResponseInputItem]:
        """The committed conversation so far, as the agent's input items."""
        return list(self._history)

    def commit(self) -> None:
        """Keep the last run's exchange: its turn succeeded."""
        if self._pending is not None:
            self._history, self._agent = self._pending
        self._pending = None

    def discard(self) -> None:
        """Forget an uncommitted exchange (its turn failed; a retry runs it again)."""
        self._pending = None

    def _record_item(self, name: str, item: Any, calls: dict[str, int]) -> None:
        with self._probe.harness():
            raw = item.raw_item
            if name == "tool_called":
                call_id = getattr(raw, "call_id", None) or str(len(calls))
                calls[call_id] = len(self._probe.tool_calls)
                self._probe.tool_calls.append(
                    ToolCall(
                        name=getattr(raw, "name", "?"),
                        arguments=parse_tool_arguments(getattr(raw, "arguments", None)),
                    )
                )
            elif name == "tool_output":
                call_id = raw.get("call_id") if isinstance(raw, dict) else None
                if call_id in calls:
                    index = calls[call_id]
                    done = self._probe.tool_calls[index]
                    self._probe.tool_calls[index] = ToolCall(
                        name=done.name, arguments=done.arguments, output=str(item.output)
                    )
