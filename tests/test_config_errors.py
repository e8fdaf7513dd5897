"""Malformed configuration is refused up front, with a message that says what to fix."""

from __future__ import annotations

import subprocess
import sys

import pytest

from voicelab.errors import ConfigError
from voicelab.pipelines.chained.config import ChainedConfig, ChainedLocalConfig
from voicelab.pipelines.feeding import FeedConfig
from voicelab.providers.openai_endpoint import OpenAIEndpoint
from voicelab.registry import build_pipeline
from voicelab.server.state import ServerConfig


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ChainedConfig(tts_buffer_size=0), "tts_buffer_size"),
        (lambda: ChainedConfig(first_clause_min_chars=-1), "first_clause_min_chars"),
        (lambda: ChainedConfig(first_words_min_chars=-1), "first_words_min_chars"),
        (lambda: ChainedLocalConfig(tts_threads=0), "tts_threads"),
        (lambda: ChainedLocalConfig(stt_threads=0), "stt_threads"),
        (lambda: ChainedLocalConfig(vad_warmup_silence_ms=-1), "vad_warmup_silence_ms"),
        (
            lambda: ChainedLocalConfig(tts_max_leading_silence_ms=-5.0),
            "tts_max_leading_silence_ms",
        ),
        (lambda: ServerConfig(first_clause_min_chars=-1), "first_clause_min_chars"),
        (lambda: ChainedConfig(input_mode="psychic"), "input_mode"),  # type: ignore[arg-type]
        (lambda: ChainedConfig(feed=FeedConfig(mode="realtime")), "streamed"),
        (lambda: FeedConfig(chunk_ms=0), "chunk_ms"),
        (lambda: FeedConfig(mode="slow"), "feed mode"),  # type: ignore[arg-type]
        (lambda: OpenAIEndpoint(), "OPENAI_API_KEY"),
        (lambda: OpenAIEndpoint(api_key="k", timeout_s=0), "timeout_s"),
        (lambda: build_pipeline("chained-quantum"), "unknown pipeline"),
    ],
)
def test_bad_config_is_refused(make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=message):
        make()


def test_endpoint_never_shows_its_key() -> None:
    endpoint = OpenAIEndpoint(api_key="sk-secret-value-123456", base_url="http://127.0.0.1:1/v1")
    assert "sk-secret" not in repr(endpoint)


def test_cli_reports_config_errors_without_a_traceback(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = subprocess.run(
        [sys.executable, "-m", "voicelab.cli", "run", "--pipeline", "chained-openai",
         "--dataset", str(tmp_path), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120, check=False,
        env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 2
    assert "voicelab: error:" in result.stderr and "Traceback" not in result.stderr
