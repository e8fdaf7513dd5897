"""chained-openai: the SDK's own OpenAI models against voicelab's local server, for real."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from pathlib import Path

import pytest

from voicelab.calibration import CALIBRATED_STAGES, calibration_pairs, floor_delay_s
from voicelab.datasets import load_dataset
from voicelab.datasets.types import Conversation, Dataset, Turn
from voicelab.pipelines.base import Pipeline
from voicelab.pipelines.chained.config import ChainedOpenAIConfig
from voicelab.registry import build_pipeline
from voicelab.runner import run_dataset
from voicelab.server.faults import FaultConfig, with_endpoint
from voicelab.server.runner import LocalServer
from voicelab.server.state import ServerConfig

pytestmark = pytest.mark.slow
INJECTED_S = 0.300
TOLERANCE_S = 0.005
CALIBRATION_CLIPS = 12


def _openai_pipeline(
    base_url: str,
    api: str = "responses",
    request_timeout_s: float = 60.0,
    tool_choice: str = "required",
) -> Pipeline:
    config = ChainedOpenAIConfig(
        base_url=base_url,
        request_timeout_s=request_timeout_s,
        agent_api=api,  # type: ignore[arg-type]
        tool_choice=tool_choice,
        turn_timeout_s=120.0,
    )
    return build_pipeline("chained-openai", config=config)


@pytest.fixture(scope="module")
def delayed_server() -> Iterator[LocalServer]:
    faults = with_endpoint(FaultConfig(), "transcriptions", ttfb_ms=INJECTED_S * 1000)
    faults = with_endpoint(faults, "speech", ttfb_ms=INJECTED_S * 1000)
    with LocalServer(ServerConfig(port=0, faults=faults)) as running:
        yield running


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
async def test_demo_turn_through_both_agent_apis(
    server: LocalServer, demo_data: Path, tmp_path: Path, api: str
) -> None:
    dataset = load_dataset(demo_data).head(2)
    frame = await run_dataset(_openai_pipeline(server.base_url, api), dataset, tmp_path / api)
    assert frame["error"].isna().all(), frame["error"].dropna().tolist()
    first = frame.iloc[0]
    assert first["pipeline"] == "chained-openai" and first["backend"] == "local-server"
    assert "lookup_order" in first["tool_calls"] and "452" in first["tool_calls"]
    assert first["agent_audio_s"] > 0.3 and first["voice_to_voice_s"] > 0
    assert 0 < first["stt_server_s"] < first["stt_s"]  # the server's share of each stage
    assert 0 < first["tts_server_s"] < first["tts_ttfb_s"]
    assert first["llm_input_tokens"] > 0
    assert first["cost_usd"] > 0  # priced as gpt-4o-transcribe -> gpt-4o -> gpt-4o-mini-tts


async def test_same_transcripts_as_chained_local(
    server: LocalServer, shared_data: Path, tmp_path: Path
) -> None:
    dataset = load_dataset(shared_data / "ljspeech-sample").head(3)
    local = await run_dataset(build_pipeline("chained-local"), dataset, tmp_path / "local")
    remote = await run_dataset(_openai_pipeline(server.base_url), dataset, tmp_path / "remote")
    assert local["user_transcript"].tolist() == remote["user_transcript"].tolist()
    assert remote["error"].isna().all()


async def test_injected_delay_shows_in_measured_latency(
    server: LocalServer, delayed_server: LocalServer, shared_data: Path
) -> None:
    """Measured stage time less the server's own processing time, each server's floor over the
    clips: the injection alone, within 5 ms, however long the models took."""
    dataset = load_dataset(shared_data / "fsdd-sample").head(CALIBRATION_CLIPS + 1)
    plain = _openai_pipeline(server.base_url, tool_choice="none")  # no tool: quicker turns
    delayed = _openai_pipeline(delayed_server.base_url, tool_choice="none")
    pairs = await calibration_pairs(plain, delayed, dataset)
    assert len(pairs) == CALIBRATION_CLIPS * len(CALIBRATED_STAGES)
    for stage in CALIBRATED_STAGES:
        measured_s = floor_delay_s(pairs, stage)
        paired_ms = [(p.delay_s - INJECTED_S) * 1000 for p in pairs if p.stage == stage]
        print(
            f"\ncalibration {stage}: measured - injected {(measured_s - INJECTED_S) * 1000:+.2f} ms"
            f" (per clip: median {statistics.median(paired_ms):+.2f}, "
            f"min {min(paired_ms):+.2f}, max {max(paired_ms):+.2f})"
        )
        assert measured_s == pytest.approx(INJECTED_S, abs=TOLERANCE_S), [
            p for p in pairs if p.stage == stage
        ]


@pytest.mark.parametrize(
    ("endpoint", "faults", "error_type", "message"),
    [
        ("transcriptions", {"error_rate": 1.0, "error_status": 429}, "RateLimitedError",
         "RateLimitError: Error code: 429"),
        ("speech", {"error_rate": 1.0, "error_status": 503}, "ServerSideError",
         "InternalServerError: Error code: 503"),
        ("responses", {"error_rate": 1.0, "error_status": 500}, "ServerSideError", "500"),
        ("speech", {"drop_rate": 1.0, "drop_after_chunks": 1}, "ConnectionDroppedError",
         "RemoteProtocolError"),
        ("responses", {"drop_rate": 1.0, "drop_after_chunks": 2}, "ConnectionDroppedError",
         "/v1/responses"),
        ("transcriptions", {"drop_rate": 1.0, "drop_after_chunks": 0}, "ConnectionDroppedError",
         "APIConnectionError"),
        ("responses", {"stall_rate": 1.0, "drop_after_chunks": 2}, "RemoteTimeoutError",
         "APITimeoutError: Request timed out. (POST http"),
        ("transcriptions", {"stall_rate": 1.0, "drop_after_chunks": 0}, "RemoteTimeoutError",
         "/v1/audio/transcriptions)"),
    ],
)  # fmt: skip
async def test_each_fault_is_a_specific_transient_error_row(
    demo_data: Path, tmp_path: Path, endpoint: str, faults: dict[str, float],
    error_type: str, message: str,
) -> None:  # fmt: skip
    config = with_endpoint(FaultConfig(seed=1), endpoint, **faults)
    dataset = load_dataset(demo_data).head(2)
    with LocalServer(ServerConfig(port=0, faults=config)) as faulty:
        # a stall is only noticed by the client's request timeout; other faults answer at once
        timeout_s = 5.0 if "stall_rate" in faults else 60.0
        pipeline = _openai_pipeline(faulty.base_url, request_timeout_s=timeout_s)
        frame = await run_dataset(pipeline, dataset, tmp_path / "run")
    assert len(frame) == dataset.num_turns  # every turn is a row, none lost
    assert frame["error_transient"].tolist() == [True] * len(frame)
    for _, row in frame.iterrows():
        assert row["error_type"] == error_type, row["error"]
        assert message in row["error"] and row["turn_id"] in row["error"]


async def test_rejected_request_and_corrupt_audio_are_permanent_error_rows(
    server: LocalServer, demo_data: Path, tmp_path: Path
) -> None:
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF....WAVEnot really")
    good = load_dataset(demo_data).conversations[0].turns[0]
    turns = (
        Turn(conversation_id="c", turn_index=0, audio=tmp_path / "corrupt.wav"),
        Turn(conversation_id="c", turn_index=1, audio=good.audio),
    )
    dataset = Dataset(name="bad", conversations=(Conversation(conversation_id="c", turns=turns),))
    config = ChainedOpenAIConfig(base_url=server.base_url, stt_model="gpt-no-such-transcriber")
    pipeline = build_pipeline("chained-openai", config=config)
    frame = await run_dataset(pipeline, dataset, tmp_path / "r")
    rows = frame.set_index("turn_id")
    assert (
        rows.loc["c#0", "error_type"] == "AudioError" and "corrupt.wav" in rows.loc["c#0", "error"]
    )
    assert rows.loc["c#1", "error_type"] == "RequestRejectedError", rows.loc["c#1", "error"]
    assert "NotFoundError: Error code: 404" in rows.loc["c#1", "error"]
    assert "gpt-no-such-transcriber" in rows.loc["c#1", "error"]
    assert rows["error_transient"].tolist() == [False, False]
