from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import datasets as hf  # the optional `hf` extra, part of the dev install (make install)
import pytest

from tests.datasets.conftest import lj_rows, to_flac
from voicelab.datasets import HFColumns, load_dataset, load_hf_dataset
from voicelab.datasets.formats import detect_format
from voicelab.errors import DatasetError


def _saved(path: Path, columns: dict[str, list[Any]], audio: str | None = "audio") -> Path:
    table = hf.Dataset.from_dict(columns)
    if audio is not None:
        table = table.cast_column(audio, hf.Audio())
    table.save_to_disk(str(path))
    return path


@pytest.fixture
def fsdd_saved(tmp_path: Path, shared_data: Path) -> Path:
    """A save_to_disk dataset of three FSDD clips, Common Voice style columns, audio embedded."""
    fsdd = shared_data / "fsdd-sample"
    names = ["0_jackson_0.wav", "4_jackson_0.wav", "7_jackson_0.wav"]
    return _saved(tmp_path / "saved", {
        "audio": [str(fsdd / n) for n in names],
        "sentence": ["zero", "four", "seven"],
        "id": ["a", "b", "c"],
        "locale": ["en", "en", "de"],
        "client_id": ["jackson"] * 3,
        "up_votes": [2, 0, 1],
        "segments": [[1, 2], [], [3]],
    })  # fmt: skip


def test_save_to_disk_loads_references_ids_tags_and_language(
    fsdd_saved: Path, tmp_path: Path
) -> None:
    moved = tmp_path / "moved"  # the audio is embedded: the dataset does not need the clips
    shutil.move(fsdd_saved, moved)
    assert detect_format(moved) is not None and detect_format(moved).name == "hf"  # type: ignore[union-attr]
    dataset = load_dataset(moved)
    turns = [c.turns[0] for c in dataset]
    assert [c.conversation_id for c in dataset] == ["a", "b", "c"]
    assert [t.reference_text for t in turns] == ["zero", "four", "seven"]
    assert [t.language for t in turns] == ["en", "en", "de"]
    assert turns[0].tags == {"client_id": "jackson", "up_votes": "2"}  # the list column is no tag
    clip = turns[1].load_clip()
    assert clip.sample_rate_hz == 8_000 and 0.2 < clip.duration_s < 1.5


def test_a_dataset_dict_needs_a_split_when_it_has_several(
    tmp_path: Path, shared_data: Path
) -> None:
    lj = shared_data / "ljspeech-sample"
    rows = lj_rows(shared_data)
    splits = {
        name: hf.Dataset.from_dict(
            {"audio": [str(lj / r["audio"]) for r in chunk], "text": [r["text"] for r in chunk]}
        ).cast_column("audio", hf.Audio())
        for name, chunk in (("train", rows[:2]), ("validation", rows[2:3]))
    }
    hf.DatasetDict(splits).save_to_disk(str(tmp_path / "dd"))
    with pytest.raises(DatasetError, match=r"2 splits \(train, validation\); name one"):
        load_dataset(tmp_path / "dd")
    validation = load_dataset(f"hf:{tmp_path / 'dd'}:validation")
    assert [c.turns[0].reference_text for c in validation] == [rows[2]["text"]]
    assert load_hf_dataset(tmp_path / "dd", split="train").num_turns == 2
    with pytest.raises(DatasetError, match=r"no split 'test'; splits: train, validation"):
        load_dataset(f"hf:{tmp_path / 'dd'}:test")


def test_audiofolder_with_jsonl_metadata_groups_conversations(
    tmp_path: Path, shared_data: Path
) -> None:
    folder = tmp_path / "af"
    rows = lj_rows(shared_data)[:3]
    metadata = []
    for index, row in enumerate(rows):
        name = Path(row["audio"]).with_suffix(".flac").name
        to_flac(shared_data / "ljspeech-sample" / row["audio"], folder / name)
        metadata.append({
            "file_name": name, "transcription": row["text"], "speaker": "lj",
            "conversation_id": "talk", "turn_index": 2 - index, "language": "en",
        })  # fmt: skip
    (folder / "metadata.jsonl").write_text("".join(json.dumps(m) + "\n" for m in metadata))
    dataset = load_dataset(folder)
    assert dataset.name == "af" and len(dataset.conversations) == 1
    turns = dataset.conversations[0].turns
    assert [t.turn_index for t in turns] == [0, 1, 2]
    assert [t.reference_text for t in turns] == [r["text"] for r in reversed(rows)]
    assert turns[0].tags == {"speaker": "lj"} and turns[0].language == "en"
    assert turns[0].load_clip().sample_rate_hz == 22_050


def test_a_dataset_in_the_local_cache_loads_offline(tmp_path: Path, fsdd_saved: Path) -> None:
    from datasets.packaged_modules.parquet.parquet import Parquet

    hf.load_from_disk(str(fsdd_saved)).to_parquet(str(tmp_path / "t.parquet"))
    cache = tmp_path / "cache"
    builder = Parquet(
        cache_dir=str(cache), dataset_name="tiny-digits", config_name="default",
        config_id="default", hash="0123abcd", data_files={"test": str(tmp_path / "t.parquet")},
    )  # fmt: skip
    builder.download_and_prepare()
    dataset = load_hf_dataset("tiny-digits", cache_dir=cache)
    assert [c.turns[0].reference_text for c in dataset] == ["zero", "four", "seven"]
    assert dataset.conversations[2].turns[0].load_clip().sample_rate_hz == 8_000
    with pytest.raises(DatasetError, match=r"no-such-dataset: cannot open as a local Hugging"):
        load_hf_dataset("no-such-dataset", cache_dir=cache)


def test_named_columns(fsdd_saved: Path) -> None:
    dataset = load_hf_dataset(fsdd_saved, columns=HFColumns(text="client_id", id="sentence"))
    turn = dataset.conversations[0].turns[0]
    assert (turn.conversation_id, turn.reference_text) == ("zero", "jackson")


def test_unknown_text_column_names_the_columns(fsdd_saved: Path) -> None:
    with pytest.raises(DatasetError, match=r"no text column 'words'; columns: audio, sentence, id"):
        load_hf_dataset(fsdd_saved, columns=HFColumns(text="words"))


def test_no_audio_column(tmp_path: Path) -> None:
    path = _saved(tmp_path / "textonly", {"text": ["hi"], "id": ["x"]}, audio=None)
    with pytest.raises(DatasetError, match=r"no column of the Audio type.*columns: text, id"):
        load_dataset(f"hf:{path}")


def test_a_row_whose_audio_cannot_be_decoded_names_its_index(
    tmp_path: Path, shared_data: Path
) -> None:
    good = (shared_data / "fsdd-sample" / "0_jackson_0.wav").read_bytes()
    audio = [{"bytes": good, "path": "ok.wav"}, {"bytes": b"not audio at all", "path": "bad.wav"}]
    path = _saved(tmp_path / "broken", {"audio": audio, "text": ["zero", "one"]})
    with pytest.raises(DatasetError, match=r"\[train\] row 1: audio cannot be decoded.*bad\.wav"):
        load_dataset(path)


def test_a_row_whose_audio_file_is_missing_names_its_path(tmp_path: Path) -> None:
    folder = tmp_path / "af"
    folder.mkdir()
    (folder / "metadata.csv").write_text("file_name,text\nmissing.wav,hello\n")
    with pytest.raises(DatasetError, match=r"\[train\] row 0: audio file .*missing\.wav not found"):
        load_dataset(folder)


def test_a_repeated_id_without_conversation_columns_is_refused(fsdd_saved: Path) -> None:
    with pytest.raises(DatasetError, match=r"rows 0 and 1 have the same id 'jackson'"):
        load_hf_dataset(fsdd_saved, columns=HFColumns(id="client_id"))
