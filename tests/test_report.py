from __future__ import annotations

import asyncio
from pathlib import Path

import pandas as pd
import pytest

from voicelab.cli import main
from voicelab.datasets import Dataset, load_dataset
from voicelab.errors import ResultsError
from voicelab.report import summarize
from voicelab.runner import run_dataset
from voicelab.testing import ScriptedPipeline


@pytest.fixture(scope="module")
def runs(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Scripted runs of the spoken digits: a, b (STT 50 ms slower, one failed turn), and one
    of another dataset."""
    root = tmp_path_factory.mktemp("report")
    fsdd = load_dataset(shared_data / "fsdd-sample")
    slower = {"stt": 350, "llm": 150, "tts": 100}
    failing = frozenset({"5_theo_1#0"})
    plans: list[tuple[str, Dataset, ScriptedPipeline]] = [
        ("a", fsdd, ScriptedPipeline(jitter_ms=40, seed=1)),
        ("b", fsdd, ScriptedPipeline(jitter_ms=40, seed=2, stage_ms=slower, fail_turns=failing)),
        ("lj", load_dataset(shared_data / "ljspeech-sample"), ScriptedPipeline()),
    ]
    for name, dataset, pipeline in plans:
        asyncio.run(run_dataset(pipeline, dataset, root / name))
    return {name: root / name for name, _, _ in plans}


def _frame(path: Path) -> pd.DataFrame:
    from voicelab.run_folder import load_run

    return load_run(path)


def test_summarize_groups_by_a_tag_and_keeps_its_default(runs: dict[str, Path]) -> None:
    frame = _frame(runs["a"])
    default = summarize(frame)
    assert default.index.name == "pipeline" and list(default.index) == ["scripted"]
    by_speaker = summarize(frame, by=["pipeline", "speaker"])
    assert list(by_speaker.index) == [
        ("scripted", "george"), ("scripted", "jackson"), ("scripted", "theo"),
    ]  # fmt: skip
    assert by_speaker["turns"].tolist() == [50, 50, 50]
    george = frame[frame["turn_id"].str.contains("george")]
    expected = float(george["stt_s"].astype(float).median())
    assert by_speaker.loc[("scripted", "george"), "stt_s_p50"] == pytest.approx(expected)


def test_summarize_by_an_unknown_name_says_what_there_is(runs: dict[str, Path]) -> None:
    with pytest.raises(ResultsError, match=r"cannot group by accent: .*tags: speaker"):
        summarize(_frame(runs["a"]), by=["accent"])


def test_report_of_two_runs_prints_cis_and_the_paired_comparison(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    csv = tmp_path / "summary.csv"
    assert main(["report", str(runs["a"]), str(runs["b"]), "--csv", str(csv)]) == 0
    out = capsys.readouterr().out
    assert "value [95% CI] by run_id" in out  # both runs are "scripted": one column per run
    assert "paired comparison, B - A: A = scripted (a), B = scripted (b)" in out
    assert "149 turns paired of 150 in both runs; dropped: 1 with an error on either side" in out
    stt = next(
        line for line in out.splitlines() if line.startswith("stt_s_p50 ") and "wilcoxon" in line
    )
    difference = float(stt.split()[3])
    assert difference == pytest.approx(0.05, abs=0.008)
    table = pd.read_csv(csv)
    assert set(table["run_id"]) == {"a", "b"}
    errors = table[table["figure"] == "errors"].set_index("run_id")["value"]
    assert errors.to_dict() == {"a": 0, "b": 1}


def test_report_by_speaker(runs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(runs["a"]), "--by", "speaker"]) == 0
    out = capsys.readouterr().out
    assert "by pipeline, speaker" in out
    assert "scripted / george" in out and "scripted / theo" in out
    assert "paired comparison" not in out


def test_report_of_runs_over_other_datasets_does_not_pair_them(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(runs["a"]), str(runs["lj"])]) == 0
    out = capsys.readouterr().out
    assert "no paired comparison: the runs are over different datasets" in out
    assert "fsdd-sample" in out and "ljspeech-sample" in out


def test_report_by_an_unknown_tag_is_a_clean_error(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(runs["a"]), "--by", "accent"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("voicelab: error: cannot group by accent")
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("by", [("pipeline",), ("pipeline", "speaker")])
def test_summaries_of_an_empty_table_are_empty_with_the_same_columns(
    runs: dict[str, Path], by: tuple[str, ...]
) -> None:
    from voicelab.costs import cost_summary
    from voicelab.results import to_frame
    from voicelab.trials import trial_summary

    full, empty = _frame(runs["a"]), to_frame([])
    for summary in (summarize, cost_summary, trial_summary):
        made = summary(empty, by=by)
        assert made.empty and list(made.index.names) == list(by), summary.__name__
        assert list(made.columns) == list(summary(full, by=by).columns), summary.__name__


def test_report_of_a_run_without_finished_turns_says_so(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from voicelab.run_folder import ROWS_FILE, RUN_FILE

    started = tmp_path / "started"  # claimed, then stopped before its first turn finished
    started.mkdir()
    (started / RUN_FILE).write_bytes((runs["a"] / RUN_FILE).read_bytes())
    for rows in (None, b""):  # no row log yet, or an empty one
        if rows is not None:
            (started / ROWS_FILE).write_bytes(rows)
        assert main(["report", str(started)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"voicelab: error: {started}: the run holds no finished turns"), err
        assert "voicelab run" in err and "Traceback" not in err
