"""Loading the user's agent from ``FILE.py:NAME`` or ``package.module:NAME``.

NAME is an ``Agent`` or a zero-argument callable returning one. A file is loaded by its path
(it need not be importable); every failure is a ``ConfigError`` that names the spec.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from voicelab.errors import ConfigError

if TYPE_CHECKING:
    from agents import Agent

DEFAULT_AGENT_SPEC = "voicelab.demo.support_agent:make_support_agent"


@dataclass(frozen=True)
class LoadedAgent:
    """An agent and where it came from."""

    agent: Agent[Any]
    spec: str
    """The spec it was loaded from, with a file path made absolute."""
    is_default: bool = False
    """True when neither ``--agent`` nor the dataset's ``task.toml`` named one."""


def _is_file_spec(target: str) -> bool:
    return target.endswith(".py") or "/" in target or "\\" in target


def _load_file(path: Path, spec: str) -> ModuleType:
    if not path.is_file():
        raise ConfigError(f"agent {spec!r}: no such file {path}")
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    module_name = f"voicelab_user_agent_{path.stem}_{digest}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise ConfigError(f"agent {spec!r}: {path} cannot be loaded as Python")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module  # dataclasses and pydantic look their module up here
    try:
        module_spec.loader.exec_module(module)
    except Exception as e:
        del sys.modules[module_name]
        raise ConfigError(f"agent {spec!r}: loading {path} failed: {type(e).__name__}: {e}") from e
    return module


def _load_module(name: str, spec: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise ConfigError(f"agent {spec!r}: cannot import module {name!r} ({e})") from e
    except Exception as e:
        raise ConfigError(
            f"agent {spec!r}: importing {name} failed: {type(e).__name__}: {e}"
        ) from e


def _as_agent(value: Any, spec: str) -> Agent[Any]:
    from agents import Agent

    if not isinstance(value, Agent) and callable(value):
        try:
            value = value()
        except TypeError as e:
            raise ConfigError(
                f"agent {spec!r}: is a callable that needs arguments ({e}); "
                "name an Agent or a zero-argument function returning one"
            ) from e
    if not isinstance(value, Agent):
        raise ConfigError(
            f"agent {spec!r}: is a {type(value).__name__}, not an agents.Agent "
            "(or a zero-argument function returning one)"
        )
    return value


def load_agent(spec: str, base_dir: str | Path | None = None) -> LoadedAgent:
    """The agent named by ``spec``; a relative file path is taken from ``base_dir`` (or cwd)."""
    target, sep, attribute = spec.rpartition(":")
    if not sep or not target or not attribute:
        raise ConfigError(f"agent {spec!r}: expected FILE.py:NAME or package.module:NAME")
    if _is_file_spec(target):
        path = (Path(base_dir or ".") / target).resolve()
        module = _load_file(path, spec)
        resolved = f"{path}:{attribute}"
    else:
        module = _load_module(target, spec)
        resolved = spec
    if not hasattr(module, attribute):
        names = sorted(n for n in vars(module) if not n.startswith("_"))
        raise ConfigError(
            f"agent {spec!r}: {target} has no name {attribute!r} (it has: {', '.join(names)})"
        )
    return LoadedAgent(agent=_as_agent(getattr(module, attribute), spec), spec=resolved)


def default_agent() -> LoadedAgent:
    """The demo customer-support agent, used when no agent is named."""
    loaded = load_agent(DEFAULT_AGENT_SPEC)
    return LoadedAgent(agent=loaded.agent, spec=loaded.spec, is_default=True)
