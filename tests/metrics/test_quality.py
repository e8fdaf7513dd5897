from __future__ import annotations

import pytest

from voicelab.datasets.types import ExpectedToolCall
from voicelab.metrics.quality import score_quality
from voicelab.turn_result import ToolCall

LOOKUP = ExpectedToolCall(name="lookup_order", arguments={"order_id": "452"})


@pytest.mark.parametrize(
    ("text", "calls", "keywords", "regex", "expected", "answer_ok", "tool_ok", "quality"),
    [
        ("It arrives Friday.", [], ["friday"], None, None, True, None, 1.0),
        ("It arrives Fridays.", [], ["friday"], None, None, False, None, 0.0),
        ("Refund of $49 sent", [], [], r"\$?49", None, True, None, 1.0),
        # the normaliser writes "49 dollars" as "$49": a keyword 49 is still a whole word there
        ("We refunded 49 dollars.", [], ["49"], None, None, True, None, 1.0),
        ("We refunded 49 dollars.", [], ["49 dollars"], None, None, True, None, 1.0),
        ("We refunded 49 euros.", [], ["49 dollars"], None, None, False, None, 0.0),
        ("We refunded 149 dollars.", [], ["49"], None, None, False, None, 0.0),
        ("", [ToolCall(name="lookup_order", arguments={"order_id": "452"})], [], None, LOOKUP,
         None, True, 1.0),
        ("", [ToolCall(name="lookup_order", arguments={"order_id": "four five two"})], [], None,
         LOOKUP, None, True, 1.0),
        ("", [ToolCall(name="lookup_order", arguments={"order_id": "453"})], [], None, LOOKUP,
         None, False, 0.0),
        ("Friday", [ToolCall(name="check_refund", arguments={"order_id": "452"})], ["friday"],
         None, LOOKUP, True, False, 0.5),
        ("anything", [], [], None, None, None, None, None),
    ],
)  # fmt: skip
def test_quality_table(  # type: ignore[no-untyped-def]
    text, calls, keywords, regex, expected, answer_ok, tool_ok, quality
) -> None:
    score = score_quality(text, calls, keywords, regex, expected)
    assert (score.answer_ok, score.tool_call_ok, score.quality) == (answer_ok, tool_ok, quality)
