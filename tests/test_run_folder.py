"""The run folder loses nothing: reuse, crashes, torn writes and killed writes keep every row."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

from voicelab import load_run
from voicelab.cli import main
from voicelab.datasets import Dataset, load_dataset
from voicelab.errors import ResultsError
from voicelab.run_folder import RunFolder
from voicelab.runner import run_dataset
from voicelab.testing import ScriptedCrash, ScriptedPipeline

REPO = Path(__file__).resolve().parents[1]


def _turn_ids(dataset: Dataset) -> list[str]:
    return sorted(t.turn_id for c in dataset for t in c.turns)


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file's bytes and modification time, to show a refused run touched nothing."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _relabelled_copy(demo_data: Path, folder: Path) -> Dataset:
    """Another manifest with the demo's name and turn ids but other reference texts."""
    folder.mkdir()
    records = [json.loads(line) for line in (demo_data / "manifest.jsonl").read_text().splitlines()]
    lines = [
        json.dumps({**r, "audio": str(demo_data / r["audio"]), "text": r["text"].upper()})
        for r in records
    ]
    (folder / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return load_dataset(folder)


async def test_a_subset_rerun_keeps_every_finished_row(demo_data: Path, tmp_path: Path) -> None:
    dataset = load_dataset(demo_data)
    out = tmp_path / "run"
    await run_dataset(ScriptedPipeline(), dataset, out)
    subset = ScriptedPipeline()
    frame = await run_dataset(subset, dataset.head(2), out)
    assert subset.turns_run == 0
    assert sorted(frame["turn_id"]) == _turn_ids(dataset)
    assert sorted(load_run(out)["turn_id"]) == _turn_ids(dataset)
    assert sorted(pd.read_parquet(out / "results.parquet")["turn_id"]) == _turn_ids(dataset)


async def test_another_manifest_with_the_same_turn_ids_is_refused(
    demo_data: Path, tmp_path: Path
) -> None:
    dataset = load_dataset(demo_data)
    out = tmp_path / "run"
    await run_dataset(ScriptedPipeline(), dataset, out)
    other = _relabelled_copy(demo_data, tmp_path / "support")
    assert other.name == dataset.name and _turn_ids(other) == _turn_ids(dataset)
    before = _snapshot(out)
    pipeline = ScriptedPipeline()
    with pytest.raises(ResultsError, match="another dataset") as refused:
        await run_dataset(pipeline, other.head(2), out)
    assert "order-status#0" in str(refused.value) and str(out) in str(refused.value)
    assert pipeline.turns_run == 0
    assert _snapshot(out) == before


async def test_a_dataset_of_another_name_is_refused(demo_data: Path, tmp_path: Path) -> None:
    dataset = load_dataset(demo_data)
    out = tmp_path / "run"
    await run_dataset(ScriptedPipeline(), dataset.head(2), out)
    before = _snapshot(out)
    renamed = Dataset(name="other", conversations=dataset.conversations)
    with pytest.raises(ResultsError, match=r"another dataset.*support"):
        await run_dataset(ScriptedPipeline(), renamed, out)
    assert _snapshot(out) == before


async def test_another_config_leaves_the_folder_untouched(demo_data: Path, tmp_path: Path) -> None:
    dataset = load_dataset(demo_data).head(2)
    out = tmp_path / "run"
    await run_dataset(ScriptedPipeline(), dataset, out)
    before = _snapshot(out)
    other = ScriptedPipeline(stage_ms={"stt": 1, "llm": 1, "tts": 1})
    with pytest.raises(ResultsError, match="another pipeline configuration"):
        await run_dataset(other, dataset, out)
    assert _snapshot(out) == before


async def _crash_after_three_turns(dataset: Dataset, out: Path) -> None:
    """Two turns of the first conversation and the first of the second are logged."""
    with pytest.raises(ScriptedCrash):
        await run_dataset(ScriptedPipeline(crash_after=3), dataset, out)


async def test_a_conversation_cut_off_is_redone_and_its_old_rows_set_aside(
    demo_data: Path, tmp_path: Path
) -> None:
    dataset = load_dataset(demo_data)
    out = tmp_path / "run"
    await _crash_after_three_turns(dataset, out)
    cut_off = dataset.conversations[1].turns[0].turn_id  # logged, then the crash hit its turn 1
    await run_dataset(ScriptedPipeline(), dataset, out)
    superseded = (out / "rows.superseded.jsonl").read_text().splitlines()
    assert [json.loads(line)["turn_id"] for line in superseded] == [cut_off]
    frame = load_run(out)
    assert sorted(frame["turn_id"]) == _turn_ids(dataset)


async def test_a_torn_last_row_is_set_aside_and_its_turn_redone(
    demo_data: Path, tmp_path: Path
) -> None:
    dataset = load_dataset(demo_data)
    out = tmp_path / "run"
    await _crash_after_three_turns(dataset, out)
    log = out / "rows.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    torn = lines[2][: len(lines[2]) // 2]  # the process died while writing the third row
    log.write_text("".join(lines[:2]) + torn)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await run_dataset(ScriptedPipeline(), dataset, out)
    text = log.read_text()
    assert text.endswith("\n")
    assert sorted(json.loads(line)["turn_id"] for line in text.splitlines()) == _turn_ids(dataset)
    assert sorted(load_run(out)["turn_id"]) == _turn_ids(dataset)
    assert (out / "rows.torn.jsonl").read_text() == torn + "\n"
    assert any("rows.torn.jsonl" in str(w.message) for w in caught)


_RERUN_WITH_A_FILE_SIZE_LIMIT = """
import asyncio, resource, sys
from voicelab.datasets import load_dataset
from voicelab.run_folder import RunFolder
from voicelab.runner import run_dataset
from voicelab.testing import ScriptedPipeline
dataset = load_dataset(sys.argv[1])
limit = int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
asyncio.run(run_dataset(ScriptedPipeline(), dataset, sys.argv[2]))
"""


async def test_a_write_cut_short_leaves_the_previous_table_readable(
    demo_data: Path, tmp_path: Path
) -> None:
    dataset = load_dataset(demo_data)
    out = tmp_path / "run"
    await run_dataset(ScriptedPipeline(), dataset, out)
    # a file-size limit cuts the rerun's table write short, as a kill or a full disk would
    limit = (out / "run.json").stat().st_size + 1024
    assert (out / "results.parquet").stat().st_size > limit
    child = subprocess.run(
        [sys.executable, "-c", _RERUN_WITH_A_FILE_SIZE_LIMIT, str(demo_data), str(out), str(limit)],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=tmp_path,
    )  # fmt: skip
    assert child.returncode != 0 and "File too large" in child.stderr, child.stderr
    assert sorted(pd.read_parquet(out / "results.parquet")["turn_id"]) == _turn_ids(dataset)
    assert json.loads((out / "run.json").read_text())["pipeline"] == "scripted"
    assert sorted(p.name for p in out.iterdir()) == [
        "audio", "results.parquet", "rows.jsonl", "run.json"
    ]  # fmt: skip


def test_run_into_a_file_fails_before_models_load(
    demo_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "notes.txt"
    taken.write_text("mine")
    argv = ["run", "--pipeline", "chained-local", "--dataset", str(demo_data), "--out", str(taken)]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert f"voicelab: error: {taken}" in captured.err and "not a folder" in captured.err
    assert "loading" not in captured.out
    assert taken.read_text() == "mine"


def test_a_folder_that_can_never_hold_a_run_is_refused_up_front(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ResultsError, match=r"notes.txt: exists and is not a folder"):
        RunFolder.open(tmp_path / "notes.txt" / "run")
    (tmp_path / "rows.jsonl").write_text("")
    with pytest.raises(ResultsError, match=r"holds results but no run\.json"):
        RunFolder.open(tmp_path)
    (tmp_path / "run.json").write_text("[1]")
    with pytest.raises(ResultsError, match=r"run\.json: run info must be a JSON object"):
        RunFolder.open(tmp_path)


async def test_run_into_another_datasets_folder_fails_before_models_load(
    demo_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    await run_dataset(ScriptedPipeline(), load_dataset(demo_data).head(2), out)
    _relabelled_copy(demo_data, tmp_path / "support")
    argv = ["run", "--pipeline", "chained-local", "--dataset", str(tmp_path / "support")]
    assert main([*argv, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "another dataset" in captured.err and "loading" not in captured.out


@pytest.mark.parametrize("content", [b"", b"PAR1 cut short"])
def test_report_of_an_unreadable_table_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    (tmp_path / "results.parquet").write_bytes(content)
    assert main(["report", str(tmp_path)]) == 2
    assert f"voicelab: error: {tmp_path / 'results.parquet'}" in capsys.readouterr().err


def test_report_of_a_run_without_rows_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "rows.jsonl").write_bytes(b"")
    assert main(["report", str(tmp_path)]) == 2
    assert "no finished turns yet" in capsys.readouterr().err
