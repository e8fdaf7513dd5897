"""An experiment as a file: pipeline name, its config, dataset, agent.

``voicelab run --config experiment.toml`` reads one; every run folder's ``run.json`` stores the
resolved experiment in the same shape (under ``"experiment"``), so
``voicelab run --config runs/X/run.json --out runs/Y`` repeats a run exactly. Experiment TOML::

    pipeline = "realtime"
    dataset = "data/support"            # relative to the experiment file
    agent = "my_agent.py:agent"         # optional; relative to the experiment file
    max_turns = 20                      # optional
    [config]                            # the pipeline's config class, field by field
    base_url = "http://127.0.0.1:8765/v1"
    tool_choice = "required"
    [config.feed]
    mode = "realtime"
    [run]                               # how it executes (voicelab.execution.settings)
    concurrency = 8
    [evaluation.judge]                  # after each turn (voicelab.evaluation.settings)
    model = "gpt-4o-mini"
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicelab.datasets.formats import resolve_spec
from voicelab.errors import ConfigError
from voicelab.evaluation.settings import evaluation_table
from voicelab.execution.settings import run_settings_from_dict

EXPERIMENT_KEYS = ("pipeline", "dataset", "agent", "max_turns", "config", "run", "evaluation")
"""The keys of an experiment, in a TOML file and under ``"experiment"`` in ``run.json``."""
RUN_INFO_KEY = "experiment"


@dataclass(frozen=True, kw_only=True)
class Experiment:
    """What to run: the pipeline, its settings, the dataset and the agent."""

    pipeline: str = "chained-local"
    """A registered pipeline name."""
    dataset: str | None = None
    """Manifest or folder; a relative path is taken from the experiment file's folder."""
    agent: str | None = None
    """``FILE.py:NAME`` or ``package.module:NAME``; None: the dataset's task.toml, else the demo."""
    max_turns: int | None = None
    """Only the first whole conversations up to this many turns."""
    config: Mapping[str, Any] = field(default_factory=dict)
    """The pipeline's config class as a table (nested tables for nested settings)."""
    run: Mapping[str, Any] = field(default_factory=dict)
    """How the run executes: concurrency, retry, rate_limits (not part of ``config_hash``)."""
    evaluation: Mapping[str, Any] = field(default_factory=dict)
    """What is evaluated after each turn: judge, agent_wer (not part of ``config_hash``)."""

    def __post_init__(self) -> None:
        turns = self.max_turns
        if turns is not None and (
            isinstance(turns, bool) or not isinstance(turns, int) or turns < 1
        ):
            raise ConfigError(
                f"max_turns must be a positive integer (--max-turns N), not {turns!r}"
            )

    def record(self) -> dict[str, Any]:
        """The experiment as JSON-ready data (``run.json``'s ``"experiment"``)."""
        return {
            "pipeline": self.pipeline,
            "dataset": self.dataset,
            "agent": self.agent,
            "max_turns": self.max_turns,
            "config": dict(self.config),
            "run": dict(self.run),
            "evaluation": dict(self.evaluation),
        }


def _resolve_path(value: Any, base: Path, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{key} must be a path string, not {value!r}")
    return str((base / value).resolve()) if not Path(value).is_absolute() else value


def _resolve_dataset(value: Any, base: Path) -> str | None:
    """A dataset path or ``FORMAT:PATH`` spec, its local path made absolute from ``base``."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"dataset must be a path string, not {value!r}")
    return resolve_spec(value, base)


def _resolve_agent(value: Any, base: Path) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or ":" not in value:
        raise ConfigError(f"agent must be 'FILE.py:NAME' or 'package.module:NAME', not {value!r}")
    target, _, name = value.rpartition(":")
    if target.endswith(".py") or "/" in target:
        return f"{_resolve_path(target, base, 'agent')}:{name}"
    return value


def experiment_from_dict(data: Mapping[str, Any], base: Path, where: str) -> Experiment:
    """An experiment from parsed data; paths are taken relative to ``base``."""
    unknown = sorted(set(data) - set(EXPERIMENT_KEYS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; an experiment has "
            f"{', '.join(EXPERIMENT_KEYS)}"
        )
    pipeline = data.get("pipeline", "chained-local")
    config = data.get("config") or {}
    max_turns = data.get("max_turns")
    if not isinstance(pipeline, str):
        raise ConfigError(f"{where}: pipeline must be a name, not {pipeline!r}")
    if not isinstance(config, Mapping):
        raise ConfigError(f"{where}: config must be a table, not {config!r}")
    run = data.get("run") or {}
    run_settings_from_dict(run, where)  # refused now, not when the run starts
    try:
        return Experiment(
            pipeline=pipeline,
            dataset=_resolve_dataset(data.get("dataset"), base),
            agent=_resolve_agent(data.get("agent"), base),
            max_turns=max_turns,
            config=dict(config),
            run=dict(run),
            evaluation=evaluation_table(data.get("evaluation"), base, f"{where}: evaluation"),
        )
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None


def load_experiment(path: str | Path) -> Experiment:
    """An experiment from a ``.toml`` file or a run folder's ``run.json``."""
    path = Path(path)
    if path.is_dir():
        path = path / "run.json"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read experiment ({e.strerror or e})") from e
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: not a valid experiment file ({e})") from e
    if isinstance(data, dict) and path.suffix == ".json":
        if RUN_INFO_KEY not in data:
            raise ConfigError(f"{path}: holds no {RUN_INFO_KEY!r} (not a voicelab run.json)")
        data = data[RUN_INFO_KEY]
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: an experiment is a table/object")
    return experiment_from_dict(data, path.parent, str(path))
