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


_DIGIT = rf"(?:\d+|\b(?:{'|'.join(_DIGIT_WORDS)})\b)"
_NUMBER_RUN = re.compile(rf"{_DIGIT}(?:[\s,-]+{_DIGIT})*")  # digits and digit words, run together


def spoken_numbers(text: str) -> list[str]:
    """Digit strings said in ``text``, in order, without repeats: each run of digits and digit
    words ("order 109-8", "five five two one", "4 5 2") joined, and each group of digits alone."""
    found: list[str] = []
    for run in _NUMBER_RUN.finditer(text.lower()):
        for value in (digits_only(run.group()), *re.findall(r"\d+", run.group())):
            if value and value not in found:
                found.append(value)
    return found
