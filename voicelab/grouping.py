"""Grouping a result table by columns or by the turns' tags (speaker, condition, SNR...)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import pandas as pd

from voicelab.errors import ResultsError

GroupKey = tuple[object, ...]


def row_tags(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Each row's tags, decoded from the ``tags`` column's JSON."""
    decoded = []
    for turn_id, blob in zip(frame["turn_id"], frame["tags"], strict=True):
        try:
            tags = json.loads(blob) if isinstance(blob, str) and blob else {}
        except json.JSONDecodeError as e:
            raise ResultsError(f"turn {turn_id}: its tags are not JSON ({e})") from e
        decoded.append(tags if isinstance(tags, dict) else {})
    return decoded


def with_group_columns(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """The frame with a column for each name in ``by`` that is a tag rather than a column."""
    missing = [name for name in by if name not in frame.columns]
    if not missing:
        return frame
    if frame.empty:  # no turn, so no tag to check a name against: no group either
        return frame.assign(**{name: pd.Series(dtype="object") for name in missing})
    if "tags" not in frame.columns:
        raise ResultsError(f"cannot group by {', '.join(missing)}: no such column and no tags")
    tags = row_tags(frame)
    known = sorted({key for row in tags for key in row})
    unknown = [name for name in missing if name not in known]
    if unknown:
        raise ResultsError(
            f"cannot group by {', '.join(unknown)}: neither a column nor a tag of any turn "
            f"(tags: {', '.join(known) or 'none'}; columns are listed in voicelab.SCHEMA)"
        )
    extra = {
        name: pd.Series([row.get(name) for row in tags], index=frame.index, dtype="object")
        for name in missing
    }
    return frame.assign(**extra)


def iter_groups(frame: pd.DataFrame, by: Sequence[str]) -> Iterator[tuple[GroupKey, pd.DataFrame]]:
    """(key, rows) per group of ``by`` (columns or tag names), sorted; a missing tag is a group."""
    if not by:
        raise ResultsError("group by at least one column or tag")
    grouped = with_group_columns(frame, by)
    for key, group in grouped.groupby(list(by), sort=True, dropna=False):
        yield tuple(key) if isinstance(key, tuple) else (key,), group


def group_table(
    records: Sequence[dict[str, object]], by: Sequence[str], columns: Sequence[str]
) -> pd.DataFrame:
    """One record per group as a table indexed by ``by``; with no group (an empty result
    table), an empty table of the same index and ``columns``."""
    if records:
        return pd.DataFrame.from_records(records).set_index(list(by))
    return pd.DataFrame(columns=[*by, *columns]).set_index(list(by))
