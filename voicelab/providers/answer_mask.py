"""The answer-only constraint as a token mask: the same rule as ``ANSWER_ONLY_GRAMMAR``, at a
fraction of its cost.

A llama.cpp grammar checks every one of the vocabulary's tokens at every decoding step (for
SmolLM2's 49k tokens, measured at about 40% of a decoded token's time); a character-class rule
needs no state, so the tokens it forbids can be listed once and masked with one array write.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from voicelab._imports import require
from voicelab.providers.tool_grammar import ANSWER_FORBIDDEN_CHARS


@lru_cache(maxsize=4)
def forbidden_tokens(llm: Any) -> npt.NDArray[np.intc]:
    """Tokens an answer may not contain: any with a forbidden character, or with no text
    (special tokens other than end-of-generation)."""
    eos = llm.token_eos()
    forbidden = ANSWER_FORBIDDEN_CHARS.encode()
    banned = []
    for token in range(llm.n_vocab()):
        piece = bytes(llm.detokenize([token], special=True))
        if token != eos and (not piece or any(c in piece for c in forbidden)):
            banned.append(token)
    return np.array(banned, dtype=np.intc)


def answer_only_processor(llm: Any, prompt_tokens: int) -> Any:
    """A ``LogitsProcessorList`` that keeps an answer to one line without ``<``, and non-empty
    (no end-of-generation before its first token), as the grammar does."""
    llama_cpp = require("llama_cpp")
    banned = forbidden_tokens(llm)
    eos = llm.token_eos()

    def mask(input_ids: npt.NDArray[np.intc], scores: npt.NDArray[np.single]) -> Any:
        scores[banned] = -np.inf
        if len(input_ids) <= prompt_tokens:
            scores[eos] = -np.inf
        return scores

    return llama_cpp.LogitsProcessorList([mask])
