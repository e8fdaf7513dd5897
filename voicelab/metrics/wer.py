"""Word and character error rates via jiwer, after Whisper's English text normaliser."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import jiwer
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
def _normalizer() -> EnglishTextNormalizer:
    return EnglishTextNormalizer()


def normalize_english(text: str) -> str:
    """Whisper's English normaliser: case, punctuation, contractions, spelled-out numbers."""
    return " ".join(_normalizer()(text).split())


def error_rates(references: Sequence[str], hypotheses: Sequence[str]) -> ErrorRates:
    """Corpus WER/CER over normalised pairs; empty references are skipped."""
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    normalised = zip(
        map(normalize_english, references), map(normalize_english, hypotheses), strict=True
    )
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


def turn_wer(reference: str | None, hypothesis: str | None) -> float | None:
    """WER of one turn, or None when there is no usable reference."""
    if reference is None or not normalize_english(reference):
        return None
    return error_rates([reference], [hypothesis or ""]).wer
