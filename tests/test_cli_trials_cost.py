"""`voicelab run --repeat --price-as` and `voicelab report` of it, end to end on the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from voicelab.run_folder import load_run, load_run_info
from voicelab.server.runner import LocalServer
from voicelab.server.state import ServerConfig

PRICES = Path(__file__).resolve().parents[1] / "voicelab" / "metrics" / "prices.toml"


def _voicelab(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    return subprocess.run(
        [sys.executable, "-m", "voicelab.cli", *args],
        capture_output=True, text=True, timeout=300, check=False, env=env,
    )  # fmt: skip


@pytest.fixture(scope="module")
def synthetic() -> Iterator[LocalServer]:
    with LocalServer(ServerConfig(port=0, backend="synthetic")) as running:
        yield running


def test_repeat_must_be_positive_before_anything_loads(demo_data: Path, tmp_path: Path) -> None:
    result = _voicelab(
        "run", "--pipeline", "chained-local", "--dataset", str(demo_data), "--repeat", "0",
        "--out", str(tmp_path / "run"),
    )  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("voicelab: error: run: run.repeat must be an integer >= 1")
    assert not (tmp_path / "run").exists()


def test_a_repeated_projected_realtime_run_and_its_report(
    synthetic: LocalServer, demo_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    run = _voicelab(
        "run", "--pipeline", "realtime", "--base-url", synthetic.base_url,
        "--dataset", str(demo_data), "--max-turns", "2", "--repeat", "2",
        "--price-as", "realtime=gpt-realtime-2.1-mini", "--out", str(out),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "pass_hat_k" in run.stdout  # the run's own summary shows the trials
    frame = load_run(out)
    assert len(frame) == 4 and sorted(frame["trial"].unique()) == [0, 1]
    info = load_run_info(out)
    assert info["experiment"]["run"]["repeat"] == 2
    # what the pipeline said it ran; the unnamed component (input transcription) keeps its model
    assert info["models"] == {"realtime": "gpt-realtime", "stt": "gpt-4o-transcribe"}
    projection = "projection: gpt-realtime-2.1-mini, gpt-4o-transcribe, prices as of "
    basis = frame["cost_basis"].unique().tolist()
    assert len(basis) == 1 and basis[0].startswith(projection)
    assert (frame["cost_usd"] > 0).all()  # the server reports realtime token usage
    report = _voicelab("report", str(out))
    assert report.returncode == 0, report.stderr
    assert "pass_hat_k" in report.stdout and projection in report.stdout
    # re-priced with a price file alone, the run keeps the projection it was run with
    kept = _voicelab("report", str(out), "--prices", str(PRICES))
    assert kept.returncode == 0, kept.stderr
    assert projection in kept.stdout
    # --price-as names another: the run's own model names, still a projection (the synthetic
    # server answered for them)
    own = _voicelab("report", str(out), "--price-as", "realtime=gpt-realtime")
    assert own.returncode == 0, own.stderr
    assert "projection: gpt-realtime, gpt-4o-transcribe, prices as of" in own.stdout
    wrong = _voicelab("report", str(out), "--price-as", "gpt-4o-transcribe,gpt-4o,tts-1")
    assert wrong.returncode == 2 and "the run's components are realtime, stt" in wrong.stderr
