"""Conversation scripts: what each user turn says, read from JSONL or YAML and checked.

JSONL holds one conversation a line; YAML a list of conversations, or ``{conversations: [...]}``.
A conversation is ``{conversation_id, turns: [...], voice?, speaker?, language?, ...}``; a turn is
``{text, expected_keywords?, expected_regex?, expected_tool?, expected_tool_args?, voice?,
speaker?, language?, ...}``. A conversation's ``voice``/``speaker``/``language`` apply to its
turns unless a turn gives its own; any other scalar field (either level) becomes a turn tag.
Every error names the script's file, line, conversation and turn.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from voicelab._json import json_object
from voicelab.datasets.loaders import _parse_regex
from voicelab.errors import DatasetError

JSONL_SUFFIXES = (".jsonl", ".ndjson")
YAML_SUFFIXES = (".yaml", ".yml")
_CONVERSATION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # it names audio files
_SPEECH_FIELDS = ("voice", "speaker", "language")  # given per conversation or per turn
# Fields of a turn with their JSON types; keywords may also be one ';'-separated string.
_TURN_FIELDS: dict[str, tuple[type, ...]] = {
    "text": (str,),
    "expected_keywords": (list, str),
    "expected_regex": (str,),
    "expected_tool": (str,),
    "expected_tool_args": (dict,),
    **{name: (str,) for name in _SPEECH_FIELDS},
}
_WRITTEN_FIELDS = ("audio", "turn_index", "conversation_id")  # the synthesiser writes these
_TAG_TYPES = (str, int, float, bool)


@dataclass(frozen=True, kw_only=True)
class ScriptTurn:
    """One user turn to speak: its text, the expectations to carry along, where it was read."""

    conversation_id: str
    turn_index: int
    text: str
    """What the user says: spoken by the TTS voice, and the turn's reference transcript."""
    where: str
    """``file:line: conversation 'x' turn n``, for error messages."""
    voice: str | None = None
    """The TTS voice for this turn; None is the synthesiser's default."""
    speaker: str | None = None
    language: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    """Expectations and tags, as manifest fields (``expected_tool``, ``speaker``...)."""


@dataclass(frozen=True, kw_only=True)
class ScriptConversation:
    """An ordered list of turns, all spoken in one conversation."""

    conversation_id: str
    turns: tuple[ScriptTurn, ...]


def read_script(path: str | Path) -> tuple[ScriptConversation, ...]:
    """The conversations of a ``.jsonl`` or ``.yaml`` script, every field checked."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: cannot read the script ({e})") from e
    if path.suffix in JSONL_SUFFIXES:
        raw = _jsonl_conversations(path, text)
    elif path.suffix in YAML_SUFFIXES:
        raw = _yaml_conversations(path, text)
    else:
        raise DatasetError(
            f"{path}: unknown script type {path.suffix!r} "
            f"(expected {', '.join(JSONL_SUFFIXES + YAML_SUFFIXES)})"
        )
    if not raw:
        raise DatasetError(f"{path}: the script has no conversations")
    conversations = [_conversation(path, line, record) for line, record in raw]
    first_line: dict[str, int] = {}
    for conversation, (line, _) in zip(conversations, raw, strict=True):
        conversation_id = conversation.conversation_id
        if conversation_id in first_line:
            raise DatasetError(
                f"{path}:{line}: conversation_id {conversation_id!r} is already used on line "
                f"{first_line[conversation_id]}"
            )
        first_line[conversation_id] = line
    return tuple(conversations)


class _LineDict(dict[str, Any]):
    """A YAML mapping that remembers the line it starts on."""

    line: int = 0


class _LineLoader(yaml.SafeLoader):  # type: ignore[misc]
    """PyYAML's safe loader, keeping each mapping's line for error messages."""


def _construct_mapping(loader: _LineLoader, node: Any) -> _LineDict:
    mapping = _LineDict(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

_Raw = list[tuple[int, Mapping[str, Any]]]  # (line, the conversation's fields)


def _jsonl_conversations(path: Path, text: str) -> _Raw:
    return [
        (n, json_object(line, f"{path}:{n}: line", DatasetError))
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]


def _yaml_conversations(path: Path, text: str) -> _Raw:
    try:
        document = yaml.load(text, Loader=_LineLoader)  # _LineLoader is a SafeLoader
    except yaml.YAMLError as e:
        raise DatasetError(f"{path}: not valid YAML ({e})") from e
    if isinstance(document, dict):
        extra = set(document) - {"conversations"}
        if extra:
            raise DatasetError(
                f"{path}: unknown top-level key(s) {sorted(extra)}; a YAML script is a list of "
                "conversations or {conversations: [...]}"
            )
        document = document.get("conversations")
    if document is None:
        return []
    if not isinstance(document, list):
        raise DatasetError(
            f"{path}: a YAML script is a list of conversations or {{conversations: [...]}}"
        )
    raw: _Raw = []
    for index, record in enumerate(document):
        if not isinstance(record, _LineDict):
            raise DatasetError(f"{path}: conversation {index} is not a mapping: {record!r}")
        raw.append((record.line, record))
    return raw


def _conversation(path: Path, line: int, record: Mapping[str, Any]) -> ScriptConversation:
    where = f"{path}:{line}"
    conversation_id = record.get("conversation_id")
    if not isinstance(conversation_id, str) or not _CONVERSATION_ID.fullmatch(conversation_id):
        raise DatasetError(
            f"{where}: a conversation needs a 'conversation_id' of letters, digits, '.', '_' "
            f"or '-' (it names the audio files), not {conversation_id!r}"
        )
    turns = record.get("turns")
    if not isinstance(turns, list) or not turns:
        raise DatasetError(
            f"{where}: conversation {conversation_id!r} needs a non-empty 'turns' list"
        )
    shared = {k: v for k, v in record.items() if k not in ("conversation_id", "turns")}
    _check_fields(f"{where}: conversation {conversation_id!r}", shared, _SPEECH_FIELDS)
    return ScriptConversation(
        conversation_id=conversation_id,
        turns=tuple(
            _turn(path, line, conversation_id, index, turn, shared)
            for index, turn in enumerate(turns)
        ),
    )


def _turn(
    path: Path,
    line: int,
    conversation_id: str,
    index: int,
    record: Any,
    shared: Mapping[str, Any],
) -> ScriptTurn:
    line = record.line if isinstance(record, _LineDict) else line  # YAML turns have their own
    where = f"{path}:{line}: conversation {conversation_id!r} turn {index}"
    if not isinstance(record, dict):
        raise DatasetError(f"{where}: a turn is a mapping with at least 'text', not {record!r}")
    _check_fields(where, record, tuple(_TURN_FIELDS))
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise DatasetError(f"{where}: missing 'text' (what the user says, as non-empty text)")
    merged = {**shared, **record}
    return ScriptTurn(
        conversation_id=conversation_id,
        turn_index=index,
        text=text,
        where=where,
        voice=merged.get("voice"),
        speaker=merged.get("speaker"),
        language=merged.get("language"),
        fields={k: v for k, v in merged.items() if k not in ("text", "voice")},
    )


def _check_fields(where: str, record: Mapping[str, Any], known: Sequence[str]) -> None:
    """Each known field has its type, and any other field is a scalar tag."""
    for name, value in record.items():
        if name in _WRITTEN_FIELDS:
            raise DatasetError(f"{where}: '{name}' is written by the synthesiser; leave it out")
        if name in known:
            types = _TURN_FIELDS[name]
            if not isinstance(value, types):
                raise DatasetError(
                    f"{where}: '{name}' must be {_type_names(types)}, not {_json_type(value)}"
                )
            _check_value(where, name, value)
        elif not isinstance(value, _TAG_TYPES) and value is not None:
            raise DatasetError(
                f"{where}: field '{name}' is {_json_type(value)}; a field other than "
                f"{', '.join(_TURN_FIELDS)} becomes a tag and must be text, a number or a boolean"
            )


def _check_value(where: str, name: str, value: Any) -> None:
    if name == "expected_keywords" and isinstance(value, list):
        if not all(isinstance(k, str) and k.strip() for k in value):
            raise DatasetError(f"{where}: 'expected_keywords' must be a list of non-empty strings")
    elif name == "expected_regex":
        _parse_regex(where, value)
    elif name == "expected_tool_args":
        try:
            json.dumps(value)  # YAML may hold dates; the manifest needs JSON
        except (TypeError, ValueError) as e:
            raise DatasetError(
                f"{where}: 'expected_tool_args' must hold only JSON values ({e})"
            ) from e


def _type_names(types: tuple[type, ...]) -> str:
    names = {str: "text", list: "a list", dict: "a mapping", int: "a number", float: "a number"}
    return " or ".join(names.get(t, t.__name__) for t in types)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({value})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"{type(value).__name__} ({value!r})"
