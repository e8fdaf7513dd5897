"""Real-browser test helpers: Debian's chromium under Playwright, JupyterLab on 127.0.0.1.

Shared by every browser test (the live demo, the HTML report). Playwright drives the system
``/usr/bin/chromium`` (``make test`` installs it with apt); it never downloads a browser.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip
ARTIFACTS = REPO / "test-artifacts"
"""Screenshots and other things a person looks at after a browser test (git-ignored)."""
LAB_START_TIMEOUT_S = 120.0
_POLL_S = 0.25


def artifact_path(name: str) -> Path:
    """Where a test writes an artefact called ``name`` (the folder is created)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


def fake_microphone_args(wav: Path) -> tuple[str, ...]:
    """Chromium flags that grant the microphone and make it play ``wav`` once (16-bit PCM)."""
    return (
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}%noloop",
    )


@contextmanager
def chromium(extra_args: Sequence[str] = ()) -> Iterator[Browser]:
    """Headless system Chromium driven by Playwright, closed on exit."""
    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} missing: `make test` installs it (apt chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *extra_args]
        )
        try:
            yield browser
        finally:
            browser.close()


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class JupyterLabServer:
    """A running JupyterLab: its root URL and token."""

    url: str
    token: str

    def lab_url(self, path: str) -> str:
        """The page that opens ``path`` (relative to the server's root) in JupyterLab."""
        return f"{self.url}/lab/tree/{path}?reset&token={self.token}"


def _answers(url: str, token: str) -> bool:
    request = urllib.request.Request(
        f"{url}/api/status", headers={"Authorization": f"token {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def jupyter_lab(root_dir: Path) -> Iterator[JupyterLabServer]:
    """JupyterLab on 127.0.0.1 (a free port, a random token) serving ``root_dir``; stopped on exit.

    Its settings, workspaces and runtime files live under ``root_dir/.jupyter-test`` so a test
    neither reads nor writes the user's. Kernels import voicelab from this checkout.
    """
    state = root_dir / ".jupyter-test"
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "JUPYTER_CONFIG_DIR": str(state / "config"),
        "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
    }
    state.mkdir(parents=True)
    log = (state / "lab.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root_dir}", f"--LabApp.user_settings_dir={state / 'settings'}",
            f"--LabApp.workspaces_dir={state / 'workspaces'}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.news_url=",
            "--LabApp.extension_manager=readonly", "--allow-root",
        ],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + LAB_START_TIMEOUT_S
        while not _answers(url, token):
            tail = (state / "lab.log").read_text(errors="replace")[-2000:]
            assert process.poll() is None, f"JupyterLab exited ({process.returncode}):\n{tail}"
            assert time.monotonic() < deadline, f"JupyterLab did not answer on {url}:\n{tail}"
            time.sleep(_POLL_S)  # polling with a deadline: nothing to wait on but the socket
        yield JupyterLabServer(url=url, token=token)
    finally:
        _stop(process)
        log.close()


def copy_notebooks(destination: Path) -> Path:
    """A scratch copy of ``notebooks/`` beside a link to ``data/``, so runs never touch the repo.

    The notebooks find the demo dataset at ``../data/support``, as in the checkout.
    """
    shutil.copytree(REPO / "notebooks", destination / "notebooks")
    (destination / "data").symlink_to(REPO / "data", target_is_directory=True)
    return destination / "notebooks"
