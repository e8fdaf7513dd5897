"""`voicelab serve` as a user starts it, and a key that must never leak."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest

from voicelab.server.runner import SubprocessServer

pytestmark = pytest.mark.slow
KEY = "sk-voicelab-subprocess-0123456789abcdef"


def test_serve_requires_the_key_and_never_prints_it(demo_data: Path, tmp_path: Path) -> None:
    with SubprocessServer(api_key=KEY) as served:
        assert served.base_url.startswith("http://127.0.0.1:")
        assert httpx2.get(f"{served.base_url}/models").status_code == 401
        wrong = httpx2.get(f"{served.base_url}/models", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
        ok = httpx2.get(f"{served.base_url}/models", headers={"Authorization": f"Bearer {KEY}"})
        assert ok.status_code == 200
        out = tmp_path / "run"
        env = {**os.environ, "OPENAI_API_KEY": KEY}
        run = subprocess.run(
            [sys.executable, "-m", "voicelab.cli", "run", "--pipeline", "chained-openai",
             "--base-url", served.base_url, "--dataset", str(demo_data), "--max-turns", "2",
             "--tool-choice", "required", "--out", str(out)],
            capture_output=True, text=True, env=env, timeout=600, check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-2000:]
    rows = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(r["error"] is None for r in rows)
    for text in (
        run.stdout,
        run.stderr,
        served.output,
        *(p.read_text() for p in out.glob("*.json*")),
    ):
        assert KEY not in text
    assert "listening on" in served.output and "OPENAI_BASE_URL" in served.output


def test_serve_takes_the_key_from_the_environment_and_never_shows_it() -> None:
    """Started as the README says, the key is in no argv (what `ps` shows) and no output."""
    with SubprocessServer(api_key=KEY) as served:
        assert served.pid is not None
        argv = Path(f"/proc/{served.pid}/cmdline").read_bytes().split(b"\0")
        assert b"serve" in argv and not any(KEY.encode() in arg for arg in argv)
        assert "requiring the key from $VOICELAB_SERVER_API_KEY" in served.output
        assert httpx2.get(f"{served.base_url}/models").status_code == 401
        ok = httpx2.get(f"{served.base_url}/models", headers={"Authorization": f"Bearer {KEY}"})
        assert ok.status_code == 200
    assert KEY not in served.output


def test_serve_refuses_a_public_interface_unless_asked() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "voicelab.cli", "serve", "--host", "0.0.0.0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "not loopback" in result.stderr
