"""Shared fixtures: the real recorded speech in ../shared/data and the demo dataset."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from voicelab.server.runner import LocalServer
from voicelab.server.state import ServerConfig

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
DEMO_DATA = REPO / "data" / "support"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of the shared recordings (fsdd-sample, ljspeech-sample)."""
    assert SHARED_DATA.is_dir(), f"shared data not found at {SHARED_DATA}"
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo_data() -> Path:
    """The project's demo customer-support dataset."""
    return DEMO_DATA


@pytest.fixture(scope="session")
def server() -> Iterator[LocalServer]:
    """The default local server on a free loopback port, for the whole session."""
    with LocalServer(ServerConfig(port=0)) as running:
        yield running
