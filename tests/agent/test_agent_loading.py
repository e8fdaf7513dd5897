"""Loading the user's agent by file path or module: the agent, or a ConfigError naming the spec."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from agents import Agent

from voicelab.agent.description import agent_hash, describe_agent, resolve_tool_choice
from voicelab.agent.loading import default_agent, load_agent
from voicelab.datasets.task import read_task
from voicelab.errors import ConfigError, DatasetError

HERE = Path(__file__).resolve().parent
AGENT_FILE = HERE / "unit_converter_agent.py"


@pytest.mark.parametrize("name", ["agent", "make_agent"])
def test_loads_an_agent_or_a_factory_from_a_file_outside_the_package(name: str) -> None:
    loaded = load_agent(f"{AGENT_FILE}:{name}")
    assert isinstance(loaded.agent, Agent) and loaded.agent.name == "units"
    assert [t.name for t in loaded.agent.tools] == ["convert_units"]  # type: ignore[union-attr]
    assert loaded.spec == f"{AGENT_FILE}:{name}" and not loaded.is_default


def test_relative_file_is_taken_from_the_base_dir() -> None:
    loaded = load_agent("unit_converter_agent.py:agent", base_dir=HERE)
    assert loaded.spec == f"{AGENT_FILE}:agent"


def test_module_spec_and_the_default() -> None:
    loaded = load_agent("voicelab.demo.support_agent:make_support_agent")
    assert loaded.agent.name == "support"
    assert default_agent().is_default and default_agent().agent.name == "support"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_file.py:agent", "no such file"),
        (f"{AGENT_FILE}:missing", "has no name 'missing'.*convert_units"),
        (f"{AGENT_FILE}:not_an_agent", "is a str, not an agents.Agent"),
        (f"{AGENT_FILE}:convert", "needs arguments"),
        ("voicelab.no_such_module:agent", "cannot import module"),
        ("just-a-name", "expected FILE.py:NAME"),
    ],
)
def test_bad_specs_are_config_errors(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_agent(spec)


def test_a_file_that_fails_to_import_says_so(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("import not_a_real_package_xyz\n")
    with pytest.raises(ConfigError, match=r"loading .*broken.py failed: ModuleNotFoundError"):
        load_agent(f"{tmp_path / 'broken.py'}:agent")


def test_description_and_hash_follow_what_the_agent_is() -> None:
    loaded = load_agent(f"{AGENT_FILE}:agent").agent
    described = describe_agent(loaded)
    assert described["tools"][0]["name"] == "convert_units"
    value = described["tools"][0]["parameters"]["properties"]["value"]
    assert value["type"] == "number"
    assert agent_hash(described) == agent_hash(describe_agent(loaded.clone()))
    changed = describe_agent(loaded.clone(instructions="Be terse."))
    assert agent_hash(changed) != agent_hash(described)
    assert resolve_tool_choice(None, loaded, "required") == "required"
    assert resolve_tool_choice("auto", loaded, "required") == "auto"


def test_task_file_names_the_dataset_agent(tmp_path: Path, demo_data: Path) -> None:
    task = read_task(demo_data)
    assert task is not None and task.agent is not None
    assert load_agent(task.agent, base_dir=task.folder).agent.name == "support"
    assert read_task(tmp_path) is None
    (tmp_path / "task.toml").write_text('agent = "a.py:agent"\nmodel = "x"\n')
    with pytest.raises(DatasetError, match=r"unknown key.*model"):
        read_task(tmp_path)


@pytest.mark.parametrize(
    ("spec", "message"),
    [("missing.py:agent", "no such file"), (f"{AGENT_FILE}:not_an_agent", "not an agents.Agent")],
)
def test_cli_refuses_a_bad_agent_without_a_traceback(
    tmp_path: Path, demo_data: Path, spec: str, message: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "voicelab.cli", "run", "--dataset", str(demo_data),
         "--agent", spec, "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "voicelab: error:" in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()  # refused before anything was written
