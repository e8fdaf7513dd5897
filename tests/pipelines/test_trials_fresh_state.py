"""Each trial of a conversation starts from fresh state on both architectures (synthetic)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from voicelab.datasets import load_dataset
from voicelab.pipelines.chained.config import ChainedOpenAIConfig
from voicelab.pipelines.realtime.config import RealtimeConfig
from voicelab.registry import build_pipeline
from voicelab.runner import RunOptions, run_dataset
from voicelab.server.runner import LocalServer
from voicelab.server.state import ServerConfig


@pytest.fixture(scope="module")
def synthetic() -> Iterator[LocalServer]:
    with LocalServer(ServerConfig(port=0, backend="synthetic")) as running:
        yield running


@pytest.mark.parametrize(
    ("name", "config_class", "history_column"),
    [
        ("chained-openai", ChainedOpenAIConfig, "llm_input_tokens"),  # the agent's history
        ("realtime", RealtimeConfig, "input_audio_tokens"),  # the session's conversation
    ],
)
async def test_every_trial_starts_a_fresh_conversation(
    synthetic: LocalServer, demo_data: Path, tmp_path: Path, name: str, config_class: Any,
    history_column: str,
) -> None:  # fmt: skip
    pipeline = build_pipeline(name, config=config_class(base_url=synthetic.base_url))
    dataset = load_dataset(demo_data).head(2)  # one conversation of two turns
    frame = await run_dataset(pipeline, dataset, tmp_path, options=RunOptions(repeat=3))
    assert frame["error"].isna().all(), frame["error"].dropna().tolist()
    tokens = frame.pivot(index="trial", columns="turn_index", values=history_column)
    assert tokens.shape == (3, 2)
    # the second turn carries the first in its context; a trial that inherited the previous
    # trial's conversation would start with more context than trial 0 did
    assert (tokens[1] > tokens[0]).all()
    assert tokens[0].nunique() == 1 and tokens[1].nunique() == 1
