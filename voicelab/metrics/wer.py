"""Word and character error rates via jiwer, after Whisper's text normalisers.

An English reference (language ``en``, ``en-US``...) is normalised with Whisper's English
normaliser (numbers, contractions, spellings); a reference in any other language with Whisper's
basic normaliser (case, punctuation, diacritics kept), as the Open ASR Leaderboard scores its
multilingual sets. A reference of unknown language (``None``) is taken as English: every dataset
voicelab shipped before the language column was English.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import jiwer
from whisper_normalizer.basic import BasicTextNormalizer
from whisper_normalizer.english import EnglishTextNormalizer


@dataclass(frozen=True)
class ErrorRates:
    """Corpus-level error rates and the edit counts behind the WER."""

    wer: float
    cer: float
    substitutions: int
    deletions: int
    insertions: int
    reference_words: int


@lru_cache(maxsize=1)
def _english() -> EnglishTextNormalizer:
    return EnglishTextNormalizer()


@lru_cache(maxsize=1)
def _basic() -> BasicTextNormalizer:
    return BasicTextNormalizer()


def is_english(language: str | None) -> bool:
    """Whether a language code (ISO 639, optionally with a region) is English; None counts."""
    return language is None or language.strip().lower().replace("_", "-").split("-")[0] in (
        "en",
        "eng",
        "english",
        "",
    )


def normalize_english(text: str) -> str:
    """Whisper's English normaliser: case, punctuation, contractions, spelled-out numbers."""
    return " ".join(_english()(text).split())


def normalize_basic(text: str) -> str:
    """Whisper's basic normaliser (any language): case, punctuation and symbols only."""
    return " ".join(_basic()(text).split())


def normalizer_for(language: str | None) -> Callable[[str], str]:
    """The normaliser a reference in ``language`` is scored with."""
    return normalize_english if is_english(language) else normalize_basic


def normalize_text(text: str, language: str | None = None) -> str:
    """``text`` normalised as a reference in ``language`` would be."""
    return normalizer_for(language)(text)


def error_rates(
    references: Sequence[str], hypotheses: Sequence[str], language: str | None = None
) -> ErrorRates:
    """Corpus WER/CER over pairs normalised for ``language``; empty references are skipped."""
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    normalize = normalizer_for(language)
    normalised = zip(map(normalize, references), map(normalize, hypotheses), strict=True)
    pairs = [(r, h) for r, h in normalised if r]
    if not pairs:
        raise ValueError("no non-empty reference after normalisation")
    refs = [r for r, _ in pairs]
    hyps = [h for _, h in pairs]
    words = jiwer.process_words(refs, hyps)
    chars = jiwer.process_characters(refs, hyps)
    return ErrorRates(
        wer=float(words.wer),
        cer=float(chars.cer),
        substitutions=words.substitutions,
        deletions=words.deletions,
        insertions=words.insertions,
        reference_words=words.hits + words.substitutions + words.deletions,
    )


def turn_wer(
    reference: str | None, hypothesis: str | None, language: str | None = None
) -> float | None:
    """WER of one turn, or None when there is no usable reference."""
    if reference is None or not normalize_text(reference, language):
        return None
    return error_rates([reference], [hypothesis or ""], language).wer
