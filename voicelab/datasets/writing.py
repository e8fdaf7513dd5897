"""Writing a dataset to a folder ``load_dataset`` reads back: audio files and ``manifest.jsonl``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from voicelab.audio import save_audio
from voicelab.datasets.task import TASK_FILE, read_task
from voicelab.datasets.types import Dataset, Turn
from voicelab.errors import DatasetError

AUDIO_SUBTYPE = "FLOAT"  # 32-bit float WAV: the samples read back are exactly those written
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def save_dataset(dataset: Dataset, out_dir: str | Path) -> Path:
    """Write every turn's clip under ``out_dir/audio/`` and a manifest; the manifest's path."""
    return save_turns((t for c in dataset for t in c.turns), out_dir)


def save_turns(turns: Iterable[Turn], out_dir: str | Path) -> Path:
    """Write each turn's clip as it comes, then the manifest; the manifest's path."""
    out_dir = Path(out_dir)
    manifest = out_dir / "manifest.jsonl"
    if manifest.exists():
        raise DatasetError(f"{manifest}: already exists; write the dataset to a new folder")
    records: list[dict[str, Any]] = []
    names: set[str] = set()
    for turn in turns:
        name = _audio_name(turn, names)
        save_audio(turn.load_clip(), out_dir / name, subtype=AUDIO_SUBTYPE)
        records.append(turn_record(turn, name))
    if not records:
        raise DatasetError(f"{out_dir}: no turns to write")
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return manifest


def _audio_name(turn: Turn, taken: set[str]) -> str:
    """A file name for the turn's audio, unique within the folder."""
    stem = f"{_UNSAFE.sub('_', turn.conversation_id)}_{turn.turn_index}"
    name, number = f"audio/{stem}.wav", 1
    while name in taken:
        number += 1
        name = f"audio/{stem}-{number}.wav"
    taken.add(name)
    return name


def turn_record(turn: Turn, audio: str) -> dict[str, Any]:
    """A manifest line for ``turn`` with its audio at ``audio``: every reference, tag and its
    language."""
    record: dict[str, Any] = {
        **turn.tags,
        "audio": audio,
        "conversation_id": turn.conversation_id,
        "turn_index": turn.turn_index,
    }
    if turn.reference_text is not None:
        record["text"] = turn.reference_text
    if turn.language is not None:  # it chooses the normaliser the turn's WER is scored with
        record["language"] = turn.language
    if turn.expected_keywords:
        record["expected_keywords"] = list(turn.expected_keywords)
    if turn.expected_regex is not None:
        record["expected_regex"] = turn.expected_regex
    if turn.expected_tool_call is not None:
        record["expected_tool"] = turn.expected_tool_call.name
        record["expected_tool_args"] = dict(turn.expected_tool_call.arguments)
    return record


def copy_task(source: str | Path, out_dir: str | Path) -> Path | None:
    """Copy the source dataset's ``task.toml`` (its agent) to ``out_dir``, its agent path made
    absolute so it still resolves from there; None when the source has none."""
    task = read_task(source)
    if task is None or task.agent is None:
        return None
    target, _, name = task.agent.rpartition(":")
    agent = task.agent
    if target.endswith(".py") or "/" in target:
        agent = f"{(task.folder / target).resolve()}:{name}"
    path = Path(out_dir) / TASK_FILE
    path.write_text(f"agent = {json.dumps(agent)}\n", encoding="utf-8")
    return path
