from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.datasets.conftest import lj_rows
from voicelab.datasets import load_dataset, load_librispeech
from voicelab.datasets.formats import detect_format
from voicelab.errors import DatasetError


def test_corpus_root_loads_references_tags_and_language(
    librispeech_root: Path, shared_data: Path
) -> None:
    dataset = load_dataset(librispeech_root)
    rows = lj_rows(shared_data)
    assert dataset.name == "LibriSpeech"
    assert [c.conversation_id for c in dataset] == ["19-198-0000", "19-198-0001", "60-121-0000"]
    turns = [c.turns[0] for c in dataset]
    assert [t.reference_text for t in turns] == [r["text"].upper() for r in rows[:3]]
    assert all(t.language == "en" and t.turn_index == 0 for t in turns)
    assert turns[0].tags == {
        "speaker": "19", "chapter": "198", "sex": "F", "subset": "dev-clean",
        "speaker_name": "Kara Shallenberg",
    }  # fmt: skip
    assert turns[2].tags["speaker_name"] == "|CBW|Simon"  # a '|' inside the name is kept
    clip = turns[0].load_clip()
    assert clip.sample_rate_hz == 22_050 and clip.duration_s > 1.0
    assert Path(turns[0].audio_source).suffix == ".flac"


@pytest.mark.parametrize("below", ["dev-clean", "dev-clean/19", "dev-clean/19/198"])
def test_a_split_speaker_or_chapter_folder_loads_with_the_corpus_tags(
    librispeech_root: Path, below: str
) -> None:
    folder = librispeech_root / below
    assert detect_format(folder) is not None and detect_format(folder).name == "librispeech"  # type: ignore[union-attr]
    dataset = load_dataset(folder)
    ids = [c.conversation_id for c in dataset]
    assert ids == (["19-198-0000", "19-198-0001", "60-121-0000"] if below == "dev-clean" else
                   ["19-198-0000", "19-198-0001"])  # fmt: skip
    assert dataset.conversations[0].turns[0].tags["sex"] == "F"  # SPEAKERS.TXT found above


def test_without_corpus_files_the_split_folder_names_the_subset(
    librispeech_root: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy" / "test-other"
    shutil.copytree(librispeech_root / "dev-clean", copy)
    turn = load_librispeech(copy).conversations[0].turns[0]
    assert turn.tags == {"speaker": "19", "chapter": "198", "subset": "test-other"}


def test_explicit_format_prefix(librispeech_root: Path) -> None:
    assert load_dataset(f"librispeech:{librispeech_root}").num_turns == 3
    assert load_dataset(librispeech_root, format="librispeech").num_turns == 3


def test_a_transcript_line_without_audio_names_the_file_and_line(librispeech_root: Path) -> None:
    chapter = librispeech_root / "dev-clean" / "19" / "198"
    (chapter / "19-198-0001.flac").unlink()
    with pytest.raises(
        DatasetError, match=r"19-198\.trans\.txt:2: no audio for utterance 19-198-0001"
    ):
        load_dataset(librispeech_root)


def test_audio_without_a_transcript_line_names_the_file(librispeech_root: Path) -> None:
    chapter = librispeech_root / "dev-clean" / "60" / "121"
    shutil.copy(chapter / "60-121-0000.flac", chapter / "60-121-0007.flac")
    with pytest.raises(DatasetError, match=r"60-121-0007\.flac: audio without a transcript line"):
        load_dataset(librispeech_root)


def test_a_malformed_transcript_line_names_the_line(librispeech_root: Path) -> None:
    transcript = librispeech_root / "dev-clean" / "60" / "121" / "60-121.trans.txt"
    transcript.write_text(transcript.read_text() + "60-121 MISSING UTTERANCE NUMBER\n")
    with pytest.raises(DatasetError, match=r"60-121\.trans\.txt:2: expected '<speaker>-<chapter>"):
        load_dataset(librispeech_root)
