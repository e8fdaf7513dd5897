from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from voicelab import plots, stats
from voicelab.datasets import apply_conditions, load_dataset
from voicelab.datasets.types import Dataset
from voicelab.errors import ResultsError
from voicelab.plot_data import pareto_front, pipeline_colour, with_conditions
from voicelab.report import summarize
from voicelab.runner import RunOptions, run_dataset
from voicelab.testing import ScriptedPipeline

FAST = {"stt": 120, "llm": 300, "tts": 90}
SLOW = {"stt": 400, "llm": 200, "tts": 150}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two real runs over 15 fsdd conversations (3 speakers), with a few misheard turns."""
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd-sample"
    full = load_dataset(shared)
    dataset = Dataset(name=full.name, conversations=full.conversations[::10])
    ids = [c.turns[0].turn_id for c in dataset]
    out = tmp_path_factory.mktemp("plots")
    options = RunOptions(save_audio=False)
    fast = ScriptedPipeline(name="chained-local", stage_ms=FAST, heard={ids[1]: "three"})
    slow = ScriptedPipeline(name="realtime", stage_ms=SLOW, fail_turns=frozenset({ids[2]}),
                            heard={ids[4]: "nine nine"})  # fmt: skip
    a = asyncio.run(run_dataset(fast, dataset, out / "a", options=options))
    b = asyncio.run(run_dataset(slow, dataset, out / "b", options=options))
    return a, b


@pytest.fixture(scope="module")
def frame(runs: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(runs, ignore_index=True)


def _by_gid(ax: Axes, gid: str) -> list[object]:
    return [a for a in ax.get_children() if a.get_gid() == gid]


def _render(fig: Figure, path: Path) -> None:
    fig.savefig(path)  # drawing must not fail; the PNG is a test artefact
    assert path.stat().st_size > 1000


def test_latency_ecdf_marks_each_median(frame: pd.DataFrame, tmp_path: Path) -> None:
    fig = plots.latency_ecdf(frame)
    ax = fig.axes[0]
    assert ax.get_xlabel().endswith("(s)") and "end of speech" in ax.get_xlabel()
    assert ax.get_ylabel() and ax.get_title()
    for pipeline in ("chained-local", "realtime"):
        (marker,) = _by_gid(ax, f"median:{pipeline}")
        assert isinstance(marker, Line2D)
        ok = frame[(frame["pipeline"] == pipeline) & frame["error"].isna()]
        assert marker.get_xdata()[0] == pytest.approx(ok["voice_to_voice_s"].median())
        assert marker.get_color() == pipeline_colour(pipeline)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["chained-local (n=15)", "realtime (n=14)"]
    _render(fig, tmp_path / "ecdf.png")


def test_stage_waterfall_puts_the_rows_stages_on_one_clock(
    frame: pd.DataFrame, tmp_path: Path
) -> None:
    turn_id = str(frame["turn_id"].iloc[3])
    fig = plots.stage_waterfall(frame, turn_id)
    assert len(fig.axes) == 2 and fig.axes[-1].get_xlabel() == "time from end of user speech (s)"
    row = frame[(frame["turn_id"] == turn_id) & (frame["pipeline"] == "realtime")].iloc[0]
    ax = fig.axes[1]
    (stt,) = _by_gid(ax, "realtime:STT")
    (tts,) = _by_gid(ax, "realtime:TTS first byte")
    assert isinstance(stt, Rectangle) and isinstance(tts, Rectangle)
    assert stt.get_x() == 0 and stt.get_width() == pytest.approx(row["stt_s"])
    assert tts.get_x() + tts.get_width() == pytest.approx(row["voice_to_voice_s"])
    _render(fig, tmp_path / "waterfall.png")
    with pytest.raises(ResultsError, match="nope"):
        plots.stage_waterfall(frame, "nope")


def test_stage_bars_stack_the_median_stages(frame: pd.DataFrame, tmp_path: Path) -> None:
    fig = plots.stage_bars(frame)
    ax = fig.axes[0]
    assert ax.get_xlabel().endswith("(s)")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["chained-local", "realtime"]
    (llm,) = _by_gid(ax, "chained-local:llm_ttft_s")
    assert isinstance(llm, Rectangle)
    assert llm.get_x() == pytest.approx(FAST["stt"] / 1000)
    assert llm.get_width() == pytest.approx(FAST["llm"] / 1000)
    (median,) = _by_gid(ax, "median:realtime")
    assert isinstance(median, Line2D)
    assert median.get_xdata()[0] == pytest.approx(sum(SLOW.values()) / 1000)
    _render(fig, tmp_path / "bars.png")


def test_wer_by_pipeline_matches_the_summary(frame: pd.DataFrame, tmp_path: Path) -> None:
    fig = plots.wer_by(frame)
    ax = fig.axes[0]
    assert "WER" in ax.get_ylabel() and "%" in ax.get_ylabel()
    summary = summarize(frame)
    for pipeline in ("chained-local", "realtime"):
        (bar,) = _by_gid(ax, f"{pipeline}:{pipeline}")
        assert isinstance(bar, Rectangle)
        assert bar.get_height() == pytest.approx(summary.loc[pipeline, "wer"])
        assert bar.get_facecolor()[:3] == pytest.approx(
            tuple(int(pipeline_colour(pipeline)[i : i + 2], 16) / 255 for i in (1, 3, 5))
        )
    assert summary.loc["chained-local", "wer"] > 0
    _render(fig, tmp_path / "wer.png")


def test_wer_by_a_tag_groups_turns_by_its_value(frame: pd.DataFrame, tmp_path: Path) -> None:
    fig = plots.wer_by(frame, by="speaker")
    ax = fig.axes[0]
    speakers = sorted({json.loads(t)["speaker"] for t in frame["tags"]})
    assert [t.get_text() for t in ax.get_xticklabels()] == speakers and ax.get_xlabel() == "speaker"
    misheard = frame[(frame["pipeline"] == "chained-local") & (frame["wer"] > 0)].iloc[0]
    speaker = json.loads(misheard["tags"])["speaker"]
    turns = frame[(frame["pipeline"] == "chained-local") & frame["tags"].str.contains(speaker)]
    (bar,) = _by_gid(ax, f"{speaker}:chained-local")
    assert isinstance(bar, Rectangle)
    assert bar.get_height() == pytest.approx(summarize(turns).loc["chained-local", "wer"])
    _render(fig, tmp_path / "wer_speaker.png")
    with pytest.raises(ResultsError, match="accent"):
        plots.wer_by(frame, by="accent")


def test_cost_vs_latency_plots_median_latency_and_the_front(
    frame: pd.DataFrame, tmp_path: Path
) -> None:
    fig = plots.cost_vs_latency(frame)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "median voice-to-voice latency (s)" and "USD" in ax.get_ylabel()
    (point,) = _by_gid(ax, "point:realtime")
    assert isinstance(point, PathCollection)
    ok = frame[(frame["pipeline"] == "realtime") & frame["error"].isna()]
    assert point.get_offsets()[0][0] == pytest.approx(ok["voice_to_voice_s"].median())
    assert point.get_offsets()[0][1] == 0.0  # local models are free
    (front,) = _by_gid(ax, "pareto")
    assert isinstance(front, Line2D)
    assert list(front.get_xdata()) == pytest.approx([sum(FAST.values()) / 1000])
    _render(fig, tmp_path / "cost.png")


@pytest.mark.parametrize(
    ("points", "front"),
    [
        ([(1.0, 3.0), (2.0, 2.0), (3.0, 1.0)], [0, 1, 2]),
        ([(1.0, 1.0), (2.0, 2.0)], [0]),
        ([(2.0, 1.0), (1.0, 2.0), (2.0, 2.0)], [1, 0]),
        ([(1.0, 1.0), (1.0, 1.0)], [0, 1]),
    ],
)
def test_pareto_front(points: list[tuple[float, float]], front: list[int]) -> None:
    assert pareto_front(points) == front


def test_paired_differences_median_is_the_median_per_turn_difference(
    runs: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    a, b = runs
    fig = plots.paired_differences(a, b)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "voice_to_voice_s: realtime - chained-local (s)"
    assert "14 turns paired, 1 dropped" in ax.get_title()
    (median,) = _by_gid(ax, "median")
    assert isinstance(median, Line2D)
    assert median.get_ydata()[0] == pytest.approx((sum(SLOW.values()) - sum(FAST.values())) / 1000)
    _render(fig, tmp_path / "paired.png")


def test_colours_are_one_per_pipeline_and_stable() -> None:
    assert pipeline_colour("realtime") == pipeline_colour("realtime")
    assert pipeline_colour("my-pipeline") == pipeline_colour("my-pipeline")
    assert len({pipeline_colour(p) for p in ("chained-local", "chained-openai", "realtime")}) == 3


def test_empty_or_unusable_tables_are_refused(frame: pd.DataFrame) -> None:
    empty = frame.iloc[0:0]
    failed = frame.assign(error="boom")
    nan_only = frame.assign(voice_to_voice_s=pd.NA)
    for bad in (empty, failed, nan_only):
        with pytest.raises(ResultsError, match="voice_to_voice_s"):
            plots.latency_ecdf(bad)
        with pytest.raises(ResultsError, match="voice_to_voice_s"):
            plots.stage_bars(bad)
        with pytest.raises(ResultsError, match="voice_to_voice_s"):
            plots.cost_vs_latency(bad)
        with pytest.raises(ResultsError, match="voice_to_voice_s"):
            plots.paired_differences(bad, frame[frame["pipeline"] == "realtime"])
    for bad in (empty, failed):
        with pytest.raises(ResultsError):
            plots.wer_by(bad)
        with pytest.raises(ResultsError):
            plots.stage_waterfall(bad)
    with pytest.raises(ResultsError, match="no column"):
        plots.latency_ecdf(frame.drop(columns=["voice_to_voice_s"]))


# Conditions of the robustness figures: how many of 10 turns the scripted pipeline mishears
# and fails under each
MISHEARD = {"clean": 0, "noise=white,snr_db=20": 1, "noise=white,snr_db=0": 4,
            "noise=babble,snr_db=0,talkers=4": 6, "telephone": 2}  # fmt: skip
FAILED = {"clean": 0, "noise=white,snr_db=20": 0, "noise=white,snr_db=0": 2,
          "noise=babble,snr_db=0,talkers=4": 3, "telephone": 1}  # fmt: skip


@pytest.fixture(scope="module")
def conditioned(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """One scripted pipeline over 10 fsdd turns under each condition: more turns misheard and
    failed as the noise gets louder."""
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd-sample"
    full = load_dataset(shared)
    dataset = Dataset(name=full.name, conversations=full.conversations[::15])
    ids = [c.turns[0].turn_id for c in dataset]
    out = tmp_path_factory.mktemp("conditions")
    frames = []
    for index, (text, misheard) in enumerate(MISHEARD.items()):
        noisy = apply_conditions(dataset, [text] if text != "clean" else [], seed=0, pool=full)
        pipeline = ScriptedPipeline(
            name="chained-local", stage_ms=FAST, heard={i: "nine nine" for i in ids[:misheard]},
            fail_turns=frozenset(ids[len(ids) - FAILED[text]:]),
        )  # fmt: skip
        options = RunOptions(save_audio=False)
        frames.append(asyncio.run(run_dataset(pipeline, noisy, out / str(index), options=options)))
    return pd.concat(frames, ignore_index=True)


def _rows(frame: pd.DataFrame, condition: str) -> pd.DataFrame:
    if condition == "clean":
        return frame[frame["tags"].map(lambda t: "condition" not in json.loads(t))]
    return frame[frame["tags"].map(lambda t: json.loads(t).get("condition") == condition)]


def test_wer_and_task_success_against_snr(conditioned: pd.DataFrame, tmp_path: Path) -> None:
    fig = plots.vs_snr(conditioned)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["clean", "20 dB", "0 dB"]
    assert "WER" in ax.get_ylabel() and "SNR" in ax.get_title()
    white = ax.get_legend().get_texts()
    assert [t.get_text() for t in white] == ["chained-local, babble", "chained-local, white"]
    (line,) = [a for a in ax.get_lines() if a.get_gid() == "chained-local:white"]
    expected = [stats.corpus_wer(_rows(conditioned, c))
                for c in ("clean", "noise=white,snr_db=20", "noise=white,snr_db=0")]  # fmt: skip
    assert list(line.get_ydata()) == pytest.approx(expected)
    assert expected[0] == 0 < expected[1] < expected[2]
    (babble,) = [a for a in ax.get_lines() if a.get_gid() == "chained-local:babble"]
    assert [round(x) for x in babble.get_xdata()] == [0, 2]  # babble ran at 0 dB only; clean first
    _render(fig, tmp_path / "wer_snr.png")

    fig = plots.vs_snr(conditioned, figure="task_success")
    ax = fig.axes[0]
    (babble,) = [a for a in ax.get_lines() if a.get_gid() == "chained-local:babble"]
    # no answer or tool checks in fsdd: a turn succeeds when it has no error
    assert list(babble.get_ydata()) == pytest.approx([1.0, 1 - 3 / 10])
    _render(fig, tmp_path / "success_snr.png")


def test_success_and_wer_by_condition_include_clean_and_telephone(
    conditioned: pd.DataFrame, tmp_path: Path
) -> None:
    frame = with_conditions(conditioned)
    fig = plots.success_by(frame, by="condition")
    ax = fig.axes[0]
    names = [t.get_text() for t in ax.get_xticklabels()]
    assert set(names) == {*MISHEARD} and "Wilson" in ax.get_title()
    for condition, failed in FAILED.items():
        (bar,) = _by_gid(ax, f"{condition}:chained-local")
        assert isinstance(bar, Rectangle)
        assert bar.get_height() == pytest.approx(1 - failed / 10)
    _render(fig, tmp_path / "success_condition.png")
    fig = plots.wer_by(frame, by="condition")
    (bar,) = _by_gid(fig.axes[0], "telephone:chained-local")
    assert isinstance(bar, Rectangle)
    assert bar.get_height() == pytest.approx(stats.corpus_wer(_rows(conditioned, "telephone")))
    with pytest.raises(ResultsError, match="no turn ran under a single noise condition"):
        plots.vs_snr(_rows(conditioned, "telephone"))
    with pytest.raises(ResultsError, match="figure must be one of wer, task_success"):
        plots.vs_snr(conditioned, figure="latency")
