"""Loading the embedded llama.cpp model: what ``LlamaConfig`` asks of llama.cpp reaches it."""

from __future__ import annotations

import llama_cpp
import pytest

from voicelab.providers.local_config import LlamaConfig
from voicelab.providers.local_models import load_llama, new_scoring_llama


@pytest.mark.slow
def test_a_model_loads_without_extra_buffers_and_evaluates_a_batch() -> None:
    llm = load_llama(LlamaConfig())
    assert llm.model_params.use_extra_bufts is False
    tokens = llm.tokenize(b"Where is my order 4521? It has not arrived.")
    llm.reset()
    llm.eval(tokens)  # a batch of many tokens: what crashed with the extra buffers on
    assert llm.n_tokens == len(tokens)


@pytest.mark.slow
def test_extra_buffers_on_request_and_llama_cpp_defaults_left_as_they_were() -> None:
    with_extra = new_scoring_llama(LlamaConfig(extra_buffer_types=True), 256)
    assert with_extra.model_params.use_extra_bufts is True
    assert new_scoring_llama(LlamaConfig(), 256).model_params.use_extra_bufts is False
    # where Llama() reads its defaults (the package's re-export is a separate name)
    assert llama_cpp.llama_cpp.llama_model_default_params().use_extra_bufts is True
