"""The one guarded place that imports optional packages (the local models, their VAD, Ray)."""

from __future__ import annotations

import importlib
from types import ModuleType

from voicelab.errors import MissingDependencyError

_EXTRA_HINTS = {
    "local": "install voicelab's local models with: pip install 'voicelab[local]'",
    "ray": "install Ray (for --executor ray) with: pip install 'voicelab[ray]'",
    "hf": "install Hugging Face datasets (hf: datasets) with: pip install 'voicelab[hf]'",
}


def require(module: str, extra: str = "local") -> ModuleType:
    """Import an optional module, or say which extra provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingDependencyError(f"{module} is not installed; {_EXTRA_HINTS[extra]}") from e
