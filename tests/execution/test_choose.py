"""Choosing the executor from the command line: bad settings refused before any model loads;
Ray stays an optional extra."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from voicelab.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--workers", "0"], "workers must be at least 1, not 0"),
        (["--executor", "local", "--workers", "2"], "the local executor has no workers"),
        (["--ray-address", "127.0.0.1:1"], "--ray-address needs --executor ray"),
    ],
)
def test_bad_execution_flags_are_refused(
    flags: list[str], message: str, demo_data: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    code = main(["run", "--dataset", str(demo_data), "--out", str(tmp_path / "run"), *flags])
    assert code == 2
    assert f"voicelab: error: {message}" in capsys.readouterr().err


def _python(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )


def test_importing_voicelab_does_not_import_ray() -> None:
    done = _python("import sys, voicelab; print('ray' in sys.modules)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_ray_missing_says_which_extra_to_install(demo_data: Path, tmp_path: Path) -> None:
    # None in sys.modules makes `import ray` fail as it does where ray is not installed
    done = _python(
        "import sys; sys.modules['ray'] = None\n"
        "from voicelab.cli import main\n"
        f"sys.exit(main(['run', '--pipeline', 'chained-openai', '--dataset', '{demo_data}', "
        f"'--base-url', 'http://127.0.0.1:9/v1', '--executor', 'ray', "
        f"'--out', '{tmp_path / 'run'}']))"
    )
    assert done.returncode == 2, done.stderr
    assert "voicelab: error: ray is not installed" in done.stderr
    assert "pip install 'voicelab[ray]'" in done.stderr
    assert "Traceback" not in done.stderr
