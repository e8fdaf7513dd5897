"""Dataset loaders: CSV and JSONL manifests, and folders of audio with sidecar ``.txt`` files.

Manifest fields (CSV columns or JSONL keys): ``audio`` (required, relative to the manifest),
``text`` (reference transcript), ``conversation_id`` and ``turn_index`` (group turns into
conversations; without them every row is its own conversation), ``expected_keywords``
(``;``-separated in CSV, a list in JSONL), ``expected_regex``, ``expected_tool`` and
``expected_tool_args`` (JSON object), ``language`` (ISO 639 code of the speech). Any other
field becomes a tag (``speaker``, ``snr_db``...).
A JSONL line may also be a whole conversation: ``{"conversation_id": ..., "turns": [...]}``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from voicelab._json import json_object
from voicelab.audio import AudioClip
from voicelab.datasets.types import Conversation, Dataset, ExpectedToolCall, Turn
from voicelab.errors import DatasetError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
MANIFEST_NAMES = ("manifest.jsonl", "manifest.csv")
KNOWN_FIELDS = {
    "language",
    "audio",
    "text",
    "conversation_id",
    "turn_index",
    "expected_keywords",
    "expected_regex",
    "expected_tool",
    "expected_tool_args",
}


def load_manifest(path: str | Path, name: str | None = None) -> Dataset:
    """Load a ``.csv`` or ``.jsonl`` manifest."""
    path = Path(path)
    if path.suffix == ".csv":
        return load_csv_manifest(path, name=name)
    if path.suffix in (".jsonl", ".ndjson"):
        return load_jsonl_manifest(path, name=name)
    raise DatasetError(f"{path}: unknown manifest type (expected .csv or .jsonl)")


def load_csv_manifest(path: str | Path, name: str | None = None) -> Dataset:
    """Load a CSV manifest with a header row; see the module docstring for the columns."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DatasetError(f"{path}: cannot read CSV manifest ({e})") from e
    records = [
        (f"{path}:{line}", {k: v for k, v in row.items() if k is not None and v not in (None, "")})
        for line, row in enumerate(rows, start=2)
    ]
    return _build_dataset(path, records, name)


def load_jsonl_manifest(path: str | Path, name: str | None = None) -> Dataset:
    """Load a JSONL manifest: one turn, or one whole conversation, per line."""
    path = Path(path)
    records: list[tuple[str, Mapping[str, Any]]] = []
    for line_no, line in numbered_lines(path, "JSONL manifest"):
        where = f"{path}:{line_no}"
        record = json_object(line, f"{where}: line", DatasetError)
        if "turns" in record:
            records.extend(_conversation_records(where, record))
        else:
            records.append((where, record))
    return _build_dataset(path, records, name)


def numbered_lines(path: Path, what: str) -> list[tuple[int, str]]:
    """(line number from 1, line) of each non-blank line of a UTF-8 text file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: cannot read {what} ({e})") from e
    return [(number, line) for number, line in enumerate(lines, start=1) if line.strip()]


def _conversation_records(
    where: str, record: Mapping[str, Any]
) -> Iterable[tuple[str, Mapping[str, Any]]]:
    turns = record["turns"]
    if "conversation_id" not in record or not isinstance(turns, list):
        raise DatasetError(f"{where}: a conversation needs 'conversation_id' and a 'turns' list")
    for index, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise DatasetError(f"{where}: turn {index} is not a JSON object")
        yield where, {**turn, "conversation_id": record["conversation_id"], "turn_index": index}


def load_folder(path: str | Path, name: str | None = None) -> Dataset:
    """Each audio file is a one-turn conversation; ``x.txt`` beside ``x.wav`` is its reference."""
    path = Path(path)
    audio_files = sorted(p for p in path.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
    if not audio_files:
        raise DatasetError(f"{path}: no audio files ({', '.join(AUDIO_SUFFIXES)}) and no manifest")
    records = []
    for audio in audio_files:
        sidecar = audio.with_suffix(".txt")
        record: dict[str, Any] = {"audio": audio.name}
        if sidecar.is_file():
            record["text"] = sidecar.read_text(encoding="utf-8").strip()
        records.append((str(audio), record))
    return _build_dataset(path / "_", records, name or path.name)


def _build_dataset(
    manifest: Path, records: Sequence[tuple[str, Mapping[str, Any]]], name: str | None
) -> Dataset:
    if not records:
        raise DatasetError(f"{manifest}: manifest has no turns")
    turns = [
        (_parse_turn(manifest.parent, where, record), "turn_index" in record)
        for where, record in records
    ]
    return group_turns(str(manifest), turns, name or manifest.stem)


def group_turns(where: str, turns: Sequence[tuple[Turn, bool]], name: str) -> Dataset:
    """Turns grouped into conversations by id, ordered by index; ``where`` names the source.

    Each turn comes with whether its index was given: one without an index is numbered after
    the turns of its conversation seen before it.
    """
    groups: dict[str, list[Turn]] = {}
    for turn, indexed in turns:
        if turn.conversation_id in groups and not indexed:
            turn = replace(turn, turn_index=len(groups[turn.conversation_id]))
        groups.setdefault(turn.conversation_id, []).append(turn)
    conversations = []
    for conversation_id, grouped in groups.items():
        grouped.sort(key=lambda t: t.turn_index)
        indices = [t.turn_index for t in grouped]
        if len(set(indices)) != len(indices):
            raise DatasetError(f"{where}: conversation {conversation_id!r} repeats a turn_index")
        conversations.append(Conversation(conversation_id=conversation_id, turns=tuple(grouped)))
    return Dataset(name=name, conversations=tuple(conversations))


def _parse_turn(root: Path, where: str, record: Mapping[str, Any]) -> Turn:
    audio = record.get("audio")
    if not audio or not isinstance(audio, str):
        raise DatasetError(f"{where}: missing 'audio' (path of the turn's audio file)")
    audio_path = Path(audio) if Path(audio).is_absolute() else root / audio
    return turn_from_record(where, record, audio_path, default_id=Path(audio).stem)


def turn_from_record(
    where: str, record: Mapping[str, Any], audio: Path | AudioClip, default_id: str
) -> Turn:
    """A turn from manifest fields (see the module docstring) and its resolved audio."""
    conversation_id = str(record.get("conversation_id") or default_id)
    turn_index = _parse_turn_index(where, record.get("turn_index", 0))
    text = record.get("text")
    language = record.get("language")
    return Turn(
        conversation_id=conversation_id,
        turn_index=turn_index,
        audio=audio,
        reference_text=str(text) if text is not None else None,
        expected_keywords=_parse_keywords(where, record.get("expected_keywords")),
        expected_regex=_parse_regex(where, record.get("expected_regex")),
        expected_tool_call=_parse_tool_call(where, record),
        tags={k: str(v) for k, v in record.items() if k not in KNOWN_FIELDS},
        language=str(language).strip() or None if language is not None else None,
    )


def _parse_turn_index(where: str, value: Any) -> int:
    """A whole number from 0: a JSON integer, or digits in a CSV cell."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise DatasetError(f"{where}: turn_index must be an integer from 0, not {value!r}")


def _parse_keywords(where: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(k.strip() for k in value.split(";") if k.strip())
    if isinstance(value, list) and all(isinstance(k, str) for k in value):
        return tuple(value)
    raise DatasetError(
        f"{where}: expected_keywords must be a list of strings or ';'-separated text"
    )


def _parse_regex(where: str, value: Any) -> str | None:
    if value is None:
        return None
    try:
        re.compile(str(value))
    except re.error as e:
        raise DatasetError(f"{where}: expected_regex does not compile ({e})") from e
    return str(value)


def _parse_tool_call(where: str, record: Mapping[str, Any]) -> ExpectedToolCall | None:
    name = record.get("expected_tool")
    if not name:
        return None
    args = record.get("expected_tool_args") or {}
    if isinstance(args, str):
        args = json_object(args, f"{where}: expected_tool_args", DatasetError)
    if not isinstance(args, dict):
        raise DatasetError(f"{where}: expected_tool_args must be a JSON object")
    return ExpectedToolCall(name=str(name), arguments=args)
