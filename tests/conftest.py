"""Shared fixtures: the real recorded speech in ../shared/data and the demo dataset."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
import soundfile as sf

from voicelab.datasets.types import Turn
from voicelab.server.runner import LocalServer
from voicelab.server.state import ServerConfig

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
DEMO_DATA = REPO / "data" / "support"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of the shared recordings (fsdd-sample, ljspeech-sample)."""
    assert SHARED_DATA.is_dir(), f"shared data not found at {SHARED_DATA}"
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo_data() -> Path:
    """The project's demo customer-support dataset."""
    return DEMO_DATA


@pytest.fixture(scope="session")
def server() -> Iterator[LocalServer]:
    """The default local server on a free loopback port, for the whole session."""
    with LocalServer(ServerConfig(port=0)) as running:
        yield running


def _write_wav(path: Path, samples: npt.ArrayLike, rate_hz: int = 16_000) -> Path:
    sf.write(path, np.asarray(samples, dtype=np.float32), rate_hz, subtype="PCM_16")
    return path


@pytest.fixture
def no_speech_wavs(tmp_path: Path) -> dict[str, Path]:
    """Valid WAV files with no speech in them: one sample, ten minutes of digital silence, and
    3 s of seeded white noise at -50 dBFS (a quiet room recorded with no one talking)."""
    rate_hz = 16_000
    noise = np.random.default_rng(0).normal(0.0, 10 ** (-50 / 20), 3 * rate_hz)
    return {
        "one-sample": _write_wav(tmp_path / "one-sample.wav", [0.1], rate_hz),
        "silence": _write_wav(tmp_path / "silence.wav", np.zeros(600 * rate_hz), rate_hz),
        "noise": _write_wav(tmp_path / "noise.wav", noise, rate_hz),
    }


@pytest.fixture
def no_speech_turns(no_speech_wavs: dict[str, Path]) -> tuple[Turn, ...]:
    """Turns ``mute#0..2`` of those files, with references that would be scored if answered."""
    return tuple(
        Turn(conversation_id="mute", turn_index=i, audio=path,
             reference_text="where is my order", expected_keywords=("order",))
        for i, path in enumerate(no_speech_wavs.values())
    )  # fmt: skip


@pytest.fixture
def assert_refused_as_no_speech(
    no_speech_wavs: dict[str, Path],
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Check a run's rows of ``no_speech_turns``: errors naming the file, nothing scored."""

    def check(frame: pd.DataFrame) -> pd.DataFrame:
        rows = frame.set_index("turn_id").loc[[f"mute#{i}" for i in range(len(no_speech_wavs))]]
        types = ["AudioError", "NoSpeechError", "NoSpeechError"]
        assert rows["error_type"].fillna("-").tolist() == types, rows["error"].tolist()
        for error, path in zip(rows["error"], no_speech_wavs.values(), strict=True):
            assert str(path) in error
        assert "too short" in rows["error"].iloc[0] and "no speech" in rows["error"].iloc[1]
        for column in ("wer", "quality", "answer_ok", "user_transcript", "agent_audio_s"):
            assert rows[column].isna().all(), (column, rows[column].tolist())
        return rows

    return check
