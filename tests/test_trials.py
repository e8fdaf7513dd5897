from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from voicelab.datasets import load_dataset
from voicelab.datasets.types import Dataset
from voicelab.errors import ConfigError, ResultsError
from voicelab.execution.settings import run_settings_from_dict
from voicelab.execution.trials import plan_trials, trial_conversation_id
from voicelab.report import build_report, format_report
from voicelab.run_folder import SUPERSEDED_FILE, load_run, load_run_info
from voicelab.runner import RunOptions, run_dataset
from voicelab.stats import summarize_ci
from voicelab.testing import ScriptedCrash, ScriptedPipeline
from voicelab.trials import pass_at_k, pass_hat_k, trial_summary, turn_succeeded

TEXTS = {
    "alpha": ["hello there", "alpha again"],
    "beta": ["bravo stays", "beta closes"],
    "gamma": ["gamma starts", "gamma ends"],
}


@pytest.fixture
def tasks(tmp_path: Path) -> Dataset:
    """Three two-turn conversations whose expected keyword is in the reference (the scripted
    agent echoes what it heard, so a turn passes its check unless it is misheard)."""
    folder = tmp_path / "tasks"
    folder.mkdir()
    tone = 0.2 * np.sin(2 * np.pi * 300 * np.arange(1600) / 16_000)
    lines = []
    for conversation, texts in TEXTS.items():
        for index, text in enumerate(texts):
            wav = folder / f"{conversation}_{index}.wav"
            sf.write(wav, tone, 16_000)
            lines.append({
                "conversation_id": conversation, "turn_index": index, "audio": wav.name,
                "text": text, "expected_keywords": [text.split()[0]],
            })  # fmt: skip
    (folder / "manifest.jsonl").write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    return load_dataset(folder)


def _turn(conversation: str, trial: int, index: int = 0) -> str:
    return f"{trial_conversation_id(conversation, trial)}#{index}"


@pytest.mark.parametrize(
    ("n", "c", "k", "hat", "at"),
    [
        (3, 3, 3, 1.0, 1.0),
        (3, 2, 3, 0.0, 1.0),
        (3, 2, 2, 1 / 3, 1.0),  # C(2,2)/C(3,2); 1 - C(1,2)/C(3,2)
        (3, 1, 2, 0.0, 2 / 3),  # C(1,2)=0; 1 - C(2,2)/C(3,2)
        (5, 3, 2, 0.3, 0.9),  # 3/10; 1 - C(2,2)/C(5,2) = 1 - 1/10
        (4, 0, 1, 0.0, 0.0),
        (4, 1, 1, 0.25, 0.25),
    ],
)
def test_unbiased_estimators_by_hand(n: int, c: int, k: int, hat: float, at: float) -> None:
    assert pass_hat_k(n, c, k) == pytest.approx(hat)
    assert pass_at_k(n, c, k) == pytest.approx(at)


def test_estimators_refuse_impossible_counts() -> None:
    with pytest.raises(ResultsError, match="n=2, c=3"):
        pass_hat_k(2, 3, 1)
    with pytest.raises(ResultsError, match="k=3"):
        pass_at_k(2, 1, 3)


async def test_pass_k_of_scripted_outcomes(tasks: Dataset, tmp_path: Path) -> None:
    # alpha: trial 1 errors; beta: every trial fails (errors in trials 0 and 1, a mishearing
    # that fails the keyword check in trial 2); gamma: every trial succeeds
    pipeline = ScriptedPipeline(
        fail_turns=frozenset({_turn("alpha", 1, 1), _turn("beta", 0), _turn("beta", 1, 1)}),
        heard={_turn("beta", 2, 1): "something else"},
    )
    frame = await run_dataset(pipeline, tasks, tmp_path / "run", options=RunOptions(repeat=3))
    assert len(frame) == 3 * tasks.num_turns
    assert sorted(frame["trial"].unique().tolist()) == [0, 1, 2]
    assert not frame.duplicated(["turn_id", "trial"]).any()
    assert set(frame["conversation_id"]) == set(TEXTS)  # the dataset's ids, never a trial's
    misheard = frame[(frame["turn_id"] == "beta#1") & (frame["trial"] == 2)].iloc[0]
    assert pd.isna(misheard["error"]) and not misheard["answer_ok"]
    assert not turn_succeeded(frame.loc[[misheard.name]]).iloc[0]

    at3 = trial_summary(frame).loc["scripted"]
    assert (at3["tasks"], at3["k"]) == (3, 3)
    assert at3["pass_hat_k"] == pytest.approx(1 / 3)  # only gamma: (0 + 0 + 1) / 3
    assert at3["pass_at_k"] == pytest.approx(2 / 3)  # alpha and gamma have a success
    assert at3["flaky_rate"] == pytest.approx(1 / 3)  # alpha only: beta never succeeds
    at2 = trial_summary(frame, k=2).loc["scripted"]
    # alpha c=2: 1/3 and 1; beta c=0: 0 and 0; gamma c=3: 1 and 1
    assert at2["pass_hat_k"] == pytest.approx((1 / 3 + 0 + 1) / 3)
    assert at2["pass_at_k"] == pytest.approx((1 + 0 + 1) / 3)

    report = build_report([frame])
    assert report.trials is not None and report.costs is not None
    assert report.costs.loc["scripted", "successful_tasks"] == 2 + 0 + 3
    text = format_report(report)
    assert "pass_hat_k" in text and "cost_usd_per_successful_task" in text


async def test_each_trial_starts_a_fresh_conversation(tasks: Dataset, tmp_path: Path) -> None:
    class Recording(ScriptedPipeline):
        async def start_conversation(self, conversation_id: str) -> object:
            state = await super().start_conversation(conversation_id)
            opened.append(state)
            return state

    opened: list[object] = []
    await run_dataset(Recording(), tasks, tmp_path / "run", options=RunOptions(repeat=2))
    assert len(opened) == 2 * len(TEXTS)
    # every trial had its own state, holding only its own two turns
    assert len({id(s) for s in opened}) == len(opened)
    assert all(len(s.history) == 2 for s in opened)  # type: ignore[attr-defined]


async def test_killed_repeat_run_resumes_keeping_every_finished_row(
    tasks: Dataset, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    options = RunOptions(repeat=3)
    with pytest.raises(ScriptedCrash):  # dies in trial 1 of beta, after its first turn
        await run_dataset(ScriptedPipeline(crash_after=9), tasks, out, options=options)
    before = (out / "rows.jsonl").read_text().splitlines()
    assert len(before) == 9
    second = ScriptedPipeline()
    frame = await run_dataset(second, tasks, out, options=options)
    assert second.turns_run == 3 * tasks.num_turns - 8  # beta's trial 1 runs again from turn 0
    assert len(frame) == 3 * tasks.num_turns
    assert not frame.duplicated(["turn_id", "trial"]).any()
    kept = (out / "rows.jsonl").read_text().splitlines()
    superseded = (out / SUPERSEDED_FILE).read_text().splitlines()
    assert set(before) <= set(kept) | set(superseded)  # no finished row is ever deleted
    assert [json.loads(line)["turn_id"] for line in superseded] == ["beta#0"]
    again = ScriptedPipeline()
    await run_dataset(again, tasks, out, options=RunOptions(repeat=3))
    assert again.turns_run == 0
    more = ScriptedPipeline()
    frame = await run_dataset(more, tasks, out, options=RunOptions(repeat=4))
    assert more.turns_run == tasks.num_turns and frame["trial"].max() == 3
    assert load_run_info(out)["experiment"]["run"]["repeat"] == 4


async def test_a_folder_written_before_trials_loads_as_trial_zero(
    tasks: Dataset, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    await run_dataset(ScriptedPipeline(), tasks, out)
    added = ("trial", "stt_audio_s", "tts_audio_s", "cost_basis")
    rows = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]
    old = [{k: v for k, v in row.items() if k not in added} for row in rows]
    (out / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in old))
    frame = load_run(out)
    assert (frame["trial"] == 0).all()
    as_of = load_run_info(out)["prices"]["as_of"]
    assert (frame["cost_basis"] == f"prices as of {as_of}").all()
    assert frame["stt_audio_s"].isna().all()
    # the parquet table of an older run reads the same way
    (out / "rows.jsonl").unlink()
    pd.read_parquet(out / "results.parquet").drop(columns=list(added)).to_parquet(
        out / "results.parquet"
    )
    assert (load_run(out)["trial"] == 0).all()
    # and resuming it runs nothing again
    again = ScriptedPipeline()
    (out / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in old))
    await run_dataset(again, tasks, out)
    assert again.turns_run == 0


@pytest.mark.parametrize("repeat", [0, -1, 1.5, True, "3"])
def test_repeat_must_be_a_positive_integer(repeat: object) -> None:
    with pytest.raises(ConfigError, match=r"run\.repeat must be an integer >= 1"):
        run_settings_from_dict({"repeat": repeat}, "exp.toml")


async def test_the_ci_summary_counts_a_turn_once_however_many_trials(
    tasks: Dataset, tmp_path: Path
) -> None:
    pipeline = ScriptedPipeline(fail_turns=frozenset({_turn("alpha", 1), _turn("alpha", 2)}))
    frame = await run_dataset(pipeline, tasks, tmp_path / "run", options=RunOptions(repeat=3))
    table = summarize_ci(frame).set_index("figure")
    assert table.loc["turns", "value"] == tasks.num_turns == 6
    assert table.loc["trials", "value"] == 18 and table.loc["errors", "value"] == 2
    # alpha#0 succeeded in 1 of its 3 trials, the 5 other turns in all of theirs
    success = table.loc["success_rate"]
    assert success["value"] == pytest.approx((1 / 3 + 5) / 6) and success["n"] == 6
    assert table.loc["stt_s_p50", "n"] == 6 and table.loc["stt_s_p50", "value"] == 0.3
    assert table.loc["wer", "value"] == 0.0 and table.loc["wer", "n"] == 6


def test_a_conversation_id_that_clashes_with_a_trial_is_refused(tasks: Dataset) -> None:
    clashing = replace(tasks.conversations[1], conversation_id=trial_conversation_id("alpha", 2))
    dataset = replace(tasks, conversations=(tasks.conversations[0], clashing))
    assert len(plan_trials(dataset, 2).conversations) == 4  # trial 2 is not run: no clash
    with pytest.raises(ConfigError, match="'alpha~trial2' has the id trial 2 of 'alpha'"):
        plan_trials(dataset, 3)


async def test_runs_tabled_together_keep_their_trials_apart(tasks: Dataset, tmp_path: Path) -> None:
    # two one-trial runs of one pipeline: a task's trial 0 of run A and of run B are two
    # trials, not one trial of twice the turns (alpha fails in run B only)
    first = await run_dataset(ScriptedPipeline(), tasks, tmp_path / "a")
    failing = ScriptedPipeline(fail_turns=frozenset({_turn("alpha", 0, 1)}))
    second = await run_dataset(failing, tasks, tmp_path / "b")
    both = pd.concat([first, second], ignore_index=True)
    summary = trial_summary(both).loc["scripted"]
    assert (summary["tasks"], summary["k"], summary["trials_max"]) == (3, 2, 2)
    assert summary["pass_hat_k"] == pytest.approx((0 + 1 + 1) / 3)  # alpha c=1 of n=2
    assert summary["pass_at_k"] == pytest.approx(1.0)
    assert summary["flaky_rate"] == pytest.approx(1 / 3)
    assert summary["partial_trials"] == 0
    costs = build_report([both]).costs
    assert costs is not None and costs.loc["scripted", "successful_tasks"] == 3 + 2


async def test_a_turn_of_two_datasets_is_two_turns_not_two_trials(
    tasks: Dataset, tmp_path: Path
) -> None:
    # the same pipeline on a dataset and on a copy of it under another name (as a conditioned
    # copy is): the same turn ids, but 12 turns of one trial each, not 6 turns of two trials
    copy = replace(tasks, name="tasks[gain=-6;seed=0]")
    clean = await run_dataset(ScriptedPipeline(), tasks, tmp_path / "clean")
    louder = await run_dataset(ScriptedPipeline(), copy, tmp_path / "copy")
    table = summarize_ci(pd.concat([clean, louder], ignore_index=True)).set_index("figure")
    assert table.loc["turns", "value"] == 2 * tasks.num_turns
    assert "trials" not in table.index
