"""Fixtures of the executor tests: the synthetic server and rows compared timings aside."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from voicelab.execution.recipe import PipelineRecipe
from voicelab.pipelines.chained.config import ChainedOpenAIConfig
from voicelab.results import COLUMN_NAMES
from voicelab.server.faults import FaultConfig, with_endpoint
from voicelab.server.runner import LocalServer
from voicelab.server.state import ServerConfig

# measured, not decided: every latency figure, the raw stamps, the run's own id, and the agent
# audio's length (piper's VITS draws its phoneme durations at random: the same text gives
# 161054 to 166070 bytes from one call to the next, in one process); and the cached prompt tokens,
# which depend on what the process's llama.cpp context held before the run (an earlier test's
# prompt in the in-process model, nothing in a fresh worker)
_CONTENT_SECONDS = {"input_audio_s"}
TIMING_COLUMNS = {"run_id", "timeline_ns", "llm_cached_input_tokens"} | {
    c for c in COLUMN_NAMES if c.endswith("_s") and c not in _CONTENT_SECONDS
}
CONTENT_COLUMNS = [c for c in COLUMN_NAMES if c not in TIMING_COLUMNS]


def _content(frame: pd.DataFrame) -> list[dict[str, object]]:
    rows = frame.sort_values("turn_id")[CONTENT_COLUMNS].astype(object)
    return [
        {k: (None if v is None or v is pd.NA or v != v else v) for k, v in row.items()}
        for row in rows.to_dict("records")
    ]


class _Content:
    """A run's rows without their timings, in turn order: what two executors must agree on."""

    def __call__(self, frame: pd.DataFrame) -> list[dict[str, object]]:
        return _content(frame)

    def differences(self, a: pd.DataFrame, b: pd.DataFrame) -> list[tuple[object, ...]]:
        """(turn, column, value in a, value in b) wherever two runs' content differs."""
        rows_a, rows_b = _content(a), _content(b)
        assert [r["turn_id"] for r in rows_a] == [r["turn_id"] for r in rows_b]
        return [
            (ra["turn_id"], column, ra[column], rb[column])
            for ra, rb in zip(rows_a, rows_b, strict=True)
            for column in CONTENT_COLUMNS
            if ra[column] != rb[column]
        ]


@pytest.fixture
def content() -> _Content:
    """Rows compared timings aside (see ``_Content``)."""
    return _Content()


@pytest.fixture(scope="module")
def synthetic() -> Iterator[LocalServer]:
    """The synthetic server: instant, fixed answers, no model work."""
    with LocalServer(ServerConfig(port=0, backend="synthetic")) as running:
        yield running


@pytest.fixture(scope="module")
def slow_synthetic() -> Iterator[LocalServer]:
    """The synthetic server taking 200 ms before each answer, so a run can be caught part-way."""
    faults = with_endpoint(FaultConfig(), "*", ttfb_ms=200)
    with LocalServer(ServerConfig(port=0, backend="synthetic", faults=faults)) as running:
        yield running


@pytest.fixture
def openai_recipe() -> Callable[[LocalServer], PipelineRecipe]:
    """chained-openai pointed at a server, as a worker builds it."""

    def recipe(server: LocalServer) -> PipelineRecipe:
        config = ChainedOpenAIConfig(base_url=server.base_url)
        return PipelineRecipe(pipeline="chained-openai", config=config, api_key="sk-test-key")

    return recipe


@pytest.fixture
def rows_file() -> Callable[[Path], list[bytes]]:
    """A run folder's row log, line by line."""
    return lambda run: (run / "rows.jsonl").read_bytes().splitlines(keepends=True)
