"""The dataset formats voicelab reads, detected from one table, and ``load_dataset`` over them.

A dataset is named by a path, whose format is detected (the first row of ``FORMATS`` whose test
holds), or by ``FORMAT:PATH`` to say the format (``librispeech:corpus/dev-clean``,
``manifest:turns.csv``). Hugging Face datasets take a split after a second colon
(``hf:PATH[:SPLIT]``); PATH may also be a dataset name in the local Hugging Face cache
(``hf:openslr/librispeech_asr:validation``), which no path can be detected as.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from voicelab.datasets.huggingface import hf_kind, load_hf_dataset
from voicelab.datasets.librispeech import is_librispeech, load_librispeech
from voicelab.datasets.loaders import AUDIO_SUFFIXES, MANIFEST_NAMES, load_folder, load_manifest
from voicelab.datasets.types import Dataset
from voicelab.errors import DatasetError

MANIFEST_SUFFIXES = (".csv", ".jsonl", ".ndjson")


@dataclass(frozen=True)
class DatasetFormat:
    """One format: its name (the ``FORMAT:`` prefix), how to recognise a path, how to load it."""

    name: str
    description: str
    detect: Callable[[Path], bool]
    load: Callable[[str, str | None, str | None], Dataset]
    """(source, dataset name or None, split or None) -> the dataset."""


def _is_manifest(path: Path) -> bool:
    if path.is_file():
        return path.suffix in MANIFEST_SUFFIXES
    return any((path / manifest).is_file() for manifest in MANIFEST_NAMES)


def _load_manifest(source: str, name: str | None, split: str | None) -> Dataset:
    path = Path(source)
    if path.is_dir():
        manifest = next(path / m for m in MANIFEST_NAMES if (path / m).is_file())
        return load_manifest(manifest, name=name or path.name)
    return load_manifest(path, name=name)


def _is_audio_folder(path: Path) -> bool:
    return path.is_dir() and any(p.suffix.lower() in AUDIO_SUFFIXES for p in path.iterdir())


FORMATS: tuple[DatasetFormat, ...] = (
    DatasetFormat(
        "manifest", "CSV/JSONL manifest, or a folder holding manifest.jsonl/.csv",
        _is_manifest, _load_manifest,
    ),
    DatasetFormat(
        "hf", "Hugging Face dataset: save_to_disk folder, audiofolder, or cached name",
        lambda p: hf_kind(p) is not None,
        lambda source, name, split: load_hf_dataset(source, split=split, name=name),
    ),
    DatasetFormat(
        "librispeech", "LibriSpeech layout: <speaker>/<chapter>/*.trans.txt beside FLAC",
        is_librispeech, lambda source, name, split: load_librispeech(source, name=name),
    ),
    DatasetFormat(
        "folder", "audio files with sidecar .txt transcripts",
        _is_audio_folder, lambda source, name, split: load_folder(source, name=name),
    ),
)  # fmt: skip
_BY_NAME = {f.name: f for f in FORMATS}
_SPLIT_FORMATS = ("hf",)


def detect_format(path: str | Path) -> DatasetFormat | None:
    """The first format whose test the path passes, or None."""
    path = Path(path)
    return next((f for f in FORMATS if path.exists() and f.detect(path)), None)


def parse_spec(spec: str | Path) -> tuple[str | None, str, str | None]:
    """``[FORMAT:]PATH[:SPLIT]`` as (format or None, path, split or None); a path is kept whole."""
    text = str(spec)
    prefix, sep, rest = text.partition(":")
    if isinstance(spec, Path) or not sep or prefix not in _BY_NAME or Path(text).exists():
        return None, text, None
    if prefix in _SPLIT_FORMATS and ":" in rest and not Path(rest).exists():
        source, _, split = rest.rpartition(":")
        return prefix, source, split or None
    return prefix, rest, None


def resolve_spec(spec: str, base: Path | None = None) -> str:
    """The spec with a relative local path made absolute (from ``base``, else the cwd)."""
    format_name, source, split = parse_spec(spec)
    path = Path(source) if Path(source).is_absolute() else (base or Path.cwd()) / source
    if format_name is None or path.exists():
        source = str(path.resolve())
    if format_name is None:
        return source
    return f"{format_name}:{source}" + (f":{split}" if split else "")


def load_dataset(
    path: str | Path,
    name: str | None = None,
    *,
    format: str | None = None,
    split: str | None = None,
) -> Dataset:
    """Load a dataset of any format in ``FORMATS``: detected, or given as ``format`` / a prefix."""
    spec_format, source, spec_split = parse_spec(path)
    format_name = format or spec_format
    split = split or spec_split
    if format_name is None:
        if not Path(source).exists():
            raise DatasetError(f"{source}: dataset not found")
        chosen = (
            detect_format(source) or _BY_NAME["folder" if Path(source).is_dir() else "manifest"]
        )
    elif format_name in _BY_NAME:
        chosen = _BY_NAME[format_name]
    else:
        raise DatasetError(
            f"{path}: unknown dataset format {format_name!r}; formats: {', '.join(_BY_NAME)}"
        )
    if split is not None and chosen.name not in _SPLIT_FORMATS:
        raise DatasetError(f"{path}: a split applies to {', '.join(_SPLIT_FORMATS)} datasets only")
    if chosen.name not in _SPLIT_FORMATS and not Path(source).exists():
        raise DatasetError(f"{source}: dataset not found")
    return chosen.load(source, name, split)
