from __future__ import annotations

import subprocess
import sys

import voicelab


def test_star_import_exports_every_name() -> None:
    namespace: dict[str, object] = {}
    exec("from voicelab import *", namespace)
    assert all(isinstance(name, str) for name in voicelab.__all__)
    assert set(voicelab.__all__) <= set(namespace)


def test_import_stays_light() -> None:
    heavy = "('agents', 'llama_cpp', 'faster_whisper', 'piper')"
    code = f"import sys, voicelab; print(any(m.startswith({heavy}) for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
