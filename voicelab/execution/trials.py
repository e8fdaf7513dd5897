"""Repeated trials: every (conversation, trial) of a run as a conversation of its own.

Executors run conversations, each keyed by its ``conversation_id``. Trial ``t > 0`` of a
conversation runs under the key ``trial_conversation_id(conversation_id, t)`` (its turns' ids
follow), so the trials of one conversation run concurrently like any other conversations, and
each starts from fresh conversation state (``Pipeline.start_conversation``: a new agent
history, a new realtime session). Trial 0 keeps the dataset's ids, so a run of one trial is what
it always was. The runner maps each outcome back to the dataset's turn and its trial: rows carry
the dataset's ids and a ``trial`` column; agent audio is saved under the run's own turn id.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace

from voicelab.datasets.types import Conversation, Dataset, Turn
from voicelab.errors import ConfigError

TrialKey = tuple[str, int]
"""(conversation_id, trial): what a run folder holds rows of, and resumes by."""


def trial_conversation_id(conversation_id: str, trial: int) -> str:
    """The id trial ``trial`` of a conversation runs under (the dataset's own id for trial 0)."""
    return conversation_id if trial == 0 else f"{conversation_id}~trial{trial}"


def run_turn_id(conversation_id: str, turn_index: int, trial: int) -> str:
    """The id a turn of a trial ran under, which names its audio file (``audio/<id>.wav``)."""
    return f"{trial_conversation_id(conversation_id, trial)}#{turn_index}"


def check_repeat(repeat: object, where: str) -> int:
    """``repeat`` (trials per conversation) checked: an integer >= 1."""
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ConfigError(
            f"{where}: run.repeat must be an integer >= 1 (--repeat K), not {repeat!r}"
        )
    return repeat


@dataclass(frozen=True)
class TrialTurn:
    """A turn as the executor ran it, and what it is in the dataset."""

    turn: Turn
    """The dataset's turn."""
    trial: int
    run_turn_id: str
    """The id it ran under (names its audio file)."""


@dataclass(frozen=True)
class TrialPlan:
    """The conversations to hand to the executor, and the way back to the dataset's turns."""

    conversations: tuple[Conversation, ...]
    turns: Mapping[str, TrialTurn]
    """Run turn id -> the dataset's turn and its trial."""
    origins: Mapping[str, TrialKey]
    """Run conversation id -> (the dataset's conversation id, trial)."""

    def turn(self, run_turn: Turn) -> TrialTurn:
        """The dataset's turn and trial of a turn the executor ran."""
        return self.turns[run_turn.turn_id]


def _as_trial(conversation: Conversation, trial: int) -> Conversation:
    if trial == 0:
        return conversation
    key = trial_conversation_id(conversation.conversation_id, trial)
    turns = tuple(replace(t, conversation_id=key) for t in conversation.turns)
    return Conversation(conversation_id=key, turns=turns)


def plan_trials(dataset: Dataset, repeat: int, done: Collection[TrialKey] = ()) -> TrialPlan:
    """Each (conversation, trial) of ``repeat`` trials not in ``done``, trial by trial."""
    ids = {c.conversation_id for c in dataset}
    clash = next(
        ((c.conversation_id, t) for t in range(1, repeat) for c in dataset
         if trial_conversation_id(c.conversation_id, t) in ids),
        None,
    )  # fmt: skip
    if clash is not None:
        key = trial_conversation_id(*clash)
        raise ConfigError(
            f"dataset {dataset.name!r}: conversation {key!r} has the id trial {clash[1]} of "
            f"{clash[0]!r} runs under; rename it to run {repeat} trials"
        )
    conversations: list[Conversation] = []
    turns: dict[str, TrialTurn] = {}
    origins: dict[str, TrialKey] = {}
    for trial in range(repeat):
        for conversation in dataset:
            if (conversation.conversation_id, trial) in done:
                continue
            unit = _as_trial(conversation, trial)
            conversations.append(unit)
            origins[unit.conversation_id] = (conversation.conversation_id, trial)
            for turn, run_turn in zip(conversation.turns, unit.turns, strict=True):
                turns[run_turn.turn_id] = TrialTurn(turn, trial, run_turn.turn_id)
    return TrialPlan(tuple(conversations), turns, origins)
