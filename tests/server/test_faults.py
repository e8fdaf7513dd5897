"""Fault plans: configured per endpoint, overridable per request, repeatable under a seed."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicelab.errors import ConfigError
from voicelab.server.faults import (
    FaultConfig,
    FaultInjector,
    load_fault_config,
    parse_fault_header,
    with_endpoint,
)


def _sequence(seed: int, n: int = 200) -> list[tuple[int | None, int | None, int | None]]:
    config = with_endpoint(FaultConfig(seed=seed), "speech", error_rate=0.2, drop_rate=0.1,
                           stall_rate=0.1, error_status=429)  # fmt: skip
    injector = FaultInjector(config)
    plans = [injector.plan("speech") for _ in range(n)]
    return [(p.error_status, p.drop_after_chunks, p.stall_after_chunks) for p in plans]


def test_same_seed_same_faults_other_seed_other_faults() -> None:
    assert _sequence(3) == _sequence(3)
    assert _sequence(3) != _sequence(4)
    errors = sum(1 for status, _, _ in _sequence(3, 2000) if status == 429)
    assert 300 < errors < 500  # ~20 % of 2000


def test_endpoints_draw_independently() -> None:
    config = with_endpoint(FaultConfig(seed=1), "*", error_rate=0.5)
    alone, mixed = FaultInjector(config), FaultInjector(config)
    expected = [alone.plan("speech").error_status for _ in range(50)]
    got = []
    for _ in range(50):
        mixed.plan("chat")  # other endpoints' traffic must not shift this one's faults
        got.append(mixed.plan("speech").error_status)
    assert got == expected


def test_latency_jitter_stays_in_range_and_override_wins() -> None:
    config = with_endpoint(FaultConfig(), "transcriptions", ttfb_ms=300, ttfb_jitter_ms=50)
    injector = FaultInjector(config)
    delays = [injector.plan("transcriptions").ttfb_s for _ in range(500)]
    assert min(delays) >= 0.25 and max(delays) <= 0.35
    assert max(delays) - min(delays) > 0.09
    plan = injector.plan("transcriptions", parse_fault_header('{"ttfb_ms": 0, "error_rate": 1}'))
    assert plan.ttfb_s == 0.0 and plan.error_status == 500
    assert injector.plan("models").ttfb_s == 0.0  # no fault configured there


def test_fault_file(tmp_path: Path) -> None:
    path = tmp_path / "faults.toml"
    path.write_text("seed = 9\n[endpoints.speech]\nchunk_delay_ms = 20\nerror_status = 503\n")
    config = load_fault_config(path)
    assert config.seed == 9 and config.for_endpoint("speech").chunk_delay_ms == 20


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[endpoints.speech]\nbanana = 1\n", "unknown fault field"),
        ("[endpoints.nowhere]\nttfb_ms = 1\n", "unknown fault endpoint"),
        ("[endpoints.speech]\nerror_rate = 2\n", r"within \[0, 1\]"),
        ("[endpoints.speech]\nerror_status = 418\n", "error_status must be one of"),
        ("[endpoints.speech]\nttfb_ms = -5\n", "must not be negative"),
        ("[endpoints\n", "cannot read fault config"),
    ],
)
def test_malformed_fault_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "faults.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_fault_config(path)


def test_malformed_header() -> None:
    with pytest.raises(ConfigError, match="not valid JSON"):
        parse_fault_header("{nope")
    with pytest.raises(ConfigError, match="JSON object"):
        parse_fault_header("[1]")
