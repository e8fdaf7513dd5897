"""Identifiers as people say them."""

from __future__ import annotations

import pytest

from voicelab.normalize_ids import digits_only, spoken_numbers


@pytest.mark.parametrize(
    ("spoken", "digits"),
    [("four five two", "452"), ("order 109-8", "1098"), ("oh seven", "07"), ("no number", "")],
)
def test_digits_only(spoken: str, digits: str) -> None:
    assert digits_only(spoken) == digits


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("My desk lamp, order 109-8, has not arrived yet.", ["1098", "109", "8"]),
        ("where is my order four five two?", ["452"]),
        ("And when will order 5 5 2 1 arrive?", ["5521", "5", "2", "1"]),
        ("I sent back Order 713. Has my refund gone through?", ["713"]),
        ("Thanks, bye!", []),
        ("Someone said 12 and 12 again", ["12"]),
    ],
)
def test_spoken_numbers(text: str, numbers: list[str]) -> None:
    assert spoken_numbers(text) == numbers
