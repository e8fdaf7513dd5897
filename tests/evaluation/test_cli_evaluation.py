"""``voicelab run`` with the evaluation flags and the experiment's ``[evaluation]`` table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from voicelab.cli import main
from voicelab.errors import ConfigError
from voicelab.experiment import load_experiment
from voicelab.run_folder import load_run, load_run_info
from voicelab.server.runner import LocalServer
from voicelab.server.state import ServerConfig

SECRET = "sk-judge-secret-0123456789"


@pytest.fixture(scope="module")
def synthetic() -> Iterator[LocalServer]:
    with LocalServer(ServerConfig(port=0, backend="synthetic")) as running:
        yield running


@pytest.fixture
def no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def _run_args(server: LocalServer, demo_data: Path, out: Path) -> list[str]:
    return [
        "run", "--pipeline", "chained-openai", "--base-url", server.base_url,
        "--dataset", str(demo_data), "--max-turns", "2", "--no-audio", "--out", str(out),
    ]  # fmt: skip


def test_judge_flags_fill_the_judge_columns_and_run_json_keeps_no_key(
    synthetic: LocalServer, demo_data: Path, tmp_path: Path, no_openai_env: None,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("JUDGE_TEST_KEY", SECRET)
    monkeypatch.chdir(tmp_path)
    Path("rubric.txt").write_text("Grade the turn. Record it with record_verdict.")
    out = tmp_path / "run"
    flags = ["--judge-model", "gpt-4o-mini", "--judge-base-url", synthetic.base_url,
             "--judge-key-env", "JUDGE_TEST_KEY", "--judge-rubric", "rubric.txt"]  # fmt: skip
    assert main([*_run_args(synthetic, demo_data, out), *flags]) == 0
    assert "judge_score" in capsys.readouterr().out  # the summary's line
    frame = load_run(out)
    assert (frame["judge_model"] == "gpt-4o-mini").all() and frame["judge_error"].isna().all()
    recorded = load_run_info(out)["experiment"]["evaluation"]["judge"]
    assert recorded["api_key_env"] == "JUDGE_TEST_KEY"
    assert recorded["rubric"] == str(tmp_path / "rubric.txt")  # resolved: the run repeats
    for name in ("run.json", "rows.jsonl"):
        assert SECRET not in (out / name).read_text()
    assert main(["report", str(out)]) == 0
    report = capsys.readouterr().out
    assert "judge_score" in report and "agent_wer_mean" not in report  # no agent_wer ran
    again = tmp_path / "again"
    assert main(["run", "--config", str(out / "run.json"), "--out", str(again)]) == 0
    assert (load_run(again)["judge_model"] == "gpt-4o-mini").all()


def test_an_option_of_the_judge_without_its_model_is_refused(
    demo_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "--dataset", str(demo_data), "--out", str(tmp_path / "run"),
            "--judge-base-url", "http://127.0.0.1:1/v1"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("voicelab: error: --judge-base-url needs --judge-model"), err
    assert not (tmp_path / "run").exists()


def test_a_missing_rubric_is_named_before_the_run_starts(
    synthetic: LocalServer, demo_data: Path, tmp_path: Path, no_openai_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    rubric = tmp_path / "no-such-rubric.txt"
    flags = ["--judge-model", "gpt-4o-mini", "--judge-base-url", synthetic.base_url,
             "--judge-rubric", str(rubric)]  # fmt: skip
    assert main([*_run_args(synthetic, demo_data, tmp_path / "run"), *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"voicelab: error: {rubric}: cannot read the judge's rubric"), err
    assert not (tmp_path / "run" / "rows.jsonl").exists()


def test_a_served_agent_wer_model_needs_its_server(
    synthetic: LocalServer, demo_data: Path, tmp_path: Path, no_openai_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    flags = ["--agent-wer", "gpt-4o-transcribe"]
    assert main([*_run_args(synthetic, demo_data, tmp_path / "run"), *flags]) == 2
    err = capsys.readouterr().err
    assert "agent_wer model 'gpt-4o-transcribe' is neither 'local' nor a Whisper folder" in err
    assert "--agent-wer-base-url" in err


def test_the_experiment_table_is_checked_and_its_rubric_taken_from_its_folder(
    tmp_path: Path,
) -> None:
    experiment = tmp_path / "exp" / "experiment.toml"
    experiment.parent.mkdir()
    experiment.write_text(
        '[evaluation.judge]\nmodel = "gpt-4o-mini"\nrubric = "rubric.txt"\n'
        '[evaluation.agent_wer]\nmodel = "local"\n'
    )
    loaded = load_experiment(experiment).evaluation
    assert loaded["judge"]["rubric"] == str(tmp_path / "exp" / "rubric.txt")
    assert loaded["agent_wer"]["model"] == "local"
    assert json.loads(json.dumps(loaded)) == loaded  # stored as JSON in run.json
    (tmp_path / "exp" / "whisper-small").mkdir()
    experiment.write_text('[evaluation.agent_wer]\nmodel = "whisper-small"\n')
    folder = load_experiment(experiment).evaluation["agent_wer"]["model"]
    assert folder == str(tmp_path / "exp" / "whisper-small")
    experiment.write_text('[evaluation.judge]\nmodel = "m"\ntemperatur = 0\n')
    with pytest.raises(ConfigError, match=r"evaluation.judge: unknown key\(s\) temperatur"):
        load_experiment(experiment)
    experiment.write_text('[evaluation.judge]\nbase_url = "http://127.0.0.1:1/v1"\n')
    with pytest.raises(ConfigError, match=r"evaluation.judge: .*model"):
        load_experiment(experiment)
