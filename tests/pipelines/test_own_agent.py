"""The user's own agent (a unit converter, loaded from a file) on every architecture."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from voicelab.agent.loading import load_agent
from voicelab.cli import main
from voicelab.datasets import load_dataset
from voicelab.datasets.synthesis import synthesize_script
from voicelab.datasets.tts_piper import PiperSpeech
from voicelab.pipelines.chained.config import ChainedLocalConfig, ChainedOpenAIConfig
from voicelab.pipelines.realtime.config import RealtimeConfig
from voicelab.registry import build_pipeline
from voicelab.run_folder import load_run_info
from voicelab.runner import run_dataset
from voicelab.server.runner import LocalServer

pytestmark = pytest.mark.slow
AGENT_FILE = Path(__file__).resolve().parents[1] / "agent" / "unit_converter_agent.py"
UNITS = {"kilometers", "miles", "kilograms", "pounds"}


@pytest.fixture(scope="module")
def units_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One spoken request, synthesised by the embedded piper voice."""
    folder = tmp_path_factory.mktemp("units")
    turn = {"text": "How many miles is five kilometers?", "expected_tool": "convert_units"}
    script = folder / "script.jsonl"
    script.write_text(json.dumps({"conversation_id": "units", "turns": [turn]}) + "\n")
    synthesize_script(script, folder, PiperSpeech())
    return folder


def _assert_the_agents_tool_was_called(frame: pd.DataFrame) -> dict[str, Any]:
    from tests.agent.unit_converter_agent import convert

    assert frame["error"].isna().all(), frame["error"].dropna().tolist()
    row = frame.iloc[0]
    assert row["tool_choice"] == "required"
    (call,) = json.loads(row["tool_calls"])[:1]
    arguments = call["arguments"]
    assert call["name"] == "convert_units"
    assert isinstance(arguments["value"], int | float) and not isinstance(arguments["value"], bool)
    assert {arguments["from_unit"], arguments["to_unit"]} <= UNITS
    # the row's output is what the agent's own function returns for those arguments
    assert call["output"] == convert(
        arguments["value"], arguments["from_unit"], arguments["to_unit"]
    )
    return dict(call)


@pytest.mark.parametrize("pipeline_name", ["chained-local", "chained-openai", "realtime"])
async def test_own_agent_runs_on_every_pipeline(
    server: LocalServer, units_data: Path, tmp_path: Path, pipeline_name: str
) -> None:
    configs: dict[str, Any] = {
        "chained-local": ChainedLocalConfig(),  # "required" is the embedded model's default
        "chained-openai": ChainedOpenAIConfig(base_url=server.base_url, tool_choice="required"),
        "realtime": RealtimeConfig(base_url=server.base_url, tool_choice="required"),
    }
    agent = load_agent(f"{AGENT_FILE}:agent").agent
    pipeline = build_pipeline(pipeline_name, agent=agent, config=configs[pipeline_name])
    frame = await run_dataset(pipeline, load_dataset(units_data), tmp_path / "run")
    call = _assert_the_agents_tool_was_called(frame)
    print(pipeline_name, call)
    info = load_run_info(tmp_path / "run")
    assert info["pipeline_config"]["agent"]["name"] == "units"


def test_cli_agent_file_and_a_run_repeated_from_its_run_json(
    units_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, again = tmp_path / "first", tmp_path / "again"
    spec = f"{AGENT_FILE}:agent"
    assert main(["run", "--dataset", str(units_data), "--agent", spec, "--out", str(first)]) == 0
    assert f"agent: units from {spec}" in capsys.readouterr().out
    info = load_run_info(first)
    experiment = info["experiment"]
    assert experiment["agent"] == spec and experiment["pipeline"] == "chained-local"
    assert experiment["dataset"] == str(units_data.resolve())
    assert experiment["config"]["feed"]["mode"] == "fast"
    described = info["pipeline_config"]["agent"]
    assert described["tools"][0]["parameters"]["properties"]["value"]["type"] == "number"
    _assert_the_agents_tool_was_called(pd.read_parquet(first / "results.parquet"))

    assert main(["run", "--config", str(first / "run.json"), "--out", str(again)]) == 0
    repeated = load_run_info(again)
    assert repeated["config_hash"] == info["config_hash"]
    assert repeated["experiment"] == experiment
    _assert_the_agents_tool_was_called(pd.read_parquet(again / "results.parquet"))
