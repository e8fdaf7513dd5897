"""Recording conditions applied to a dataset's clips, deterministically under a seed.

Each conditioned turn keeps its references and carries tags: ``condition`` (the canonical text
of the whole chain, ``;``-separated), ``condition_seed``, and each condition's parameters
(``noise``, ``snr_db``...). Conditions apply in order, each to the clip as the one before left
it; babble noise is always mixed from the dataset's original clips. Each step draws from its own
random generator, seeded by a SHA-256 of (seed, turn id, position in the chain, condition text):
the same seed gives the same samples on any machine, in any order of turns.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from voicelab.audio import AudioClip
from voicelab.datasets.condition_text import (
    CHAIN_SEPARATOR,
    Condition,
    ParamValue,
    parse_conditions,
)
from voicelab.datasets.levels import apply_gain, pad_silence
from voicelab.datasets.noise import (
    Float64Array,
    add_noise,
    babble_noise,
    pink_noise,
    white_noise,
)
from voicelab.datasets.room import reverberate
from voicelab.datasets.telephone import telephone
from voicelab.datasets.types import Conversation, Dataset, Turn


def chain_text(conditions: Sequence[Condition]) -> str:
    """The canonical text of conditions applied in order."""
    return CHAIN_SEPARATOR.join(c.text for c in conditions)


def parse_chain(texts: Sequence[str]) -> tuple[Condition, ...]:
    """Conditions from several texts (each may hold a ``;``-separated chain), in order."""
    return tuple(c for text in texts for c in parse_conditions(text))


def step_seed(seed: int, turn_id: str, position: int, condition: Condition) -> int:
    """The seed of one condition on one turn: stable across processes and machines."""
    blob = json.dumps([seed, turn_id, position, condition.text]).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "big")


Others = Sequence[Path | AudioClip]
_Apply = Callable[[AudioClip, Mapping[str, ParamValue], np.random.Generator, Others], AudioClip]
_NOISES: dict[str, Callable[[AudioClip, int, np.random.Generator, Others], Float64Array]] = {
    "white": lambda clip, _talkers, rng, _others: white_noise(clip.num_samples, rng),
    "pink": lambda clip, _talkers, rng, _others: pink_noise(clip.num_samples, rng),
    "babble": lambda clip, talkers, rng, others: babble_noise(
        clip.num_samples, clip.sample_rate_hz, others, talkers, rng, clip.source
    ),
}


def _noise(
    clip: AudioClip, params: Mapping[str, ParamValue], rng: np.random.Generator, others: Others
) -> AudioClip:
    noise = _NOISES[str(params["noise"])](clip, int(params.get("talkers", 0)), rng, others)
    return add_noise(clip, noise, float(params["snr_db"])).clip


_APPLY: dict[str, _Apply] = {
    "noise": _noise,
    "telephone": lambda clip, _params, _rng, _others: telephone(clip),
    "gain": lambda clip, params, _rng, _others: apply_gain(clip, float(params["gain_db"])),
    "silence": lambda clip, params, _rng, _others: pad_silence(
        clip, int(params["lead_ms"]), int(params["trail_ms"])
    ),
    "room": lambda clip, params, rng, _others: reverberate(clip, float(params["rt60_s"]), rng),
}
"""How each kind of ``voicelab.datasets.condition_text.KINDS`` is applied."""


def apply_condition(
    clip: AudioClip, condition: Condition, seed: int, others: Others = ()
) -> AudioClip:
    """One condition on one clip; ``others`` are the clips babble noise is mixed from."""
    rng = np.random.default_rng(seed)
    return _APPLY[condition.kind](clip, condition.params, rng, others)


def condition_turn(
    turn: Turn,
    conditions: Sequence[Condition],
    seed: int,
    others: Others = (),
) -> Turn:
    """``turn`` with its clip conditioned in memory and the conditions in its tags."""
    clip = turn.load_clip()
    source = clip.source
    for position, condition in enumerate(conditions):
        step = step_seed(seed, turn.turn_id, position, condition)
        clip = apply_condition(clip, condition, step, others)
    chain = chain_text(conditions)
    tags = dict(turn.tags)
    for condition in conditions:
        tags.update(condition.tags())
    tags.update(condition=chain, condition_seed=str(seed))
    conditioned = AudioClip(clip.samples, clip.sample_rate_hz, f"{source} [{chain}]")
    return replace(turn, audio=conditioned, tags=tags)


def apply_conditions(
    dataset: Dataset,
    conditions: Sequence[Condition | str],
    seed: int = 0,
    pool: Dataset | None = None,
) -> Dataset:
    """A copy of ``dataset`` with every clip conditioned in memory (references unchanged).

    ``pool`` is the dataset babble noise draws its other talkers from (default ``dataset``;
    give the whole dataset when conditioning a part of it, so a turn sounds the same either
    way). The copy's name records the conditions and seed, so a run folder of the clean dataset
    refuses it.
    """
    chain = tuple(
        c for item in conditions
        for c in (parse_conditions(item) if isinstance(item, str) else (item,))
    )  # fmt: skip
    if not chain:
        return dataset
    turns = [t for c in (pool or dataset) for t in c.turns]
    clips = [t.audio for t in turns]
    by_source: dict[str, list[int]] = {}
    for index, turn in enumerate(turns):
        by_source.setdefault(_recording(turn), []).append(index)
    for conversation in dataset:  # turns outside the pool exclude nothing from it
        for turn in conversation.turns:
            by_source.setdefault(_recording(turn), [])
    conversations = tuple(
        Conversation(
            conversation_id=conversation.conversation_id,
            turns=tuple(
                condition_turn(turn, chain, seed, _without(clips, by_source[_recording(turn)]))
                for turn in conversation.turns
            ),
        )
        for conversation in dataset
    )
    name = f"{dataset.name}[{chain_text(chain)}{CHAIN_SEPARATOR}seed={seed}]"
    return Dataset(name=name, conversations=conversations)


def _without(clips: Sequence[Path | AudioClip], excluded: Sequence[int]) -> Others:
    """``clips`` but those at ``excluded`` (sorted) indices: list slices, fast on big pools."""
    kept: list[Path | AudioClip] = []
    start = 0
    for index in excluded:
        kept += clips[start:index]
        start = index + 1
    return kept + list(clips[start:])


def _recording(turn: Turn) -> str:
    """What makes two turns one recording: the same file, or the same clip in memory."""
    return str(turn.audio.resolve()) if isinstance(turn.audio, Path) else f"clip {id(turn.audio)}"
