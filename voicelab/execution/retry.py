"""When and how long to wait before trying a failed turn again.

A transient failure (``TurnResult.error_transient``: 429, 5xx, timeouts, dropped sockets) is
tried again after an exponential backoff with jitter, or after the service's ``Retry-After``
if that is longer. Permanent failures are never retried. The policy is a small frozen dataclass
so that worker processes and Ray actors receive it as they receive the pipeline's config.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from voicelab.errors import ConfigError, ServiceError, VoicelabError

_T = TypeVar("_T")


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How often, and after how long, a turn that failed transiently is run again."""

    max_attempts: int = 3
    """Attempts per turn, the first included; 1 turns retries off."""
    base_delay_s: float = 1.0
    """Backoff before the second attempt; it doubles with every further attempt."""
    max_delay_s: float = 30.0
    """Cap of the backoff (a longer ``Retry-After`` from the service still wins)."""
    jitter: float = 0.5
    """The backoff is stretched by a random factor in [1, 1 + jitter), so that conversations
    that failed together do not all come back at the same moment."""
    seed: int = 0
    """Seed of the jitter; with the turn id it makes a rerun's waits the same."""

    def __post_init__(self) -> None:
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise ConfigError(f"retry max_attempts must be at least 1, not {self.max_attempts!r}")
        if self.base_delay_s < 0 or self.max_delay_s < 0 or self.jitter < 0:
            raise ConfigError("retry base_delay_s, max_delay_s and jitter must not be negative")

    def should_retry(self, transient: bool, attempt: int) -> bool:
        """Whether a failure of attempt number ``attempt`` (from 1) is tried again."""
        return transient and attempt < self.max_attempts

    def delay_s(self, attempt: int, retry_after_s: float | None, rng: random.Random) -> float:
        """The wait after failed attempt number ``attempt`` (from 1): the jittered backoff, or
        the service's ``retry_after_s`` if that is longer."""
        backoff_s = min(self.max_delay_s, self.base_delay_s * 2.0 ** (attempt - 1))
        wait_s = backoff_s * (1 + self.jitter * rng.random())
        return max(wait_s, retry_after_s or 0.0)

    def rng(self, key: str) -> random.Random:
        """The jitter's generator for one turn (``key``), independent of the run's order."""
        return random.Random(f"{self.seed}:{key}")


NO_RETRY = RetryPolicy(max_attempts=1)
"""Every failure is final."""


@dataclass(frozen=True)
class Failure:
    """What the retry loop needs to know of a failed attempt."""

    error_type: str
    transient: bool
    retry_after_s: float | None


def error_failure(error: VoicelabError) -> Failure:
    """A voicelab error as a failed attempt (a service's ``Retry-After`` kept)."""
    wait_s = error.retry_after_s if isinstance(error, ServiceError) else None
    return Failure(type(error).__name__, error.transient, wait_s)


async def with_retries(
    retry: RetryPolicy,
    key: str,
    once: Callable[[], Awaitable[_T]],
    failure: Callable[[_T], Failure | None],
) -> tuple[_T, int, tuple[str, ...]]:
    """The last attempt's value, the attempts made, and the error types of the earlier ones.

    ``once`` makes an attempt and returns its value (a failure is a value, not an exception);
    ``failure`` says whether and how a value failed; ``key`` seeds the jitter.
    """
    rng = retry.rng(key)
    retried: list[str] = []
    attempt = 1
    while True:
        value = await once()
        failed = failure(value)
        if failed is None or not retry.should_retry(failed.transient, attempt):
            return value, attempt, tuple(retried)
        retried.append(failed.error_type)
        await asyncio.sleep(retry.delay_s(attempt, failed.retry_after_s, rng))
        attempt += 1
