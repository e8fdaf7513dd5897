"""Where streamed agent text is cut for speech synthesis: the first clause early, then sentences.

The chained pipeline (as the Agents SDK's ``TTSModelSettings.text_splitter``) and the realtime
cascade of ``voicelab serve`` share this one rule, so both start speaking at the same point:
the first piece goes out at the first sentence end, or at the first comma, semicolon or colon
once at least ``first_clause_min_chars`` characters are waiting; after that, whole sentences.
A cut never drops or repeats text: the pieces and what is left concatenate to the input.
"""

from __future__ import annotations

import re

DEFAULT_FIRST_CLAUSE_MIN_CHARS = 24  # shorter clauses sound clipped when spoken on their own
MAX_UNPUNCTUATED_CHARS = 240  # speak a long run-on text at a word boundary rather than wait

# A punctuation mark (with any closing quote or bracket) is an end only once whitespace follows:
# until the next word arrives, "3." may still become "3.5" and "Mr" may still be "Mr.".
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*(?=\s)")
_CLAUSE_END = re.compile(r"[,;:][\"')\]]*(?=\s)")


def ready_length(buffer: str, *, first: bool, first_clause_min_chars: int) -> int:
    """How many leading characters of ``buffer`` can be spoken now; 0 means wait for more.

    ``first``: nothing of this answer has been spoken yet, so the earliest sentence end or long
    enough clause counts; otherwise every complete sentence goes out together.
    ``first_clause_min_chars`` 0 turns the clause rule off (sentences only).
    """
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(buffer) if buffer[: m.end()].strip()]
    if first and first_clause_min_chars > 0:
        clause_end = next(
            (
                m.end()
                for m in _CLAUSE_END.finditer(buffer)
                if len(buffer[: m.end()].strip()) >= first_clause_min_chars
            ),
            None,
        )
        cuts = [cut for cut in (clause_end, *sentence_ends[:1]) if cut is not None]
        if cuts:
            return min(cuts)
    elif sentence_ends:
        return sentence_ends[-1]
    if len(buffer) > MAX_UNPUNCTUATED_CHARS:
        space = buffer.rstrip().rfind(" ")
        if buffer[: max(space, 0)].strip():
            return space
    return 0


class SpeechSplitter:
    """A stateful splitter for one answer: call it with the text not yet spoken, get back
    ``(ready, rest)``. The signature is the SDK's ``text_splitter``; use a new one per turn."""

    def __init__(self, first_clause_min_chars: int = DEFAULT_FIRST_CLAUSE_MIN_CHARS) -> None:
        if first_clause_min_chars < 0:
            raise ValueError(f"first_clause_min_chars must be >= 0, not {first_clause_min_chars}")
        self.first_clause_min_chars = first_clause_min_chars
        self._started = False

    def __call__(self, buffer: str) -> tuple[str, str]:
        cut = ready_length(
            buffer, first=not self._started, first_clause_min_chars=self.first_clause_min_chars
        )
        if cut == 0:
            return "", buffer
        self._started = True
        return buffer[:cut], buffer[cut:]
