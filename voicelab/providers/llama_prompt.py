"""A llama.cpp model's chat template, rendered to prompt tokens the engine controls.

Rendering here rather than inside ``create_chat_completion`` lets the engine append a call's
fixed opening to the prompt, and count how much of it the model's KV cache already holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from voicelab._imports import require
from voicelab.errors import ModelError


class ChatTemplate:
    """Renders chat messages to prompt tokens with the GGUF's own ``tokenizer.chat_template``."""

    def __init__(self, llm: Any, model_path: str) -> None:
        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelError(
                f"GGUF model {model_path} has no chat template (tokenizer.chat_template); "
                "use a chat (instruct) model"
            )
        chat_format = require("llama_cpp.llama_chat_format")
        eos, bos = llm.token_eos(), llm.token_bos()
        self._llm = llm
        self._formatter = chat_format.Jinja2ChatFormatter(
            template=template,
            eos_token=self._token_text(eos),
            bos_token=self._token_text(bos),
        )

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return bytes(self._llm.detokenize([token], special=True)).decode("utf-8", "replace")

    def tokens(self, messages: Sequence[dict[str, str]], opening: str = "") -> list[int]:
        """Prompt tokens of ``messages`` with the generation prompt, then ``opening`` (text the
        reply must start with)."""
        text = self._formatter(messages=list(messages)).prompt + opening
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens ``a`` and ``b`` share."""
    count = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        count += 1
    return count


def cached_prefix(llm: Any, tokens: Sequence[int]) -> int:
    """How many leading ``tokens`` the model's context already holds (llama.cpp reuses them
    instead of evaluating them again)."""
    return common_prefix(llm.input_ids[: llm.n_tokens], tokens)


@dataclass
class BatchEvaluated:
    """The latest prompt a model evaluated in batches of two tokens or more.

    llama.cpp computes a single-token step (each decoded token) on another kernel path than a
    batch: the cache entries differ slightly (logits moved by up to 0.8 here), enough to flip a
    near-tie at temperature 0. Reusing only batch-evaluated entries keeps every answer the same
    as a fresh evaluation of the same prompt would give.
    """

    tokens: list[int] = field(default_factory=list)


@lru_cache(maxsize=16)
def batch_evaluated(model_id: int) -> BatchEvaluated:
    """The record of the loaded model ``model_id`` (one per model, like its lock)."""
    return BatchEvaluated()


def reuse_batch_evaluated_only(llm: Any, tokens: Sequence[int]) -> int:
    """Forget cached entries of ``tokens`` that were not evaluated in a batch, and leave at least
    two tokens to evaluate (a one-token rest would take the single-token path); returns how
    many leading tokens stay cached. Records ``tokens`` as what the model evaluates next."""
    record = batch_evaluated(id(llm))
    keep = min(cached_prefix(llm, tokens), common_prefix(record.tokens, tokens), len(tokens) - 2)
    keep = max(keep, 0)
    if keep < llm.n_tokens:
        llm.n_tokens = keep  # llama.cpp drops the cache entries past it before evaluating
    record.tokens = list(tokens)
    return keep
