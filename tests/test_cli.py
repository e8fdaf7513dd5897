"""The ``voicelab`` command refusing what it cannot do, clearly and before any model loads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from voicelab.registry import PIPELINES


def _voicelab(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voicelab.cli", *args],
        capture_output=True, text=True, timeout=120, check=False, env=env,
    )  # fmt: skip


def _without_keys() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}


@pytest.mark.parametrize("with_dataset", [True, False])
def test_an_unknown_pipeline_is_named_as_unknown(
    demo_data: Path, tmp_path: Path, with_dataset: bool
) -> None:
    dataset = ["--dataset", str(demo_data)] if with_dataset else []
    result = _voicelab(
        "run", "--pipeline", "nope", *dataset, "--out", str(tmp_path / "run"), env=_without_keys()
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("voicelab: error: unknown pipeline 'nope'"), result.stderr
    assert all(name in result.stderr for name in PIPELINES)
    assert "Traceback" not in result.stderr and not (tmp_path / "run").exists()


@pytest.mark.parametrize("max_turns", ["-1", "0"])
def test_max_turns_must_be_positive(demo_data: Path, tmp_path: Path, max_turns: str) -> None:
    result = _voicelab(
        "run", "--pipeline", "chained-local", "--dataset", str(demo_data),
        "--max-turns", max_turns, "--out", str(tmp_path / "run"),
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("voicelab: error: max_turns must be a positive integer")
    assert f"not {max_turns}" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


def test_serve_takes_its_key_from_the_environment_never_a_flag() -> None:
    help_text = _voicelab("serve", "--help").stdout
    assert "VOICELAB_SERVER_API_KEY" in help_text and "--api-key-env" in help_text
    refused = _voicelab("serve", "--port", "0", "--api-key", "sk-in-argv")
    assert refused.returncode == 2
    assert "ps" in refused.stderr and "VOICELAB_SERVER_API_KEY" in refused.stderr
    assert "sk-in-argv" not in refused.stderr + refused.stdout
