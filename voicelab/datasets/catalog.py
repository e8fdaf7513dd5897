"""Finding datasets under folders and summarising them (``voicelab datasets list/show``)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from voicelab.datasets.formats import detect_format, load_dataset
from voicelab.datasets.huggingface import hf_splits
from voicelab.datasets.types import Dataset, Turn
from voicelab.errors import DatasetError

DATA_ENV = "VOICELAB_DATA"
"""Environment variable naming more folders to look for datasets in (``os.pathsep``-separated)."""
DEFAULT_ROOT = Path("data")
UNKNOWN_LANGUAGE = "?"
_MAX_DEPTH = 2  # data/<dataset> and data/<corpus>/<split>: deeper folders are parts of a dataset


@dataclass(frozen=True)
class DatasetSummary:
    """What ``datasets list`` says about one dataset (or why it cannot be read)."""

    source: str
    """The dataset's path, or ``hf:PATH:SPLIT`` for one split of a Hugging Face dataset."""
    format: str
    conversations: int = 0
    turns: int = 0
    languages: tuple[str, ...] = ()
    error: str | None = None
    """Why the dataset could not be loaded; the counts are 0 then."""


def default_roots(data_env: str | None) -> list[Path]:
    """``./data``, then the folders of ``$VOICELAB_DATA`` (its value given by the caller)."""
    extra = [Path(p) for p in (data_env or "").split(os.pathsep) if p]
    return [DEFAULT_ROOT, *extra]


def find_datasets(roots: Iterable[Path], required: bool = True) -> Iterator[tuple[str, str]]:
    """(source, format) of every dataset at or below each root, without looking inside one.

    A Hugging Face dataset with several splits gives one ``hf:PATH:SPLIT`` source per split.
    """
    for root in roots:
        if not root.exists():
            if required:
                raise DatasetError(f"{root}: folder not found")
            continue
        yield from _walk(root, _MAX_DEPTH)


def _walk(folder: Path, depth: int) -> Iterator[tuple[str, str]]:
    found = detect_format(folder)
    if found is not None:
        yield from _sources(folder, found.name)
        return
    if depth == 0 or not folder.is_dir():
        return
    for child in sorted(folder.iterdir()):
        if child.is_dir() and not child.name.startswith("."):
            yield from _walk(child, depth - 1)


def _sources(path: Path, format_name: str) -> Iterator[tuple[str, str]]:
    splits = _splits(path) if format_name == "hf" else []
    if len(splits) > 1:
        for split in splits:
            yield f"hf:{path}:{split}", format_name
    else:
        yield str(path), format_name


def _splits(path: Path) -> list[str]:
    try:
        return hf_splits(path)
    except DatasetError:  # summarize_dataset reports it when it loads the dataset
        return []


def languages(dataset: Dataset) -> tuple[str, ...]:
    """The dataset's languages, sorted; ``?`` for turns that do not say."""
    return tuple(sorted({t.language or UNKNOWN_LANGUAGE for c in dataset for t in c.turns}))


def summarize_dataset(source: str, format_name: str) -> DatasetSummary:
    """Counts and languages of one dataset; a dataset that fails to load says why."""
    try:
        dataset = load_dataset(source, format=format_name)
    except DatasetError as e:
        return DatasetSummary(source, format_name, error=str(e))
    return DatasetSummary(
        source, format_name, len(dataset.conversations), dataset.num_turns, languages(dataset)
    )


def format_summaries(summaries: Iterable[DatasetSummary]) -> str:
    """The summaries as an aligned text table."""
    header = ("dataset", "format", "conversations", "turns", "languages")
    rows = [
        (s.source, s.format, str(s.conversations), str(s.turns), ",".join(s.languages))
        if s.error is None
        else (s.source, s.format, "-", "-", f"error: {s.error}")
        for s in summaries
    ]
    if not rows:
        return "no datasets found"
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]])
        for row in (header, *rows)
    )


def describe_turn(turn: Turn, width: int = 60) -> str:
    """One short line: id, language, expected tool, tags and the reference transcript."""
    tool = turn.expected_tool_call.name if turn.expected_tool_call else "-"
    tags = " ".join(f"{k}={v}" for k, v in turn.tags.items()) or "-"
    reference = turn.reference_text or ""
    if len(reference) > width:
        reference = reference[: width - 3] + "..."
    language = turn.language or UNKNOWN_LANGUAGE
    return f"{turn.turn_id:<24} {language:<5} tool={tool:<16} {tags}  | {reference}"
