"""Every row matches the result schema exactly: an unknown or a missing column is an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicelab.errors import ResultsError
from voicelab.results import COLUMN_NAMES, SCHEMA, check_row, to_frame
from voicelab.run_folder import RunFolder


def _row() -> dict[str, object]:
    return dict.fromkeys(COLUMN_NAMES) | {"turn_id": "c#0", "turn_index": 0, "wer": 0.25}


def test_a_complete_row_becomes_the_typed_table() -> None:
    frame = to_frame([_row()])
    assert list(frame.columns) == list(COLUMN_NAMES)
    assert [str(t) for t in frame.dtypes] == [c.dtype for c in SCHEMA]
    assert frame.loc[0, "wer"] == 0.25
    assert list(to_frame([]).columns) == list(COLUMN_NAMES)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r | {"wer_typo": 0.1}, r"c#0: .*unknown column\(s\) wer_typo"),
        (lambda r: {k: v for k, v in r.items() if k != "stt_s"}, r"missing column\(s\) stt_s"),
    ],
)
def test_an_unknown_or_missing_column_is_refused(change, message: str) -> None:  # type: ignore[no-untyped-def]
    bad = change(_row())
    with pytest.raises(ResultsError, match=message):
        check_row(bad, "c#0")
    with pytest.raises(ResultsError, match=message.split(": ")[-1]):
        to_frame([bad])


def test_the_run_folder_refuses_a_row_off_the_schema(tmp_path: Path) -> None:
    folder = RunFolder.open(tmp_path)
    folder.append(_row())
    before = (tmp_path / "rows.jsonl").read_bytes()
    with pytest.raises(ResultsError, match=r"rows.jsonl: row of c#0: .*unknown column\(s\) extra"):
        folder.append(_row() | {"extra": 1})
    assert (tmp_path / "rows.jsonl").read_bytes() == before


def test_a_value_of_the_wrong_type_names_its_column() -> None:
    with pytest.raises(ResultsError, match="column wer is not Float64"):
        to_frame([_row() | {"wer": "high"}])
