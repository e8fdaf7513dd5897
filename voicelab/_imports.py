"""The one guarded place that imports optional packages (the local models, their VAD)."""

from __future__ import annotations

import importlib
from types import ModuleType

from voicelab.errors import MissingDependencyError

_EXTRA_HINT = "install voicelab's local models with: pip install 'voicelab[local]'"


def require(module: str) -> ModuleType:
    """Import an optional module, or say which extra provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingDependencyError(f"{module} is not installed; {_EXTRA_HINT}") from e
