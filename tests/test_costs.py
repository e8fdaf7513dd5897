"""Cost per turn / 1,000 turns / successful task, re-pricing stored usage, projections."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from voicelab.costs import cost_summary, reprice, run_pricing
from voicelab.datasets.types import Conversation, Dataset, Turn
from voicelab.errors import ConfigError, ResultsError
from voicelab.execution.trials import trial_conversation_id
from voicelab.metrics.cost import STAND_IN_BACKENDS, load_price_table, run_pricing_for
from voicelab.run_folder import load_run, load_run_info
from voicelab.runner import RunOptions, run_dataset
from voicelab.server.state import BACKENDS
from voicelab.testing import ScriptedPipeline

COST_COLUMNS = ["cost_usd", "cost_basis", "judge_cost_usd", "judge_cost_basis"]
# Every component of the scripted pipeline runs "local/scripted". This table prices it
# (no free "local/" prefix here), so each row's stored usage has a known cost.
LOCAL_PRICED = """
as_of = "2031-02-03"
source = "https://example.org/prices"
[models."local/scripted"]
audio_input_per_minute = 0.6
text_input_per_1m_tokens = 1.0
text_output_per_1m_tokens = 2.0
characters_per_1m = 10.0
"""
# The scripted pipeline's usage per turn: 1.0 s of STT audio, 10 input and 5 output tokens,
# no TTS characters. STT: 1/60 min * 0.6 = 0.01; LLM: (10 * 1.0 + 5 * 2.0) / 1e6 = 0.00002;
# TTS: 0 characters.
SCRIPTED_TURN_USD = 0.01 + 0.00002


def _dataset(tmp_path: Path) -> Dataset:
    """Two conversations of two turns; the scripted echo passes each turn's keyword check."""
    wav = tmp_path / "tone.wav"
    sf.write(wav, 0.2 * np.sin(np.arange(1600) / 5.0), 16_000)

    def turn(name: str, index: int) -> Turn:
        return Turn(conversation_id=name, turn_index=index, audio=wav,
                    reference_text=f"{name} turn {index}", expected_keywords=(name,))  # fmt: skip

    conversations = tuple(
        Conversation(conversation_id=name, turns=(turn(name, 0), turn(name, 1)))
        for name in ("north", "south")
    )
    return Dataset(name="costs", conversations=conversations)


@pytest.fixture
def run_folder(tmp_path: Path) -> Path:
    """A scripted run of 2 conversations x 2 turns x 2 trials; south fails in trial 1."""
    out = tmp_path / "run"
    fail = frozenset({f"{trial_conversation_id('south', 1)}#1"})
    pipeline = ScriptedPipeline(fail_turns=fail)
    asyncio.run(run_dataset(pipeline, _dataset(tmp_path), out, options=RunOptions(repeat=2)))
    return out


def test_repricing_changes_only_the_cost_columns(run_folder: Path, tmp_path: Path) -> None:
    frame = load_run(run_folder)
    assert (frame["cost_usd"] == 0.0).all()  # local models are free in the shipped table
    prices = tmp_path / "prices.toml"
    prices.write_text(LOCAL_PRICED)
    info = load_run_info(run_folder)
    assert info["models"] == {"stt": "local/scripted", "llm": "local/scripted",
                              "tts": "local/scripted"}  # fmt: skip
    repriced = reprice(frame, run_pricing(info, load_price_table(prices), None, "run"))
    others = [c for c in frame.columns if c not in COST_COLUMNS]
    pd.testing.assert_frame_equal(repriced[others], frame[others])
    priced = repriced[repriced["error"].isna()]
    assert priced["cost_usd"].tolist() == pytest.approx([SCRIPTED_TURN_USD] * len(priced))
    assert (repriced["cost_basis"] == "prices as of 2031-02-03").all()


def test_repricing_reprices_the_judges_stored_tokens_too(run_folder: Path, tmp_path: Path) -> None:
    # a row judged by "local/scripted" with 1M input and 0.5M output tokens, priced at the
    # shipped table (free); the new table prices them at 1.0 + 0.5 * 2.0 = 2.0 USD
    frame = load_run(run_folder).assign(
        judge_model=pd.array(["local/scripted"] * 8, dtype="string"),
        judge_input_tokens=pd.array([1_000_000] * 8, dtype="Int64"),
        judge_output_tokens=pd.array([500_000] * 4 + [None] * 4, dtype="Int64"),
        judge_cost_usd=pd.array([0.0] * 4 + [None] * 4, dtype="Float64"),
    )
    prices = tmp_path / "prices.toml"
    prices.write_text(LOCAL_PRICED)
    info = load_run_info(run_folder)
    repriced = reprice(frame, run_pricing(info, load_price_table(prices), None, "run"))
    assert repriced["judge_cost_usd"].tolist()[:4] == pytest.approx([2.0] * 4)
    assert repriced["judge_cost_usd"].isna().tolist() == [False] * 4 + [True] * 4
    unjudged = reprice(load_run(run_folder), run_pricing(info, load_price_table(prices), None, "r"))
    assert unjudged["judge_cost_usd"].isna().all()


def test_repricing_keeps_a_projected_judges_basis_a_projection(
    run_folder: Path, tmp_path: Path
) -> None:
    # rows 0-3 judged by a stand-in server (a projection), rows 4-7 by the paid model
    bases = ["projection: local/scripted, prices as of old"] * 4 + ["prices as of old"] * 4
    frame = load_run(run_folder).assign(
        judge_model=pd.array(["local/scripted"] * 8, dtype="string"),
        judge_input_tokens=pd.array([1_000_000] * 8, dtype="Int64"),
        judge_output_tokens=pd.array([500_000] * 8, dtype="Int64"),
        judge_cost_basis=pd.array(bases, dtype="string"),
    )
    prices = tmp_path / "prices.toml"
    prices.write_text(LOCAL_PRICED)
    repriced = reprice(frame, run_pricing(load_run_info(run_folder), load_price_table(prices),
                                          None, "run"))  # fmt: skip
    assert repriced["judge_cost_basis"].tolist() == (
        ["projection: local/scripted, prices as of 2031-02-03"] * 4
        + ["prices as of 2031-02-03"] * 4
    )
    assert repriced["judge_cost_usd"].tolist() == pytest.approx([2.0] * 8)
    unjudged = reprice(
        load_run(run_folder),
        run_pricing(load_run_info(run_folder), load_price_table(prices), None, "r"),
    )
    assert unjudged["judge_cost_basis"].isna().all()


def test_cost_per_turn_per_1k_and_per_successful_task(run_folder: Path, tmp_path: Path) -> None:
    prices = tmp_path / "prices.toml"
    prices.write_text(LOCAL_PRICED)
    frame = load_run(run_folder)
    frame = reprice(frame, run_pricing(load_run_info(run_folder), load_price_table(prices),
                                       None, "run"))  # fmt: skip
    costs = cost_summary(frame).loc["scripted"]
    # 8 rows; the failed turn's scripted error result carries no usage: it costs 0
    failed_usd = float(frame.loc[frame["error"].notna(), "cost_usd"].iloc[0])
    total = 7 * SCRIPTED_TURN_USD + failed_usd
    assert costs["turns"] == 8 and costs["unpriced_turns"] == 0
    assert costs["cost_usd_total"] == pytest.approx(total)
    assert costs["cost_usd_per_turn"] == pytest.approx(total / 8)
    assert costs["cost_usd_per_1k_turns"] == pytest.approx(total / 8 * 1000)
    # 4 (conversation, trial) tasks, south's trial 1 failed: 3 succeeded
    assert costs["successful_tasks"] == 3
    assert costs["cost_usd_per_successful_task"] == pytest.approx(total / 3)


def test_a_projection_is_labelled_and_priced_on_the_named_models(run_folder: Path) -> None:
    frame = load_run(run_folder)
    table = load_price_table()
    spec = "gpt-4o-transcribe,gpt-4o,gpt-4o-mini-tts"
    projected = reprice(frame, run_pricing(load_run_info(run_folder), table, spec, "run"))
    assert (projected["cost_basis"] == (
        f"projection: gpt-4o-transcribe, gpt-4o, gpt-4o-mini-tts, prices as of {table.as_of}"
    )).all()  # fmt: skip
    stt = table.models["gpt-4o-transcribe"]["audio_input_per_minute"]
    llm = table.models["gpt-4o"]
    expected = (
        1.0 / 60 * stt
        + (10 * llm["text_input_per_1m_tokens"] + 5 * llm["text_output_per_1m_tokens"]) / 1e6
    )
    ok = projected[projected["error"].isna()]
    assert ok["cost_usd"].tolist() == pytest.approx([expected] * len(ok))
    summary = cost_summary(projected)
    assert summary.loc["scripted", "cost_basis"].startswith("projection: gpt-4o-transcribe")


def test_usage_a_projection_cannot_price_is_na(run_folder: Path) -> None:
    frame = load_run(run_folder)
    frame.loc[frame.index[0], "stt_audio_s"] = pd.NA  # an older row: its STT seconds unknown
    frame.loc[frame.index[1], ["llm_requests", "llm_input_tokens", "llm_output_tokens"]] = [2, 0, 0]
    spec = "gpt-4o-transcribe,gpt-4o,gpt-4o-mini-tts"
    projected = reprice(frame, run_pricing(load_run_info(run_folder), load_price_table(), spec,
                                           "run"))  # fmt: skip
    assert projected["cost_usd"].iloc[:2].isna().all()  # not 0
    assert projected["cost_usd"].iloc[2:].notna().all()
    costs = cost_summary(projected).loc["scripted"]
    assert costs["unpriced_turns"] == 2 and np.isnan(costs["cost_usd_total"])


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("gpt-4o-transcribe,gpt-4o", "give STT,LLM,TTS models"),
        ("realtime=gpt-realtime", "the run's components are stt, llm, tts"),
        ("gpt-4o-transcribe,no-such-model,gpt-4o-mini-tts", "no price for no-such-model"),
    ],
)
def test_a_projection_that_does_not_fit_the_run_is_refused(
    run_folder: Path, spec: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        run_pricing(load_run_info(run_folder), load_price_table(), spec, "run")


def test_report_cli_reprices_and_labels_the_projection(run_folder: Path, tmp_path: Path) -> None:
    def report(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "voicelab.cli", "report", str(run_folder), *args],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    plain = report()
    assert plain.returncode == 0, plain.stderr
    assert "pass_hat_k" in plain.stdout and "cost_usd_per_successful_task" in plain.stdout
    projected = report("--price-as", "gpt-4o-transcribe,gpt-4o,gpt-4o-mini-tts")
    assert projected.returncode == 0, projected.stderr
    assert "projection: gpt-4o-transcribe, gpt-4o, gpt-4o-mini-tts" in projected.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('[models."gpt-4o"]\nsource = "x"\ntext_input_per_1m_tokens = "cheap"\n')
    refused = report("--prices", str(bad))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith(f"voicelab: error: {bad}: model 'gpt-4o'")


def test_a_projection_may_name_some_components_and_the_label_shows_all(run_folder: Path) -> None:
    table = load_price_table()
    pricing = run_pricing(load_run_info(run_folder), table, "llm=gpt-4o", "run")
    assert pricing.basis == (
        f"projection: local/scripted, gpt-4o, local/scripted, prices as of {table.as_of}"
    )
    projected = reprice(load_run(run_folder), pricing)
    ok = projected[projected["error"].isna()]
    rates = table.models["gpt-4o"]  # 10 input and 5 output tokens a turn; STT and TTS stay local
    expected = (
        10 * rates["text_input_per_1m_tokens"] + 5 * rates["text_output_per_1m_tokens"]
    ) / 1e6
    assert ok["cost_usd"].tolist() == pytest.approx([expected] * len(ok))


def test_a_stand_in_server_is_priced_as_a_projection() -> None:
    labels = {b.label for b in BACKENDS.values()} | {b.realtime_label for b in BACKENDS.values()}
    assert set(STAND_IN_BACKENDS) == labels  # every label voicelab's own server answers with
    table = load_price_table()
    models = {"realtime": "gpt-realtime"}
    assert run_pricing_for(models, "openai", table, None).basis.startswith("prices as of")
    served = run_pricing_for(models, "local-cascade", table, None)
    assert served.projection and served.basis.startswith("projection: gpt-realtime")


PROJECTION = "gpt-4o-transcribe,gpt-4o,gpt-4o-mini-tts"


def _resume(out: Path, dataset: Dataset, **pricing: object) -> pd.DataFrame:
    return asyncio.run(
        run_dataset(ScriptedPipeline(), dataset, out, options=RunOptions(save_audio=False),
                    **pricing)  # type: ignore[arg-type]
    )  # fmt: skip


def test_resuming_on_another_pricing_basis_is_refused_and_nothing_is_touched(
    tmp_path: Path,
) -> None:
    dataset = _dataset(tmp_path)
    out = tmp_path / "run"
    local = tmp_path / "local.toml"
    local.write_text(LOCAL_PRICED)
    _resume(out, dataset.head(2), prices=load_price_table(local))  # north only: south to go
    before = {name: (out / name).read_bytes() for name in ("rows.jsonl", "run.json")}
    shipped = load_price_table()
    refusals = [
        ({"price_as": PROJECTION}, f"projection: {PROJECTION.replace(',', ', ')}, prices as of "
                                   f"{shipped.as_of}"),
        ({}, f"prices as of {shipped.as_of}"),  # the shipped table, not the run's file
    ]  # fmt: skip
    for pricing, other in refusals:
        with pytest.raises(ResultsError) as refused:
            _resume(out, dataset, **pricing)
        message = str(refused.value)
        assert str(out) in message
        assert "prices as of 2031-02-03" in message and other in message
        assert "voicelab report" in message and "--prices" in message
        assert {name: (out / name).read_bytes() for name in before} == before
    # the same date but other rates is another basis too
    local.write_text(
        LOCAL_PRICED.replace("audio_input_per_minute = 0.6", "audio_input_per_minute = 0.7")
    )
    with pytest.raises(ResultsError, match="another price table"):
        _resume(out, dataset, prices=load_price_table(local))
    local.write_text(LOCAL_PRICED)  # the run's own prices: it resumes
    frame = _resume(out, dataset, prices=load_price_table(local))
    assert len(frame) == 4 and (frame["cost_basis"] == "prices as of 2031-02-03").all()


def test_resuming_a_projection_with_the_same_projection_goes_on(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path)
    out = tmp_path / "run"
    _resume(out, dataset.head(2), price_as=PROJECTION)
    frame = _resume(out, dataset, price_as=PROJECTION)
    assert len(frame) == 4 and frame["cost_basis"].str.startswith("projection: ").all()
    assert frame["cost_basis"].nunique() == 1


NEWER_PRICES = """
as_of = "2032-01-01"
source = "https://example.org/prices"
[models."gpt-4o-transcribe"]
audio_input_per_minute = 0.6
[models."gpt-4o"]
text_input_per_1m_tokens = 1.0
text_output_per_1m_tokens = 2.0
[models."gpt-4o-mini"]
text_input_per_1m_tokens = 0.1
text_output_per_1m_tokens = 0.2
[models."gpt-4o-mini-tts"]
characters_per_1m = 10.0
"""


def test_repricing_a_projected_run_keeps_its_projection_models(tmp_path: Path) -> None:
    out = tmp_path / "run"
    _resume(out, _dataset(tmp_path), price_as=PROJECTION)
    newer = tmp_path / "newer.toml"
    newer.write_text(NEWER_PRICES)
    info = load_run_info(out)
    kept = run_pricing(info, load_price_table(newer), None, "run")
    assert kept.basis == f"projection: {PROJECTION.replace(',', ', ')}, prices as of 2032-01-01"
    repriced = reprice(load_run(out), kept)
    # 1 s of STT at 0.6/min, 10 input and 5 output tokens of gpt-4o, no TTS characters
    assert repriced["cost_usd"].tolist() == pytest.approx([0.01 + 0.00002] * 4)
    named = run_pricing(info, load_price_table(newer), "llm=gpt-4o-mini", "run")
    assert named.basis == (
        "projection: local/scripted, gpt-4o-mini, local/scripted, prices as of 2032-01-01"
    )  # --price-as names the projection afresh, onto the run's own models
    newer.write_text(NEWER_PRICES.replace('[models."gpt-4o"]', '[models."gpt-4.1"]'))
    with pytest.raises(ConfigError, match=r"projection .*run\.json.*no price for gpt-4o\b"):
        run_pricing(info, load_price_table(newer), None, "run")
