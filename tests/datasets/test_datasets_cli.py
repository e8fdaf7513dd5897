from __future__ import annotations

import json
import shutil
from pathlib import Path

import datasets as hf  # the optional `hf` extra, part of the dev install (make install)
import pytest

from tests.datasets.conftest import lj_rows
from voicelab.cli import main


@pytest.fixture
def corpora(tmp_path: Path, librispeech_root: Path, shared_data: Path) -> Path:
    """A root holding a LibriSpeech tree, a two-split HF dataset, a manifest and a broken one."""
    root = tmp_path / "corpora"
    root.mkdir()
    shutil.move(librispeech_root, root / "LibriSpeech")
    lj = shared_data / "ljspeech-sample"
    rows = lj_rows(shared_data)
    splits = {
        name: hf.Dataset.from_dict({
            "audio": [str(lj / r["audio"]) for r in chunk], "text": [r["text"] for r in chunk],
            "language": ["es"] * len(chunk),
        }).cast_column("audio", hf.Audio())
        for name, chunk in (("train", rows[:2]), ("test", rows[2:3]))
    }  # fmt: skip
    hf.DatasetDict(splits).save_to_disk(str(root / "hub-copy"))
    (root / "support").mkdir()
    (root / "support" / "manifest.jsonl").write_text(
        json.dumps({"audio": str(lj / rows[0]["audio"]), "text": "hi", "expected_tool": "look"})
        + "\n"
    )
    broken = root / "broken" / "1" / "2"
    broken.mkdir(parents=True)
    (broken / "1-2.trans.txt").write_text("1-2-0000 NO AUDIO HERE\n")
    return root


def test_list_finds_every_format_with_counts_and_languages(
    corpora: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["datasets", "list", str(corpora)]) == 0
    lines = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()}
    assert lines[str(corpora / "LibriSpeech")] == ["librispeech", "3", "3", "en"]
    assert lines[f"hf:{corpora / 'hub-copy'}:train"] == ["hf", "2", "2", "es"]
    assert lines[f"hf:{corpora / 'hub-copy'}:test"] == ["hf", "1", "1", "es"]
    assert lines[str(corpora / "support")] == ["manifest", "1", "1", "?"]
    broken = lines[str(corpora / "broken")]
    assert broken[:4] == ["librispeech", "-", "-", "error:"] and "no audio for" in " ".join(broken)


def test_list_defaults_to_data_and_voicelab_data(
    corpora: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    shutil.move(corpora / "support", work / "data" / "support")
    monkeypatch.chdir(work)
    monkeypatch.setenv("VOICELAB_DATA", str(corpora / "LibriSpeech"))
    assert main(["datasets", "list"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]]
    assert listed == ["data/support", str(corpora / "LibriSpeech")]


def test_show_prints_language_tool_and_tags_per_turn(
    corpora: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["datasets", "show", str(corpora / "LibriSpeech")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "LibriSpeech (librispeech): 3 conversations, 3 turns, languages en"
    assert out[1].split()[:3] == ["19-198-0000#0", "en", "tool=-"]
    assert "speaker=19 chapter=198 sex=F subset=dev-clean" in out[1]
    assert main(["datasets", "show", str(corpora / "support")]) == 0
    turn = capsys.readouterr().out.splitlines()[1]
    assert turn.split()[1:3] == ["?", "tool=look"] and turn.endswith("| hi")
    assert main(["datasets", "show", f"hf:{corpora / 'hub-copy'}:test"]) == 0
    assert "hub-copy (hf): 1 conversations, 1 turns, languages es" in capsys.readouterr().out


def test_errors_exit_2_with_a_message(corpora: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "show", str(corpora / "hub-copy")]) == 2
    assert "2 splits (train, test); name one" in capsys.readouterr().err
    assert main(["datasets", "list", str(corpora / "missing")]) == 2
    assert "missing: folder not found" in capsys.readouterr().err
    assert main(["datasets", "show", f"nope:{corpora}"]) == 2
    assert "dataset not found" in capsys.readouterr().err


def test_run_takes_a_split_of_an_hf_dataset_and_rows_carry_its_language(
    corpora: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voicelab.run_folder import load_run
    from voicelab.server.runner import LocalServer
    from voicelab.server.state import ServerConfig

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.chdir(corpora)  # the spec's relative path is resolved before the run
    out = tmp_path / "run"
    with LocalServer(ServerConfig(port=0, backend="synthetic")) as server:
        code = main([
            "run", "--pipeline", "chained-openai", "--base-url", server.base_url,
            "--dataset", "hf:hub-copy:train", "--out", str(out), "--no-audio",
        ])  # fmt: skip
    assert code == 0
    frame = load_run(out)
    assert frame["error"].isna().all(), frame["error"].dropna().tolist()
    assert frame["dataset"].unique().tolist() == ["hub-copy"] and len(frame) == 2
    assert frame["language"].tolist() == ["es", "es"]
    assert frame["wer"].notna().all()  # scored with the basic normaliser against the references
