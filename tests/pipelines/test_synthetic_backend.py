"""Both architectures against ``voicelab serve --backend synthetic``: rows say so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from voicelab.datasets import load_dataset
from voicelab.pipelines.chained.config import ChainedOpenAIConfig
from voicelab.pipelines.realtime.config import RealtimeConfig
from voicelab.registry import build_pipeline
from voicelab.runner import run_dataset
from voicelab.server.runner import LocalServer
from voicelab.server.state import ServerConfig
from voicelab.server.synthetic.audio import SYNTHETIC_TRANSCRIPT, TONE_S
from voicelab.server.synthetic.chat import SYNTHETIC_ANSWER


@pytest.fixture(scope="module")
def synthetic() -> Iterator[LocalServer]:
    with LocalServer(ServerConfig(port=0, backend="synthetic")) as running:
        yield running


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
async def test_chained_openai_rows_say_synthetic(
    synthetic: LocalServer, demo_data: Path, tmp_path: Path, api: str
) -> None:
    config = ChainedOpenAIConfig(base_url=synthetic.base_url, agent_api=api)  # type: ignore[arg-type]
    frame = await run_dataset(
        build_pipeline("chained-openai", config=config), load_dataset(demo_data).head(2), tmp_path
    )
    assert frame["error"].isna().all(), frame["error"].dropna().tolist()
    assert (frame["backend"] == "synthetic").all()
    assert (frame["user_transcript"] == SYNTHETIC_TRANSCRIPT).all()
    assert (frame["agent_text"] == SYNTHETIC_ANSWER).all()
    assert frame["tool_calls"].str.contains("lookup_order").all()  # the demo agent's first tool
    assert frame["agent_audio_s"].tolist() == pytest.approx([TONE_S] * 2, abs=0.01)


async def test_realtime_rows_say_synthetic(
    synthetic: LocalServer, demo_data: Path, tmp_path: Path
) -> None:
    pipeline = build_pipeline("realtime", config=RealtimeConfig(base_url=synthetic.base_url))
    frame = await run_dataset(pipeline, load_dataset(demo_data).head(2), tmp_path)
    assert frame["error"].isna().all(), frame["error"].dropna().tolist()
    assert (frame["backend"] == "synthetic").all()
    assert (frame["agent_text"] == SYNTHETIC_ANSWER).all()
    assert frame["tool_calls"].str.contains("lookup_order").all()
    assert (frame["agent_audio_s"] > 0).all()
