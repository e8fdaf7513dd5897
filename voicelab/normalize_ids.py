"""Identifiers as people say them: "four five two" and "452" name the same order."""

from __future__ import annotations

import re

_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip


def digits_only(spoken: str) -> str:
    """Digits of an identifier, reading digit words one by one and dropping everything else."""
    out = []
    for token in re.findall(r"[a-z]+|\d", spoken.lower()):
        out.append(_DIGIT_WORDS.get(token, token if token.isdigit() else ""))
    return "".join(out)
