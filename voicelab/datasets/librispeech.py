"""The LibriSpeech folder layout: ``<speaker>/<chapter>/<speaker>-<chapter>.trans.txt`` beside FLAC.

Each transcript line is ``<utterance-id> TEXT`` and names ``<utterance-id>.flac`` in the same
folder. Every utterance is a one-turn conversation (its id the utterance id) in English, tagged
``speaker`` and ``chapter``, plus ``sex``, ``subset`` and ``speaker_name`` where the corpus's
``SPEAKERS.TXT`` / ``CHAPTERS.TXT`` say (they sit in the corpus root, which may be the folder given
or one of its parents), or ``subset`` from a split folder's name (``dev-clean``...).
The folder given may be the corpus root, a split, a speaker or a chapter folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from voicelab.audio import AudioClip
from voicelab.datasets.loaders import AUDIO_SUFFIXES, numbered_lines
from voicelab.datasets.types import Conversation, Dataset, Turn
from voicelab.errors import DatasetError

TRANSCRIPT_GLOB = "*.trans.txt"
LANGUAGE = "en"
_MAX_DEPTH = 3  # corpus root / split / speaker / chapter: transcripts sit at most 3 folders down
_SPLIT_NAME = re.compile(r"^(dev|test|train)-(clean|other)(-\d+)?$")
_METADATA_FILES = ("SPEAKERS.TXT", "CHAPTERS.TXT")


def is_librispeech(path: Path) -> bool:
    """Whether ``path`` is a LibriSpeech chapter, speaker, split or corpus root folder.

    Transcripts three folders down make a corpus root only beside ``SPEAKERS.TXT`` or
    ``CHAPTERS.TXT``: without them, a folder holding a split is a folder of datasets.
    """
    if not path.is_dir():
        return False
    depths = range(_MAX_DEPTH + 1 if _has_metadata(path) else _MAX_DEPTH)
    return any(next(path.glob("*/" * depth + TRANSCRIPT_GLOB), None) for depth in depths)


def _has_metadata(folder: Path) -> bool:
    return any((folder / name).is_file() for name in _METADATA_FILES)


def load_librispeech(path: str | Path, name: str | None = None) -> Dataset:
    """Every utterance under ``path`` as a one-turn conversation with its transcript and tags."""
    root = Path(path)
    transcripts = sorted(
        t for depth in range(_MAX_DEPTH + 1) for t in root.glob("*/" * depth + TRANSCRIPT_GLOB)
    )
    if not transcripts:
        raise DatasetError(f"{root}: no LibriSpeech transcripts ({TRANSCRIPT_GLOB}) found")
    speakers, chapters = _corpus_metadata(root)
    turns = [
        turn
        for transcript in transcripts
        for turn in _chapter_turns(transcript, speakers, chapters)
    ]
    _refuse_untranscribed_audio(root, {t.audio for t in turns})
    conversations = tuple(
        Conversation(conversation_id=t.conversation_id, turns=(t,)) for t in turns
    )
    return Dataset(name=name or root.name, conversations=conversations)


def _chapter_turns(
    transcript: Path,
    speakers: Mapping[str, dict[str, str]],
    chapters: Mapping[str, dict[str, str]],
) -> Iterator[Turn]:
    """The turns of one chapter's transcript, each checked to have its audio beside it."""
    folder = transcript.parent
    audio_by_id = {p.stem: p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES}
    for line_no, line in numbered_lines(transcript, "transcript"):
        utterance_id, _, text = line.strip().partition(" ")
        parts = utterance_id.split("-")
        if len(parts) != 3 or not text.strip():
            raise DatasetError(
                f"{transcript}:{line_no}: expected '<speaker>-<chapter>-<utterance> TEXT', "
                f"got {line.strip()[:60]!r}"
            )
        audio = audio_by_id.get(utterance_id)
        if audio is None:
            raise DatasetError(
                f"{transcript}:{line_no}: no audio for utterance {utterance_id} "
                f"(expected {folder / (utterance_id + '.flac')})"
            )
        speaker, chapter = parts[0], parts[1]
        yield Turn(
            conversation_id=utterance_id,
            turn_index=0,
            audio=audio,
            reference_text=text.strip(),
            tags=_tags(speaker, chapter, folder, speakers, chapters),
            language=LANGUAGE,
        )


def _tags(
    speaker: str,
    chapter: str,
    folder: Path,
    speakers: Mapping[str, dict[str, str]],
    chapters: Mapping[str, dict[str, str]],
) -> dict[str, str]:
    """speaker, chapter, and what the corpus files (or the split folder's name) add."""
    tags = {"speaker": speaker, "chapter": chapter}
    tags.update(speakers.get(speaker, {}))
    tags.update(chapters.get(chapter, {}))
    split = next((p.name for p in folder.parents if _SPLIT_NAME.match(p.name)), None)
    if "subset" not in tags and split is not None:
        tags["subset"] = split
    return tags


def _refuse_untranscribed_audio(root: Path, transcribed: set[Path | AudioClip]) -> None:
    """An audio file no transcript line names is an error: it would silently go unscored."""
    for depth in range(_MAX_DEPTH + 1):
        for audio in sorted(root.glob("*/" * depth + "*")):
            if audio.suffix.lower() in AUDIO_SUFFIXES and audio not in transcribed:
                transcript = f"{audio.parent.parent.name}-{audio.parent.name}.trans.txt"
                raise DatasetError(
                    f"{audio}: audio without a transcript line (no '{audio.stem} ...' line in "
                    f"{audio.parent / transcript})"
                )


def _corpus_metadata(
    root: Path,
) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """Speaker and chapter tags from the nearest SPEAKERS.TXT / CHAPTERS.TXT at or above root."""
    candidates = (root, *root.resolve().parents[:_MAX_DEPTH])
    corpus = next((d for d in candidates if _has_metadata(d)), None)
    if corpus is None:
        return {}, {}
    speakers = {
        row[0]: {"sex": row[1], "subset": row[2], "speaker_name": "|".join(row[4:])}
        for row in _pipe_table(corpus / "SPEAKERS.TXT", min_fields=5)
    }
    chapters = {row[0]: {"subset": row[3]} for row in _pipe_table(corpus / "CHAPTERS.TXT", 4)}
    return speakers, chapters


def _pipe_table(path: Path, min_fields: int) -> Iterator[list[str]]:
    """Rows of a LibriSpeech ``|``-separated table; ``;`` starts a comment line."""
    if not path.is_file():
        return
    for line_no, line in numbered_lines(path, "LibriSpeech table"):
        if line.startswith(";"):
            continue
        fields = [f.strip() for f in line.split("|")]
        if len(fields) < min_fields:
            raise DatasetError(
                f"{path}:{line_no}: expected {min_fields} '|'-separated fields, got {len(fields)}"
            )
        yield fields
