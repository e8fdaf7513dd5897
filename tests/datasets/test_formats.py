from __future__ import annotations

from pathlib import Path

import pytest

from voicelab.datasets import FORMATS, load_dataset
from voicelab.datasets.formats import detect_format, parse_spec, resolve_spec
from voicelab.errors import DatasetError


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("data/support", (None, "data/support", None)),
        ("hf:data/x", ("hf", "data/x", None)),
        ("hf:data/x:validation", ("hf", "data/x", "validation")),
        ("hf:openslr/librispeech_asr:test", ("hf", "openslr/librispeech_asr", "test")),
        ("librispeech:corpus/dev-clean", ("librispeech", "corpus/dev-clean", None)),
        ("librispeech:a:b", ("librispeech", "a:b", None)),  # only hf takes a split
        ("notaformat:x", (None, "notaformat:x", None)),
    ],
)
def test_parse_spec(spec: str, expected: tuple[str | None, str, str | None]) -> None:
    assert parse_spec(spec) == expected


def test_resolve_spec_makes_local_paths_absolute_and_keeps_cache_names(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    assert resolve_spec("corpus", tmp_path) == str(tmp_path / "corpus")
    assert resolve_spec("hf:corpus:test", tmp_path) == f"hf:{tmp_path / 'corpus'}:test"
    assert resolve_spec("hf:org/name:test", tmp_path) == "hf:org/name:test"


def test_detection_follows_the_table(demo_data: Path, shared_data: Path, tmp_path: Path) -> None:
    assert [f.name for f in FORMATS] == ["manifest", "hf", "librispeech", "folder"]
    assert detect_format(demo_data).name == "manifest"  # type: ignore[union-attr]
    assert detect_format(shared_data / "fsdd-sample" / "manifest.csv").name == "manifest"  # type: ignore[union-attr]
    (tmp_path / "a.wav").write_bytes(b"")
    assert detect_format(tmp_path).name == "folder"  # type: ignore[union-attr]
    assert detect_format(tmp_path / "nothing") is None


def test_explicit_formats_and_their_errors(shared_data: Path) -> None:
    fsdd = shared_data / "fsdd-sample"
    assert load_dataset(f"manifest:{fsdd}").num_turns == 150
    assert load_dataset(fsdd, format="manifest", name="digits").name == "digits"
    with pytest.raises(DatasetError, match=r"unknown dataset format 'mp3'; formats: manifest, hf"):
        load_dataset(fsdd, format="mp3")
    with pytest.raises(DatasetError, match=r"a split applies to hf datasets only"):
        load_dataset(fsdd, split="test")
    with pytest.raises(DatasetError, match=r"no LibriSpeech transcripts"):
        load_dataset(f"librispeech:{fsdd}")
