"""Small real corpora built in tmp_path from the shared LJSpeech and FSDD clips."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import soundfile as sf

SPEAKERS_TXT = """\
; Some comments
;ID  |SEX| SUBSET           |MINUTES| NAME
19   | F | dev-clean        | 25.19 | Kara Shallenberg
60   | M | dev-clean        | 20.18 | |CBW|Simon
"""
CHAPTERS_TXT = """\
;ID    |READER|MINUTES| SUBSET           | PROJ.|BOOK ID| CH. TITLE | PROJECT TITLE
198    | 19   | 12.58 | dev-clean        | 1023 | 1070  | Chapter 1 | A Book
121    | 60   | 15.26 | dev-clean        | 1023 | 1070  | Chapter 2 | A Book
"""


def lj_rows(shared_data: Path) -> list[dict[str, str]]:
    """The LJSpeech sample's manifest rows (audio, text, speaker)."""
    with (shared_data / "ljspeech-sample" / "manifest.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def to_flac(source: Path, target: Path) -> Path:
    """The WAV clip re-encoded as FLAC (as LibriSpeech ships it)."""
    data, rate = sf.read(str(source), dtype="int16")
    target.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(target), data, rate, format="FLAC")
    return target


@pytest.fixture
def librispeech_root(tmp_path: Path, shared_data: Path) -> Path:
    """A LibriSpeech corpus root: dev-clean with speakers 19 (2 utterances) and 60 (1)."""
    rows = lj_rows(shared_data)
    root = tmp_path / "LibriSpeech"
    chapters = {("19", "198"): rows[0:2], ("60", "121"): rows[2:3]}
    for (speaker, chapter), chapter_rows in chapters.items():
        folder = root / "dev-clean" / speaker / chapter
        lines = []
        for number, row in enumerate(chapter_rows):
            utterance = f"{speaker}-{chapter}-{number:04d}"
            to_flac(shared_data / "ljspeech-sample" / row["audio"], folder / f"{utterance}.flac")
            lines.append(f"{utterance} {row['text'].upper()}\n")
        (folder / f"{speaker}-{chapter}.trans.txt").write_text("".join(lines))
    (root / "SPEAKERS.TXT").write_text(SPEAKERS_TXT)
    (root / "CHAPTERS.TXT").write_text(CHAPTERS_TXT)
    return root
