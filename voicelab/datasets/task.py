"""A dataset folder's ``task.toml``: what the dataset expects to be run with (its agent)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from voicelab.errors import DatasetError

TASK_FILE = "task.toml"
_KNOWN_KEYS = {"agent"}


@dataclass(frozen=True, kw_only=True)
class TaskFile:
    """The settings a dataset names for itself."""

    path: Path
    """The ``task.toml`` read."""
    agent: str | None = None
    """Agent spec (``agent.py:agent`` or ``package.module:NAME``), relative to the folder."""

    @property
    def folder(self) -> Path:
        """The folder relative paths in the file are taken from."""
        return self.path.parent


def read_task(dataset_path: str | Path) -> TaskFile | None:
    """The ``task.toml`` beside a dataset (in the folder, or beside the manifest), if any."""
    path = Path(dataset_path)
    folder = path if path.is_dir() else path.parent
    task_path = folder / TASK_FILE
    if not task_path.is_file():
        return None
    try:
        data = tomllib.loads(task_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise DatasetError(f"{task_path}: cannot read task file ({e})") from e
    unknown = sorted(set(data) - _KNOWN_KEYS)
    if unknown:
        raise DatasetError(
            f"{task_path}: unknown key(s) {', '.join(unknown)}; known: {', '.join(_KNOWN_KEYS)}"
        )
    agent = data.get("agent")
    if agent is not None and (not isinstance(agent, str) or not agent.strip()):
        raise DatasetError(f"{task_path}: agent must be a string like 'agent.py:agent'")
    return TaskFile(path=task_path, agent=agent)
