"""Task quality: did the agent say what was expected and call the expected tool?"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from voicelab.datasets.types import ExpectedToolCall
from voicelab.metrics.wer import normalize_english
from voicelab.turn_result import ToolCall


@dataclass(frozen=True)
class QualityScore:
    """Each check is None when the turn has no expectation of that kind."""

    answer_ok: bool | None
    tool_call_ok: bool | None

    @property
    def quality(self) -> float | None:
        """Fraction of the applicable checks that passed."""
        checks = [c for c in (self.answer_ok, self.tool_call_ok) if c is not None]
        return sum(checks) / len(checks) if checks else None


_SYMBOLS = re.compile(r"([$£€¥%])")


def _words(text: str) -> str:
    """``text`` normalised, with the symbols the normaliser writes ("49 dollars" -> "$49")
    as words of their own, padded with spaces for whole-word matching."""
    spaced = _SYMBOLS.sub(r" \1 ", normalize_english(text))
    return f" {' '.join(spaced.split())} "


def answer_matches(agent_text: str, keywords: Sequence[str], regex: str | None) -> bool | None:
    """All keywords (normalised, as whole words) and the regex (case-insensitive) are found."""
    if not keywords and regex is None:
        return None
    said = _words(agent_text)
    keywords_ok = all(_words(k) in said for k in keywords)
    regex_ok = regex is None or re.search(regex, agent_text, flags=re.IGNORECASE) is not None
    return keywords_ok and regex_ok


def _same_value(expected: Any, actual: Any) -> bool:
    if isinstance(expected, str) or isinstance(actual, str):
        return normalize_english(str(expected)) == normalize_english(str(actual))
    return bool(expected == actual)


def arguments_match(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> bool:
    """Every expected argument is present with an equal value (strings compared normalised)."""
    return all(k in actual and _same_value(v, actual[k]) for k, v in expected.items())


def tool_call_matches(expected: ExpectedToolCall | None, calls: Sequence[ToolCall]) -> bool | None:
    """Some call has the expected name and matching arguments; None if nothing was expected."""
    if expected is None:
        return None
    return any(
        c.name == expected.name and arguments_match(expected.arguments, c.arguments) for c in calls
    )


def score_quality(
    agent_text: str,
    tool_calls: Sequence[ToolCall],
    keywords: Sequence[str] = (),
    regex: str | None = None,
    expected_tool_call: ExpectedToolCall | None = None,
) -> QualityScore:
    """Both quality checks for one turn."""
    return QualityScore(
        answer_ok=answer_matches(agent_text, keywords, regex),
        tool_call_ok=tool_call_matches(expected_tool_call, tool_calls),
    )
