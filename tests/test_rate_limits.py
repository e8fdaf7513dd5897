"""Rate limits: which endpoint a request is, what the limits accept, and the spacing kept."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from voicelab.errors import ConfigError
from voicelab.rate_limits import RateLimiter, RateLimits, endpoint_kind, estimate_tokens


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/v1/audio/transcriptions", "transcriptions"),
        ("/openai/v1/audio/speech", "speech"),
        ("/v1/chat/completions", "chat"),
        ("/v1/responses", "responses"),
        ("/v1/realtime", "realtime"),
        ("/v1/models", None),
    ],
)
def test_endpoint_kind(path: str, kind: str | None) -> None:
    assert endpoint_kind(path) == kind


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"rpm": {"speeches": 10}}, "unknown endpoint 'speeches'"),
        ({"rpm": {"*": 0}}, r"rpm\.\* must be a positive number"),
        ({"tpm": {"chat": "lots"}}, r"tpm\.chat must be a positive number"),
        ({"window_s": 0.0}, "window_s must be > 0"),
    ],
)
def test_rate_limits_reject(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RateLimits(**fields)  # type: ignore[arg-type]


def test_an_endpoints_own_limit_wins_over_every_endpoints() -> None:
    limits = RateLimits(rpm={"*": 100, "speech": 5})
    assert limits.limit(limits.rpm, "speech") == 5
    assert limits.limit(limits.rpm, "chat") == 100
    assert limits.limit(limits.tpm, "chat") is None and limits and not RateLimits()


def test_tokens_are_estimated_for_text_requests_only() -> None:
    assert estimate_tokens("responses", b"x" * 400) == 101
    assert estimate_tokens("transcriptions", b"x" * 400) == 0


async def test_requests_leave_a_window_and_a_second_apart_divided_by_the_limit() -> None:
    limiter = RateLimiter(RateLimits(rpm={"chat": 4}, window_s=0.2))
    left: list[float] = []

    async def request() -> None:
        await limiter.acquire("h:1", "chat")
        left.append(time.monotonic())

    await asyncio.gather(*(request() for _ in range(4)))
    gaps = [b - a for a, b in itertools.pairwise(left)]
    assert len(gaps) == 3 and min(gaps) >= (0.2 + 1.0) / 4 * 0.999, gaps
    started = time.monotonic()
    await limiter.acquire("h:1", "speech")  # no limit for speech: at once
    await limiter.acquire("other:2", "transcriptions")
    assert time.monotonic() - started < 0.05
