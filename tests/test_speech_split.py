"""The shared TTS text splitter: first clause early, then sentences, nothing lost or repeated."""

from __future__ import annotations

import re

import pytest

from voicelab.speech_split import MAX_UNPUNCTUATED_CHARS, SpeechSplitter, ready_length

ANSWER = (
    "Your order 4521 shipped on Monday, and it should arrive by Friday. "
    "The tracking number is in your email. Anything else?"
)


def _stream(splitter: SpeechSplitter, deltas: list[str]) -> tuple[list[str], str]:
    """Feed deltas as the SDK does (buffer += delta, then split); the pieces and the rest."""
    pieces: list[str] = []
    buffer = ""
    for delta in deltas:
        ready, buffer = splitter(buffer + delta)
        if ready:
            pieces.append(ready)
    return pieces, buffer


def _token_deltas(text: str) -> list[str]:
    """Word-sized deltas with their leading space, as a chat model streams them."""
    return re.findall(r"\s*\S+", text) + (
        [text[len(text.rstrip()) :]] if text[-1:].isspace() else []
    )


@pytest.mark.parametrize(
    ("buffer", "first", "min_chars", "expected"),
    [
        # first piece: a clause of >= 24 characters at a comma
        (
            "Your order 4521 shipped on Monday, and it",
            True,
            24,
            len("Your order 4521 shipped on Monday,"),
        ),
        # a comma before 24 characters waits; a later comma past 24 is taken
        (
            "Yes, your order shipped on Monday, and",
            True,
            24,
            len("Yes, your order shipped on Monday,"),
        ),
        ("Yes, your order", True, 24, 0),
        # semicolon and colon are clause ends too
        ("Here is what I found about it: your", True, 24, len("Here is what I found about it:")),
        (
            "Your parcel left the depot today; it",
            True,
            24,
            len("Your parcel left the depot today;"),
        ),
        # a short complete sentence goes out at once as the first piece
        ("Sure. Your order", True, 24, len("Sure.")),
        # the earliest of sentence end and long-enough clause wins
        ("Your order shipped on Monday. Then, it", True, 24, len("Your order shipped on Monday.")),
        # no whitespace after the mark yet: the number or abbreviation may go on
        ("It costs 3.", True, 24, 0),
        ("It costs 3.50 dollars in all, which is", True, 24, len("It costs 3.50 dollars in all,")),
        ("That is 1,250 dollars in total", True, 24, 0),
        # after the first piece: whole sentences only, all that are complete
        ("and it arrives Friday, I think", False, 24, 0),
        (
            "It arrives Friday. It is insured! And",
            False,
            24,
            len("It arrives Friday. It is insured!"),
        ),
        # closing quotes and brackets stay with their sentence
        ('He said "yes." Then', False, 24, len('He said "yes."')),
        # 0 turns the clause rule off: the first piece is sentences too
        ("Your order 4521 shipped on Monday, and it", True, 0, 0),
        ("Sure. Your order shipped. And", True, 0, len("Sure. Your order shipped.")),
        # whitespace alone is never a piece
        ("   ", True, 24, 0),
    ],
)
def test_ready_length(buffer: str, first: bool, min_chars: int, expected: int) -> None:
    assert ready_length(buffer, first=first, first_clause_min_chars=min_chars) == expected


def test_first_clause_then_sentences_and_nothing_lost() -> None:
    pieces, rest = _stream(SpeechSplitter(24), _token_deltas(ANSWER))
    assert pieces == [
        "Your order 4521 shipped on Monday,",
        " and it should arrive by Friday.",
        " The tracking number is in your email.",
    ]
    assert rest == " Anything else?"
    assert "".join(pieces) + rest == ANSWER


def test_sentence_mode_waits_for_the_sentence() -> None:
    pieces, rest = _stream(SpeechSplitter(0), _token_deltas(ANSWER))
    assert pieces[0] == "Your order 4521 shipped on Monday, and it should arrive by Friday."
    assert "".join(pieces) + rest == ANSWER


def test_whole_answer_at_once_still_cuts_the_first_clause() -> None:
    ready, rest = SpeechSplitter(24)(ANSWER)
    assert ready == "Your order 4521 shipped on Monday,"
    assert ready + rest == ANSWER


def test_long_unpunctuated_text_is_spoken_at_a_word_boundary() -> None:
    words = " ".join(["word"] * 60)  # 299 characters, no punctuation
    ready, rest = SpeechSplitter(24)(words)
    assert len(ready) <= MAX_UNPUNCTUATED_CHARS + 60
    assert ready.endswith("word") and rest.startswith(" word")
    assert ready + rest == words


@pytest.mark.parametrize(
    "text",
    [
        ANSWER,
        "Hello!  How can I help you today?\nI can look up orders, returns; refunds: anything.",
        "No punctuation at all here",
        "Trailing spaces, kept as they were.   ",
        "A, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p. Done.",
    ],
)
@pytest.mark.parametrize("min_chars", [0, 1, 24, 80])
@pytest.mark.parametrize("words_min_chars", [0, 1, 12])
def test_pieces_concatenate_to_the_text(text: str, min_chars: int, words_min_chars: int) -> None:
    for deltas in (_token_deltas(text), list(text), [text]):
        pieces, rest = _stream(SpeechSplitter(min_chars, words_min_chars), deltas)
        assert "".join(pieces) + rest == text
        assert all(piece.strip() for piece in pieces)


def test_negative_minimum_is_refused() -> None:
    with pytest.raises(ValueError, match="first_clause_min_chars"):
        SpeechSplitter(-1)
    with pytest.raises(ValueError, match="first_words_min_chars"):
        SpeechSplitter(24, -1)


@pytest.mark.parametrize(
    ("buffer", "words_min_chars", "expected"),
    [
        # the first complete word once 12 characters are waiting, no punctuation needed
        ("Your order 4521 shipped", 12, len("Your order 4521")),
        # the word reaching 12 characters is not complete until whitespace follows it
        ("Your order 4521", 12, 0),
        ("Your order", 12, 0),
        # leading whitespace does not count towards the minimum
        ("   Your order 4521 shipped", 12, len("   Your order 4521")),
        # an earlier sentence end or long clause still wins
        ("Sure. Your order 4521 shipped", 12, len("Sure.")),
        ("Yes, your order shipped", 3, len("Yes,")),
        # a number or abbreviation is one word: "3.50" is not cut at its point
        ("It costs 3.50 dollars", 9, len("It costs 3.50")),
        # 0 is off: the clause rule alone
        ("Your order 4521 shipped on Monday, and it", 0, len("Your order 4521 shipped on Monday,")),
    ],
)
def test_first_words_rule(buffer: str, words_min_chars: int, expected: int) -> None:
    cut = ready_length(
        buffer, first=True, first_clause_min_chars=24, first_words_min_chars=words_min_chars
    )
    assert cut == expected


def test_first_words_then_sentences_and_nothing_lost() -> None:
    pieces, rest = _stream(SpeechSplitter(24, 12), _token_deltas(ANSWER))
    assert pieces == [
        "Your order 4521",
        " shipped on Monday, and it should arrive by Friday.",
        " The tracking number is in your email.",
    ]
    assert "".join(pieces) + rest == ANSWER


def test_first_words_rule_alone_with_sentences_after() -> None:
    pieces, _rest = _stream(SpeechSplitter(0, 12), _token_deltas(ANSWER))
    assert pieces[:2] == ["Your order 4521", " shipped on Monday, and it should arrive by Friday."]


def test_first_words_rule_only_for_the_first_piece() -> None:
    assert ready_length(
        "and it arrives on Friday I think", first=False, first_clause_min_chars=24,
        first_words_min_chars=12,
    ) == 0  # fmt: skip
