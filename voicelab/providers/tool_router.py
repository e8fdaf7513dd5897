"""Which tool a required call uses, chosen by how well each tool's description explains what the
user said (a "noisy channel" score: log P(user's words | tool description), Min et al. 2022).

A 135M model asked to write a tool's name picks by its prior over the names' first tokens (it
wrote ``check_refund`` for almost any sentence holding an order number); scored the other way
round, the same model tells the tools apart from their descriptions. The scores come from a
second llama.cpp context over the same weights file, so the chat context's KV cache (the
conversation's prefix) stays as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

CHANNEL_PROMPT = "Tool: {description}\nA user message this tool answers: "
"""What each tool's score is conditioned on; the user's words follow it."""
ROUTER_N_CTX = 256
"""Tokens the scoring context holds: a description and a spoken sentence fit many times."""
MAX_CACHED_DESCRIPTIONS = 8
"""Descriptions kept evaluated, each in a context of its own (a few MB of KV cache and a
logits buffer each); more tools share one context and evaluate their description each time."""


def tool_description(tool: Mapping[str, Any]) -> str:
    """A tool's description, or its name in words if it has none."""
    fn = tool["function"]
    text = str(fn.get("description") or "").strip()
    return text or str(fn["name"]).replace("_", " ")


def _log_softmax(rows: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    rows = rows.astype(np.float64)
    rows -= rows.max(axis=1, keepdims=True)
    out: np.ndarray[Any, Any] = rows - np.log(np.exp(rows).sum(axis=1, keepdims=True))
    return out


class ChannelToolRouter:
    """Scores tools against the user's words with llama.cpp contexts that keep every position's
    logits (``logits_all``), one batch per tool; ``new_context`` makes one."""

    def __init__(
        self,
        new_context: Callable[[], Any],
        cache_descriptions: bool = True,
        set_prefill_threads: Callable[[Any], object] | None = None,
    ) -> None:
        self._new_context = new_context
        self._set_prefill_threads = set_prefill_threads
        """Called with a context before it evaluates the user's words (a prompt batch)."""
        self._shared = new_context()
        self._cache_descriptions = cache_descriptions
        self._contexts: dict[str, Any] = {}
        """Description -> a context of its own that keeps the description evaluated, so a
        turn evaluates only the user's words after it."""

    def _tokens(self, text: str) -> list[int]:
        return list(self._shared.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _context(self, description: str) -> Any:
        if not self._cache_descriptions:
            return self._shared
        if description not in self._contexts:
            if len(self._contexts) >= MAX_CACHED_DESCRIPTIONS:
                return self._shared
            self._contexts[description] = self._new_context()
        return self._contexts[description]

    def score(self, description: str, said: str) -> float:
        """log P(``said`` | ``description``) under the model."""
        prefix = self._tokens(CHANNEL_PROMPT.format(description=description))[: ROUTER_N_CTX // 2]
        words = self._tokens(said)[-(ROUTER_N_CTX - len(prefix) - 1) :]
        if not words:
            return 0.0
        llm = self._context(description)
        if self._set_prefill_threads is not None:
            self._set_prefill_threads(llm)
        held = llm.n_tokens >= len(prefix) and list(llm.input_ids[: len(prefix)]) == prefix
        if held:
            llm.n_tokens = len(prefix)  # the description's entries (and its logits) stay
            llm.eval(words)
        else:
            llm.reset()
            llm.eval(prefix + words)
        rows = _log_softmax(llm.scores[len(prefix) - 1 : len(prefix) + len(words) - 1])
        return float(rows[np.arange(len(words)), words].sum())

    def choose(self, tools: Sequence[Mapping[str, Any]], said: str) -> Mapping[str, Any]:
        """The tool whose description makes ``said`` most likely (the first of equals)."""
        if len(tools) == 1 or not said.strip():
            return tools[0]
        scores = [self.score(tool_description(t), said) for t in tools]
        return tools[int(np.argmax(scores))]
