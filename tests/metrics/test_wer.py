from __future__ import annotations

import pytest

from voicelab.metrics.wer import (
    error_rates,
    normalize_basic,
    normalize_english,
    normalize_text,
    normalizer_for,
    turn_wer,
)


@pytest.mark.parametrize(
    ("reference", "hypothesis", "expected_wer"),
    [
        ("four five two", "452", 0.0),
        ("Order number four five two, please.", "order number 452 please", 0.0),
        ("It's ten o'clock", "it is 10 o'clock", 0.0),
        ("Hello World!", "hello world", 0.0),
        ("the cat sat", "the cat sat down", 1 / 3),  # one insertion over three words
        ("the cat sat", "the dog sat", 1 / 3),  # one substitution
        ("the cat sat on the mat", "the cat on mat", 2 / 6),  # two deletions
        ("yes", "", 1.0),
    ],
)
def test_turn_wer(reference: str, hypothesis: str, expected_wer: float) -> None:
    assert turn_wer(reference, hypothesis) == pytest.approx(expected_wer)


def test_corpus_wer_weights_by_reference_words() -> None:
    rates = error_rates(["a b c d", "e f"], ["a b c d", "e x"])
    assert rates.wer == pytest.approx(1 / 6)
    assert (rates.substitutions, rates.deletions, rates.insertions) == (1, 0, 0)
    assert rates.reference_words == 6


def test_empty_references_are_skipped_and_none_means_unscored() -> None:
    assert error_rates(["", "one"], ["noise", "one"]).wer == 0.0
    assert turn_wer(None, "anything") is None
    assert turn_wer("  ?!  ", "anything") is None
    with pytest.raises(ValueError, match="no non-empty reference"):
        error_rates([""], ["x"])


def test_normaliser_handles_case_punctuation_numbers() -> None:
    assert normalize_english("Two hundred and five Dollars!") == "$205"


@pytest.mark.parametrize(
    ("reference", "hypothesis", "language", "expected_wer"),
    [
        # English (and unknown) references: numbers and contractions are normalised away
        ("It's twenty five", "it is 25", "en", 0.0),
        ("It's twenty five", "it is 25", "en-GB", 0.0),
        ("It's twenty five", "it is 25", None, 0.0),
        # any other language: Whisper's basic normaliser, no number or contraction rules
        ("Il a vingt-cinq ans.", "il a 25 ans", "fr", 2 / 5),  # vingt cinq -> 25: 1 sub + 1 del
        ("Il a vingt-cinq ans.", "IL A VINGT CINQ ANS!", "fr", 0.0),  # case, hyphen, punctuation
        ("C'est l'été", "c est l été", "fr", 0.0),  # apostrophes split, accents kept
        ("C'est l'été", "c est l ete", "fr", 1 / 4),  # ... so a lost accent is an error
        ("It's twenty five", "it is 25", "de", 3 / 4),  # 'it s twenty five' vs 'it is 25'
    ],
)
def test_the_language_chooses_the_normaliser(
    reference: str, hypothesis: str, language: str | None, expected_wer: float
) -> None:
    assert turn_wer(reference, hypothesis, language) == pytest.approx(expected_wer)


def test_normalize_text_by_language() -> None:
    assert normalize_text("Twenty-five, Mr. Smith!", "en") == "25 mister smith"
    assert normalize_text("Twenty-five, Mr. Smith!", "es") == "twenty five mr smith"
    assert normalizer_for("pt-BR") is normalize_basic
    assert normalizer_for("EN_us") is normalize_english
