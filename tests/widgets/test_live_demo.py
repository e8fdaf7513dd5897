"""The live demo without a browser: what it refuses, in words, and models built once."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from voicelab import load_dataset
from voicelab.widgets import LiveDemo, LiveSession

MICROPHONE = 2  # tab index of the microphone source


def test_import_voicelab_leaves_the_widgets_out() -> None:
    code = "import sys, voicelab; print('ipywidgets' in sys.modules, 'anywidget' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.split() == ["False", "False"], result.stderr


async def test_run_without_a_pipeline_says_so(demo_data: Path) -> None:
    demo = LiveDemo(load_dataset(demo_data), pipelines=())
    assert await demo.run() == []
    assert "no pipeline selected" in demo.status.value
    assert not demo.run_button.disabled


async def test_run_before_recording_asks_for_a_recording() -> None:
    demo = LiveDemo()
    demo.sources.selected_index = MICROPHONE
    assert await demo.run() == []
    assert "nothing recorded yet" in demo.status.value


async def test_a_corrupt_upload_is_named_in_the_message() -> None:
    demo = LiveDemo()
    demo.sources.selected_index = 1
    demo.upload.value = ({"name": "notes.wav", "type": "audio/wav", "size": 9,
                          "content": memoryview(b"not audio"),
                          "last_modified": datetime.now(UTC)},)  # fmt: skip
    assert await demo.run() == []
    assert "notes.wav" in demo.status.value and "not readable audio" in demo.status.value


def test_the_recorder_error_reaches_python() -> None:
    demo = LiveDemo()
    demo.recorder.error = "Microphone refused: NotAllowedError"
    demo.sources.selected_index = MICROPHONE
    with pytest.raises(Exception, match="NotAllowedError"):
        demo.selected_turn()


@pytest.mark.slow
async def test_pipelines_are_built_once_and_failures_are_outcomes(
    demo_data: Path, tmp_path: Path
) -> None:
    session = LiveSession(work_dir=tmp_path, configs={"realtime": "not a config"})
    assert session.pipeline("chained-local") is session.pipeline("chained-local")
    turn = load_dataset(demo_data).conversations[0].turns[0]
    built, broken = await session.run(turn, ["chained-local", "realtime"])
    assert built.error is None and built.agent_wav and built.row["user_transcript"]
    assert broken.frame.empty and broken.error is not None and "RealtimeConfig" in broken.error
    assert session.server is None  # nothing needed the local server
