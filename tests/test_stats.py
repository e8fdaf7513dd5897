from __future__ import annotations

import asyncio
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from voicelab.datasets import load_dataset
from voicelab.errors import ConfigError
from voicelab.metrics.wer import error_rates
from voicelab.runner import run_dataset
from voicelab.stats import (
    BootstrapConfig,
    corpus_wer_ci,
    mean_ci,
    quantile_ci,
    rate_ci,
    summarize_ci,
)
from voicelab.testing import ScriptedPipeline

FAILED = frozenset({"0_george_0#0", "3_theo_2#0"})


@pytest.fixture(scope="module")
def fsdd_run(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """150 scripted turns of real spoken digits, latencies jittered, two failed turns."""
    dataset = load_dataset(shared_data / "fsdd-sample")
    pipeline = ScriptedPipeline(jitter_ms=40, seed=1, fail_turns=FAILED)
    out = tmp_path_factory.mktemp("stats") / "run"
    return asyncio.run(run_dataset(pipeline, dataset, out))


def _coverage(draw: object, true_value: float, statistic: str) -> float:
    """Share of 200 seeded samples of 50 whose 95% bootstrap CI holds the true value."""
    rng = np.random.default_rng(2024)
    hits = 0
    for trial in range(200):
        sample = draw(rng)  # type: ignore[operator]
        config = BootstrapConfig(n_resamples=999, seed=trial)
        estimate = (
            quantile_ci(sample, 0.5, config) if statistic == "median" else mean_ci(sample, config)
        )
        hits += estimate.low <= true_value <= estimate.high
    return hits / 200


# 200 trials of a 95 % interval: the hit count is Binomial(200, 0.95), standard deviation
# sqrt(0.95 * 0.05 / 200) = 0.0154. Three of them either side (0.904..0.996) holds a truly
# nominal interval with probability 0.997, and fails one that is off by 5 points or more.
_TOLERANCE = 3 * math.sqrt(0.95 * 0.05 / 200)


@pytest.mark.parametrize(
    ("statistic", "distribution"),
    [("median", sps.lognorm(0.5)), ("mean", sps.gamma(2.0))],
    ids=["median-of-lognormal", "mean-of-gamma"],
)
def test_bootstrap_ci_covers_the_true_value_at_the_nominal_rate(
    statistic: str, distribution: sps.rv_continuous
) -> None:
    true_value = float(distribution.median() if statistic == "median" else distribution.mean())
    coverage = _coverage(lambda rng: distribution.rvs(50, random_state=rng), true_value, statistic)
    assert abs(coverage - 0.95) <= _TOLERANCE, coverage


def test_same_seed_same_interval_other_seed_other_interval() -> None:
    sample = sps.lognorm(0.5).rvs(40, random_state=np.random.default_rng(3))
    first = mean_ci(sample, BootstrapConfig(seed=1))
    assert mean_ci(sample, BootstrapConfig(seed=1)) == first
    assert mean_ci(sample, BootstrapConfig(seed=2)) != first
    assert first.low < first.value < first.high and first.n == 40


def test_constant_and_missing_values() -> None:
    config = BootstrapConfig()
    assert quantile_ci([0.3] * 20, 0.5, config) == quantile_ci([0.3] * 20, 0.5, config)
    constant = quantile_ci(pd.Series([0.3] * 20 + [None], dtype="Float64"), 0.5, config)
    assert (constant.value, constant.low, constant.high, constant.n) == (0.3, 0.3, 0.3, 20)
    empty = mean_ci(pd.Series([None, None], dtype="Float64"), config)
    assert math.isnan(empty.value) and empty.n == 0


def test_rate_is_a_wilson_interval() -> None:
    # Wilson, 10 of 10 at z = 1.959964: low = n / (n + z^2) = 10 / 13.841459 = 0.722467
    estimate = rate_ci([True] * 10, BootstrapConfig())
    assert estimate.value == 1.0 and estimate.high == 1.0
    assert estimate.low == pytest.approx(0.722467, abs=1e-6)
    half = rate_ci(pd.Series([True, False] * 10 + [None], dtype="boolean"), BootstrapConfig())
    assert half.value == 0.5 and half.n == 20 and half.low < 0.5 < half.high


def test_corpus_wer_is_the_corpus_figure_with_a_turn_bootstrap(fsdd_run: pd.DataFrame) -> None:
    frame = fsdd_run.copy()
    ok = frame.index[frame["error"].isna()]
    wrong = ok[::10]  # 15 one-word turns heard as another word
    frame.loc[wrong, "user_transcript"] = "banana"
    estimate = corpus_wer_ci(frame, BootstrapConfig())
    scored = frame.loc[ok]
    expected = error_rates(
        scored["reference_text"].astype(str).tolist(), scored["user_transcript"].tolist()
    ).wer
    assert estimate.value == pytest.approx(expected)
    assert estimate.value == pytest.approx(len(wrong) / len(ok))
    assert estimate.n == len(ok) == 148
    assert 0.0 < estimate.low < estimate.value < estimate.high < 0.25


def test_summary_by_a_tag_has_every_figure_per_speaker(fsdd_run: pd.DataFrame) -> None:
    table = summarize_ci(fsdd_run, by=["pipeline", "speaker"], config=BootstrapConfig())
    assert list(table.columns) == ["pipeline", "speaker", "figure", "value", "low", "high", "n"]
    assert sorted(table["speaker"].unique()) == ["george", "jackson", "theo"]
    rows = table.set_index(["speaker", "figure"])
    assert rows.loc[("george", "turns"), "value"] == 50
    assert rows.loc[("george", "errors"), "value"] == 1
    assert rows.loc[("jackson", "errors"), "value"] == 0
    assert rows.loc[("theo", "success_rate"), "value"] == pytest.approx(49 / 50)
    george = fsdd_run[fsdd_run["turn_id"].str.contains("george") & fsdd_run["error"].isna()]
    p50 = rows.loc[("george", "stt_s_p50")]
    assert p50["value"] == pytest.approx(float(george["stt_s"].astype(float).median()))
    assert p50["low"] < p50["value"] < p50["high"] and p50["n"] == 49
    assert rows.loc[("george", "voice_to_voice_s_p90"), "value"] > p50["value"]
    assert "endpointing_s_p50" not in set(table["figure"])  # no data for the scripted stage


def test_bad_confidence_is_refused() -> None:
    with pytest.raises(ConfigError, match="confidence must be between 0 and 1"):
        BootstrapConfig(confidence=95)
