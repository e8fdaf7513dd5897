"""Config classes to and from plain data: round trips, unknown keys, wrong types."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from voicelab.config_io import config_from_dict, config_to_dict, parse_assignment, set_nested
from voicelab.errors import ConfigError
from voicelab.experiment import load_experiment
from voicelab.pipelines.chained.config import ChainedLocalConfig, ChainedOpenAIConfig
from voicelab.pipelines.feeding import FeedConfig
from voicelab.pipelines.realtime.config import RealtimeConfig
from voicelab.registry import PIPELINES


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_every_registered_config_round_trips(name: str) -> None:
    cls = PIPELINES[name].config_class
    default = cls()
    data = config_to_dict(default)
    assert data["feed"] == {"mode": "fast", "chunk_ms": 20.0, "trailing_silence_ms": 800}
    assert data["turn_timeout_s"] == 120.0
    assert config_from_dict(cls, data) == default


def test_values_are_checked_against_the_field_types() -> None:
    config = config_from_dict(
        ChainedOpenAIConfig,
        {"base_url": "http://127.0.0.1:1/v1", "request_timeout_s": 5, "feed": {"chunk_ms": 10}},
    )
    assert config.request_timeout_s == 5.0 and config.feed == FeedConfig(chunk_ms=10.0)
    with pytest.raises(ConfigError, match=r"config.max_retries: expected int, not '3'"):
        config_from_dict(ChainedOpenAIConfig, {"max_retries": "3"}, "config")
    with pytest.raises(ConfigError, match="expected an integer, not True"):
        config_from_dict(ChainedOpenAIConfig, {"max_retries": True})
    with pytest.raises(ConfigError, match="agent_api: must be one of"):
        config_from_dict(ChainedOpenAIConfig, {"agent_api": "graphql"})
    with pytest.raises(ConfigError, match=r"unknown setting.*voice.*ChainedLocalConfig takes"):
        config_from_dict(ChainedLocalConfig, {"voice": "alloy"})
    with pytest.raises(ConfigError, match="feed: expected a table"):
        config_from_dict(RealtimeConfig, {"feed": "fast"}, "feed")


@pytest.mark.parametrize(
    ("text", "path", "value"),
    [
        ("feed.chunk_ms=10", ["feed", "chunk_ms"], 10),
        ("model=gpt-realtime", ["model"], "gpt-realtime"),
        ('tool_choice="required"', ["tool_choice"], "required"),
        ("max_output_tokens = 64", ["max_output_tokens"], 64),
    ],
)
def test_set_assignments(text: str, path: list[str], value: Any) -> None:
    assert parse_assignment(text) == (path, value)
    data: dict[str, Any] = {}
    set_nested(data, path, value)
    built: Any = config_from_dict(RealtimeConfig, data)
    for part in path:
        built = getattr(built, part)
    assert built == value


def test_assignment_without_equals_is_refused() -> None:
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_assignment("feed.chunk_ms")


def test_experiment_file_paths_are_relative_to_it(tmp_path: Path) -> None:
    (tmp_path / "exp.toml").write_text(
        'pipeline = "realtime"\ndataset = "data/x"\nagent = "my_agent.py:agent"\n'
        'max_turns = 3\n[config]\nmodel = "gpt-realtime-mini"\n[config.feed]\nmode = "realtime"\n'
    )
    experiment = load_experiment(tmp_path / "exp.toml")
    assert experiment.pipeline == "realtime" and experiment.max_turns == 3
    assert experiment.dataset == str(tmp_path / "data" / "x")
    assert experiment.agent == f"{tmp_path / 'my_agent.py'}:agent"
    config = config_from_dict(RealtimeConfig, experiment.config)
    assert config.model == "gpt-realtime-mini" and config.feed.mode == "realtime"


def test_experiment_dataset_specs_keep_their_format_and_split(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    for spec, expected in (
        ("hf:corpus:test", f"hf:{tmp_path / 'corpus'}:test"),
        ("hf:org/name:validation", "hf:org/name:validation"),  # a name in the local HF cache
        ("librispeech:corpus", f"librispeech:{tmp_path / 'corpus'}"),
    ):
        (tmp_path / "exp.toml").write_text(f'dataset = "{spec}"\n')
        assert load_experiment(tmp_path / "exp.toml").dataset == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('pipline = "realtime"\n', "unknown key.*pipline"),
        ("max_turns = 0\n", "max_turns must be a positive integer"),
        ("config = 3\n", "config must be a table"),
        ("pipeline = \n", "not a valid experiment file"),
    ],
)
def test_bad_experiment_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "exp.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_experiment(tmp_path / "exp.toml")


def test_a_json_without_an_experiment_is_not_a_run_info(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text('{"pipeline": "x"}')
    with pytest.raises(ConfigError, match=r"not a voicelab run.json"):
        load_experiment(tmp_path)
