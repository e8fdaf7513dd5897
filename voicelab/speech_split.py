"""Where streamed agent text is cut for speech synthesis: the first clause early, then sentences.

The chained pipeline (as the Agents SDK's ``TTSModelSettings.text_splitter``) and the realtime
cascade of ``voicelab serve`` share this one rule, so both start speaking at the same point:
the first piece goes out at the first sentence end, or at the first comma, semicolon or colon
once at least ``first_clause_min_chars`` characters are waiting, or (if ``first_words_min_chars``
is set) at the first word boundary once that many characters are waiting, whichever comes
first; after that, whole sentences.
A cut never drops or repeats text: the pieces and what is left concatenate to the input.
"""

from __future__ import annotations

import re

DEFAULT_FIRST_CLAUSE_MIN_CHARS = 24  # shorter clauses sound clipped when spoken on their own
DEFAULT_FIRST_WORDS_MIN_CHARS = 0  # off: a cut mid-phrase is a prosody trade the caller makes
FIRST_WORDS_MIN_CHARS_CHAINED = 12  # chained-local's default: about three words, ~0.8 s spoken
MAX_UNPUNCTUATED_CHARS = 240  # speak a long run-on text at a word boundary rather than wait

# A punctuation mark (with any closing quote or bracket) is an end only once whitespace follows:
# until the next word arrives, "3." may still become "3.5" and "Mr" may still be "Mr.".
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*(?=\s)")
_CLAUSE_END = re.compile(r"[,;:][\"')\]]*(?=\s)")
_WORD_END = re.compile(r"\S(?=\s)")  # a word is complete once whitespace follows it


def ready_length(
    buffer: str, *, first: bool, first_clause_min_chars: int, first_words_min_chars: int = 0
) -> int:
    """How many leading characters of ``buffer`` can be spoken now; 0 means wait for more.

    ``first``: nothing of this answer has been spoken yet, so the earliest sentence end or long
    enough clause counts; otherwise every complete sentence goes out together.
    ``first_clause_min_chars`` 0 turns the clause rule off (sentences only).
    ``first_words_min_chars`` > 0: the first piece may also end at the first complete word
    once that many characters are waiting (no punctuation needed); 0 turns this rule off.
    """
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(buffer) if buffer[: m.end()].strip()]
    if first and (first_clause_min_chars > 0 or first_words_min_chars > 0):
        early = (
            _first_end(_CLAUSE_END, buffer, first_clause_min_chars),
            _first_end(_WORD_END, buffer, first_words_min_chars),
            *sentence_ends[:1],
        )
        cuts = [cut for cut in early if cut is not None]
        if cuts:
            return min(cuts)
    elif sentence_ends:
        return sentence_ends[-1]
    if len(buffer) > MAX_UNPUNCTUATED_CHARS:
        space = buffer.rstrip().rfind(" ")
        if buffer[: max(space, 0)].strip():
            return space
    return 0


def _first_end(pattern: re.Pattern[str], buffer: str, min_chars: int) -> int | None:
    """The end of ``pattern``'s first match after which ``buffer`` holds at least ``min_chars``
    characters (leading whitespace not counted); None if there is none or ``min_chars`` is 0."""
    if min_chars <= 0:
        return None
    return next(
        (m.end() for m in pattern.finditer(buffer) if len(buffer[: m.end()].strip()) >= min_chars),
        None,
    )


class SpeechSplitter:
    """A stateful splitter for one answer: call it with the text not yet spoken, get back
    ``(ready, rest)``. The signature is the SDK's ``text_splitter``; use a new one per turn."""

    def __init__(
        self,
        first_clause_min_chars: int = DEFAULT_FIRST_CLAUSE_MIN_CHARS,
        first_words_min_chars: int = DEFAULT_FIRST_WORDS_MIN_CHARS,
    ) -> None:
        if first_clause_min_chars < 0 or first_words_min_chars < 0:
            raise ValueError(
                "first_clause_min_chars and first_words_min_chars must be >= 0, not "
                f"{first_clause_min_chars} and {first_words_min_chars}"
            )
        self.first_clause_min_chars = first_clause_min_chars
        self.first_words_min_chars = first_words_min_chars
        self._started = False

    def __call__(self, buffer: str) -> tuple[str, str]:
        cut = ready_length(
            buffer,
            first=not self._started,
            first_clause_min_chars=self.first_clause_min_chars,
            first_words_min_chars=self.first_words_min_chars,
        )
        if cut == 0:
            return "", buffer
        self._started = True
        return buffer[:cut], buffer[cut:]
