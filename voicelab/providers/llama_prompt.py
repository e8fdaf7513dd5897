"""A llama.cpp model's chat template, rendered to prompt tokens the engine controls.

Rendering here rather than inside ``create_chat_completion`` lets the engine append a call's
fixed opening to the prompt, and count how much of it the model's KV cache already holds.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def cached_prefix(llm: Any, tokens: Sequence[int]) -> int:
    """How many leading ``tokens`` the model's context already holds (llama.cpp reuses them
    instead of evaluating them again)."""
    held = llm.input_ids[: llm.n_tokens]
    count = 0
    for have, want in zip(held, tokens, strict=False):
        if have != want:
            break
        count += 1
    return count
