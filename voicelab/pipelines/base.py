"""The Pipeline protocol: a turn plus conversation state in, a TurnResult out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from voicelab.datasets.types import Turn
from voicelab.turn_result import TurnResult


class ConversationState(Protocol):
    """Whatever a pipeline keeps between the turns of one conversation."""

    conversation_id: str


@runtime_checkable
class Pipeline(Protocol):
    """A voice agent architecture that can be run turn by turn over a dataset.

    The runner relies on exactly these members: the labels of the row's id columns, the models
    (priced for ``cost_usd``), the description (hashed into ``config_hash``) and the three
    conversation steps.
    """

    @property
    def name(self) -> str:
        """Short label of the architecture and models, used as the ``pipeline`` column."""
        ...

    @property
    def architecture(self) -> str:
        """ "chained" or "realtime": the ``architecture`` column."""
        ...

    @property
    def backend(self) -> str:
        """Who serves the models: "local", "openai", "local-server", "synthetic"..."""
        ...

    def models(self) -> Mapping[str, str]:
        """Component ("stt", "llm", "tts", "realtime") -> the model actually used."""
        ...

    def describe(self) -> Mapping[str, Any]:
        """The resolved configuration, agent and models, secrets removed; hashed into
        ``config_hash``. Its "tool_choice" is recorded in every row."""
        ...

    async def start_conversation(self, conversation_id: str) -> ConversationState:
        """Open a conversation (fresh history, a new session)."""
        ...

    async def run_turn(self, turn: Turn, state: ConversationState) -> TurnResult:
        """Run one user turn; failures are returned as a TurnResult with ``error`` set."""
        ...

    async def end_conversation(self, state: ConversationState) -> None:
        """Release what the conversation held."""
        ...
