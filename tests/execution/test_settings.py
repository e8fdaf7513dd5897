"""Execution settings: the [run] table, the CLI flags, and why they never refuse a resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voicelab.cli import main
from voicelab.datasets import load_dataset
from voicelab.errors import ConfigError
from voicelab.execution.retry import RetryPolicy
from voicelab.execution.settings import run_settings_from_dict
from voicelab.experiment import load_experiment
from voicelab.rate_limits import RateLimits
from voicelab.runner import RunOptions, run_dataset
from voicelab.testing import ScriptedPipeline


def test_run_table_of_an_experiment_file(tmp_path: Path) -> None:
    path = tmp_path / "e.toml"
    path.write_text(
        'pipeline = "realtime"\n[run]\nconcurrency = 16\n[run.retry]\nmax_attempts = 5\n'
        '[run.rate_limits]\nrpm = { "*" = 500, speech = 50 }\n'
    )
    fields = run_settings_from_dict(load_experiment(path).run, "run")
    assert fields == {
        "max_concurrency": 16,
        "retry": RetryPolicy(max_attempts=5),
        "rate_limits": RateLimits(rpm={"*": 500, "speech": 50}),
    }


@pytest.mark.parametrize(
    ("run", "message"),
    [
        ({"bogus": 2}, r"unknown key\(s\) bogus in run"),
        ({"concurrency": 0}, "concurrency must be an integer >= 1"),
        ({"retry": {"max_attempts": 0}}, "max_attempts must be at least 1"),
        ({"retry": {"tries": 2}}, r"run\.retry: unknown setting"),
        ({"rate_limits": {"rpm": {"tts": 3}}}, "unknown endpoint 'tts'"),
        ({"rate_limits": {"per": 3}}, "unknown key"),
    ],
)
def test_run_table_rejects(tmp_path: Path, run: dict[str, object], message: str) -> None:
    path = tmp_path / "e.json"
    path.write_text(json.dumps({"experiment": {"pipeline": "realtime", "run": run}}))
    with pytest.raises(ConfigError, match=message):
        load_experiment(path)


async def test_other_execution_settings_resume_the_same_folder(
    demo_data: Path, tmp_path: Path
) -> None:
    dataset = load_dataset(demo_data)
    out = tmp_path / "run"
    await run_dataset(ScriptedPipeline(), dataset.head(2), out)
    faster = RunOptions(
        max_concurrency=8, retry=RetryPolicy(max_attempts=9), rate_limits=RateLimits(rpm={"*": 1e6})
    )
    frame = await run_dataset(ScriptedPipeline(), dataset, out, options=faster)
    assert len(frame) == dataset.num_turns and frame["config_hash"].nunique() == 1
    recorded = json.loads((out / "run.json").read_text())["experiment"]["run"]
    assert recorded["concurrency"] == 8 and recorded["retry"]["max_attempts"] == 9


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--rpm", "speech=many"], "--rpm expects [ENDPOINT=]N"),
        (["--tpm", "tts=100"], "unknown endpoint 'tts'"),
        (["--concurrency", "0"], "concurrency must be an integer >= 1"),
        (["--max-attempts", "0"], "max_attempts must be at least 1"),
    ],
)
def test_bad_execution_flags_are_refused_before_anything_runs(
    demo_data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    message: str,
) -> None:
    argv = ["run", "--dataset", str(demo_data), "--out", str(tmp_path / "run"), *flags]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("voicelab: error:") and message in err
    assert not (tmp_path / "run").exists()
