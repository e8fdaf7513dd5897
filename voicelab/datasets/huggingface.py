"""Hugging Face ``datasets`` audio datasets from local disk, never from the hub.

Three sources: a folder written by ``save_to_disk`` (a ``Dataset`` or a ``DatasetDict``), an
``audiofolder`` (audio files with ``metadata.csv`` / ``metadata.jsonl``), or a dataset name found
in the local cache (``HF_DATASETS_CACHE``, or ``cache_dir``). The hub is switched off
(``HF_HUB_OFFLINE`` / ``HF_DATASETS_OFFLINE``) before ``datasets`` is imported.

Audio is read undecoded (``Audio(decode=False)``: ``datasets`` >= 4 decodes with torchcodec,
which voicelab does not use) and decoded with soundfile. Each row is a one-turn conversation
unless ``conversation_id`` (and ``turn_index``) columns group them. Columns: the text column is
the reference (found among ``TEXT_COLUMNS`` unless named), an id column names the conversation,
a ``language`` / ``locale`` column gives the language, manifest fields (``expected_tool``...)
keep their meaning, and every other scalar column becomes a tag.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import soundfile as sf

from voicelab._imports import require
from voicelab.audio import AudioClip, decode_audio_bytes
from voicelab.datasets.loaders import KNOWN_FIELDS, group_turns, turn_from_record
from voicelab.datasets.types import Dataset, Turn
from voicelab.errors import AudioError, DatasetError

TEXT_COLUMNS = (
    "text", "sentence", "transcription", "transcript", "normalized_text", "raw_text",
    "raw_transcription", "normalized_transcription",
)  # fmt: skip
ID_COLUMNS = ("id", "utterance_id", "utt_id", "audio_id", "segment_id", "key", "file")
LANGUAGE_COLUMNS = ("language", "locale", "lang", "language_code")
SAVED_MARKERS = ("dataset_dict.json", "state.json")  # what save_to_disk writes at the top
AUDIOFOLDER_METADATA = ("metadata.csv", "metadata.jsonl")
SPLIT_FOLDERS = ("train", "validation", "valid", "dev", "test", "eval")  # an audiofolder's splits
_OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
_SCALARS = (str, int, float, bool)


@dataclass(frozen=True, kw_only=True)
class HFColumns:
    """Which columns hold what; None finds them by their usual names."""

    audio: str | None = None
    """The audio column (default: the one column of the ``Audio`` type)."""
    text: str | None = None
    """The reference transcript (default: the first of ``TEXT_COLUMNS`` present; none: NA)."""
    id: str | None = None
    """The utterance id (default: the first of ``ID_COLUMNS`` present, else the row index)."""


def hf_kind(path: Path) -> str | None:
    """``save_to_disk`` or ``audiofolder`` for a folder of that kind, else None."""
    if not path.is_dir():
        return None
    if any((path / marker).is_file() for marker in SAVED_MARKERS):
        return "save_to_disk"
    folders = (path, *(path / split for split in SPLIT_FOLDERS))
    if any((folder / m).is_file() for folder in folders for m in AUDIOFOLDER_METADATA):
        return "audiofolder"
    return None


def load_hf_dataset(
    source: str | Path,
    *,
    split: str | None = None,
    columns: HFColumns = HFColumns(),
    cache_dir: str | Path | None = None,
    name: str | None = None,
) -> Dataset:
    """A local Hugging Face dataset (folder or cached name) as voicelab conversations."""
    hf = _datasets_module()
    where = str(source)
    splits = _open_splits(hf, source, cache_dir)
    chosen = _choose_split(where, list(splits), split)
    table = splits[chosen]
    where = f"{where} [{chosen}]"
    features = dict(table.features or {})
    audio_column = _audio_column(hf, where, features, columns.audio)
    rows = _undecoded_rows(hf, table, audio_column, features[audio_column])
    roles = _roles(where, list(features), columns)
    base = Path(source) if Path(source).is_dir() else None
    turns = [
        (
            _turn(f"{where} row {index}", index, row, audio_column, roles, base),
            row.get("turn_index") is not None,
        )
        for index, row in enumerate(_read(where, rows))
    ]
    if not turns:
        raise DatasetError(f"{where}: the split has no rows")
    if "conversation_id" not in features:
        _refuse_repeated_ids(where, [turn.conversation_id for turn, _ in turns], roles["id"])
    default_name = Path(str(source).rstrip("/")).name.replace("___", "-")
    return group_turns(where, turns, name or default_name)


def _read(where: str, rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The rows, a failure of ``datasets`` while reading them (e.g. a bad shard) as an error."""
    try:
        yield from rows
    except (OSError, ValueError) as e:
        raise DatasetError(f"{where}: cannot read the rows ({e})") from e


def _refuse_repeated_ids(where: str, ids: Sequence[str], id_column: str | None) -> None:
    """Without a conversation_id column each row is a conversation: its id must be unique."""
    first_row: dict[str, int] = {}
    for index, utterance_id in enumerate(ids):
        if utterance_id in first_row:
            raise DatasetError(
                f"{where}: rows {first_row[utterance_id]} and {index} have the same id "
                f"{utterance_id!r} (column {id_column!r}); name a unique column with "
                "HFColumns(id=...), or group turns with conversation_id/turn_index columns"
            )
        first_row[utterance_id] = index


def hf_splits(source: str | Path, cache_dir: str | Path | None = None) -> list[str]:
    """The split names of a local Hugging Face dataset."""
    return list(_open_splits(_datasets_module(), source, cache_dir))


def _datasets_module() -> ModuleType:
    """``datasets``, imported with the hub switched off (the variables are read at import)."""
    for variable in _OFFLINE_VARIABLES:
        os.environ[variable] = "1"
    hf = require("datasets", extra="hf")
    # either may have been imported before the variables were set: switch both off directly
    # (the hub client refuses every request in offline mode)
    hub_constants: Any = require("huggingface_hub.constants", extra="hf")
    hf.config.HF_HUB_OFFLINE = hub_constants.HF_HUB_OFFLINE = True
    return hf


def _open_splits(hf: ModuleType, source: str | Path, cache_dir: str | Path | None) -> Any:
    """A mapping of split name to table, from a folder or the local cache."""
    path = Path(source)
    kind = hf_kind(path)
    try:
        if kind == "save_to_disk":
            opened = hf.load_from_disk(str(path))
            return opened if isinstance(opened, hf.DatasetDict) else {"train": opened}
        if kind == "audiofolder":  # streamed: a prepared copy would be written to the cache
            return hf.load_dataset("audiofolder", data_dir=str(path), streaming=True)
        if path.exists():
            raise DatasetError(
                f"{path}: not a Hugging Face dataset (no {' / '.join(SAVED_MARKERS)} from "
                f"save_to_disk, no {' / '.join(AUDIOFOLDER_METADATA)} of an audiofolder)"
            )
        return hf.load_dataset(str(source), cache_dir=str(cache_dir) if cache_dir else None)
    except (OSError, ValueError) as e:
        raise DatasetError(
            f"{source}: cannot open as a local Hugging Face dataset (offline: only a "
            f"save_to_disk folder, an audiofolder or a dataset in the local cache) ({e})"
        ) from e


def _choose_split(where: str, splits: Sequence[str], split: str | None) -> str:
    if split is not None:
        if split not in splits:
            raise DatasetError(f"{where}: no split {split!r}; splits: {', '.join(splits)}")
        return split
    if len(splits) != 1:
        raise DatasetError(
            f"{where}: {len(splits)} splits ({', '.join(splits)}); name one, e.g. "
            f"hf:{where}:{splits[0] if splits else 'train'}"
        )
    return splits[0]


def _audio_column(
    hf: ModuleType, where: str, features: Mapping[str, Any], given: str | None
) -> str:
    present = ", ".join(features)
    if given is not None:
        if given not in features:
            raise DatasetError(f"{where}: no audio column {given!r}; columns: {present}")
        return given
    audio = [c for c, f in features.items() if isinstance(f, hf.Audio)]
    if len(audio) != 1:
        what = "no column of the Audio type" if not audio else f"audio columns {', '.join(audio)}"
        raise DatasetError(f"{where}: {what}; name the audio column (columns: {present})")
    return audio[0]


def _undecoded_rows(
    hf: ModuleType, table: Any, audio_column: str, feature: Any
) -> Iterable[dict[str, Any]]:
    """Rows whose audio is ``{"bytes", "path"}`` or a path string, never decoded by ``datasets``."""
    if isinstance(table, hf.IterableDataset):  # encoding even a path needs torchcodec there
        return table.cast_column(audio_column, hf.Value("string"))  # type: ignore[no-any-return]
    if isinstance(feature, hf.Audio):
        table = table.cast_column(audio_column, hf.Audio(decode=False))
    return table  # type: ignore[no-any-return]


def _roles(where: str, names: Sequence[str], columns: HFColumns) -> dict[str, str | None]:
    """The columns playing the text, id and language roles."""
    if columns.text is not None and columns.text not in names:
        raise DatasetError(f"{where}: no text column {columns.text!r}; columns: {', '.join(names)}")
    if columns.id is not None and columns.id not in names:
        raise DatasetError(f"{where}: no id column {columns.id!r}; columns: {', '.join(names)}")
    return {
        "text": columns.text or _first(TEXT_COLUMNS, names),
        "id": columns.id or _first(ID_COLUMNS, names),
        "language": _first(LANGUAGE_COLUMNS, names),
    }


def _first(candidates: Iterable[str], names: Sequence[str]) -> str | None:
    return next((c for c in candidates if c in names), None)


def _turn(
    where: str,
    index: int,
    row: Mapping[str, Any],
    audio_column: str,
    roles: Mapping[str, str | None],
    base: Path | None,
) -> Turn:
    """One row as a turn: its audio, roles, manifest fields and scalar tags."""
    role_columns = {c for c in roles.values() if c is not None} | {audio_column}
    record: dict[str, Any] = {
        column: value
        for column, value in row.items()
        if column not in role_columns
        and value is not None
        and (column in KNOWN_FIELDS or isinstance(value, _SCALARS))
        and column not in ("text", "audio", "language")
    }
    for role in ("text", "language"):
        column = roles[role]
        if column is not None and row.get(column) is not None:
            record[role] = row[column]
    id_column = roles["id"]
    utterance_id = str(row[id_column]) if id_column and row.get(id_column) is not None else None
    audio = _row_audio(where, row[audio_column], base)
    return turn_from_record(where, record, audio, default_id=utterance_id or f"{index:06d}")


def _row_audio(where: str, value: Any, base: Path | None) -> Path | AudioClip:
    """The row's audio: decoded from embedded bytes, or a checked path to a file."""
    data, path = (
        (value.get("bytes"), value.get("path")) if isinstance(value, dict) else (None, value)
    )
    if data:
        try:
            return decode_audio_bytes(bytes(data), source=f"{where} ({path or 'embedded audio'})")
        except AudioError as e:
            raise DatasetError(f"{where}: audio cannot be decoded ({e})") from e
    if not path:
        raise DatasetError(f"{where}: the audio column holds neither bytes nor a path")
    file = Path(path) if Path(path).is_absolute() or base is None else base / path
    if not file.is_file():
        raise DatasetError(f"{where}: audio file {file} not found")
    try:
        sf.info(str(file))
    except (sf.LibsndfileError, RuntimeError) as e:
        raise DatasetError(f"{where}: audio {file} cannot be decoded ({e})") from e
    return file
