"""The evaluation columns of a row, from made-up evaluations (no model, no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicelab.datasets.types import Turn
from voicelab.errors import ServerSideError
from voicelab.evaluation import JudgeOutcome, TurnEvaluation, Verdict
from voicelab.evaluation.intelligibility import TranscriptOutcome, spoken_language
from voicelab.metrics.cost import load_price_table
from voicelab.scoring import evaluation_fields
from voicelab.turn_result import TurnResult

RESULT = TurnResult(conversation_id="c", turn_index=0, agent_text="It costs forty nine dollars.")


def _turn(language: str | None) -> Turn:
    return Turn(conversation_id="c", turn_index=0, audio=Path("unused.wav"), language=language)


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", 0.0), ("en-US", 0.0), (None, 0.0), ("de", 0.6)],  # "49" vs "forty nine": 3 of 5
)
def test_agent_wer_takes_the_turns_language(language: str | None, expected: float) -> None:
    heard = TurnEvaluation(agent_transcript=TranscriptOutcome("It costs $49."))
    fields = evaluation_fields(_turn(language), RESULT, heard, prices=load_price_table())
    assert fields["agent_wer"] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("language", "code"),
    [(None, "en"), ("en-US", "en"), ("pt_BR", "pt"), (" DE ", "de"), ("English", "en"),
     ("eng", "en")],  # every spelling the WER takes as English is "en" to the STT too
)  # fmt: skip
def test_the_stt_is_told_the_language_code(language: str | None, code: str) -> None:
    assert spoken_language(language) == code


def test_a_judge_error_keeps_its_tokens_and_a_verdict_its_score() -> None:
    prices = load_price_table()
    failed = JudgeOutcome(
        "gpt-4o-mini", "[]", input_tokens=1_000_000, output_tokens=0,
        error=ServerSideError("judge gpt-4o-mini: 500 key sk-abcdefghijkl"),
    )  # fmt: skip
    fields = evaluation_fields(_turn("en"), RESULT, TurnEvaluation(judge=failed), prices=prices)
    assert fields["judge_error_type"] == "ServerSideError"
    assert "sk-abcdefghijkl" not in fields["judge_error"]  # secrets never reach a row
    assert fields["judge_cost_usd"] == pytest.approx(0.15)  # 1M input tokens of gpt-4o-mini
    assert fields["judge_score"] is None and fields["judge_task_done"] is None
    verdict = Verdict(task_done=True, grounded=True, speech_ok=False, rationale="Too long.")
    judged = JudgeOutcome("gpt-4o-mini", "[]", verdict=verdict, input_tokens=10, output_tokens=5)
    fields = evaluation_fields(_turn("en"), RESULT, TurnEvaluation(judge=judged), prices=prices)
    assert fields["judge_score"] == pytest.approx(2 / 3) and fields["judge_error"] is None


@pytest.mark.parametrize(
    ("backend", "basis"),
    [("openai", "prices as of {as_of}"), ("openai-compatible", "prices as of {as_of}"),
     ("local-server", "projection: gpt-4o-mini, prices as of {as_of}"),
     ("synthetic", "projection: gpt-4o-mini, prices as of {as_of}")],
)  # fmt: skip
def test_the_judges_cost_basis_says_whether_it_was_paid(backend: str, basis: str) -> None:
    prices = load_price_table()
    judged = JudgeOutcome("gpt-4o-mini", "[]", input_tokens=1_000_000, output_tokens=0,
                          backend=backend)  # fmt: skip
    fields = evaluation_fields(_turn("en"), RESULT, TurnEvaluation(judge=judged), prices=prices)
    assert fields["judge_cost_basis"] == basis.format(as_of=prices.as_of)
    assert fields["judge_cost_usd"] == pytest.approx(0.15)  # the same figure, labelled
