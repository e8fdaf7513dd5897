"""Requests and tokens per minute per endpoint, enforced before each request leaves this process.

An endpoint is a kind of request (``transcriptions``, ``speech``, ``chat``, ``responses``,
``realtime``; ``*`` sets every one) at one host: OpenAI limits each model, and each kind calls
its own model. The runner activates a ``RateLimiter`` for the run (``rate_limited``); every
OpenAI client voicelab builds waits in an httpx request hook (``limit_request``) before each
HTTP request, and the realtime pipeline waits (``limit_realtime``) before opening a session and
before each response it asks for. The limiter lives in the run's context: it is shared by the
run's conversations in this process, and another process (a worker) has its own.

**Requests** (aiolimiter's leaky bucket, capacity 1, one request leaking every
``(window_s + 1 s) / rpm`` seconds): requests leave at least that far apart, so any window
of ``window_s`` seconds (half-open) holds at most ``rpm`` of them as they leave, and also as
the service sees them arrive, as long as their trips (a new connection, a busy event loop on
either side) differ by less than 1 s (0.4 s was seen when a run starts many conversations at
once); per minute, that costs 1.6 % of the rate. aiolimiter's default (capacity ``rpm``) would
allow a burst of ``rpm`` and then the steady rate: up to twice ``rpm`` in one window.

**Tokens** are estimated before the request, as its JSON body's bytes / 4 (text requests,
``chat`` and ``responses``; audio and realtime requests are not counted), so the limit holds
for the estimate, not for what the service finally bills (the output is not known up front).
The bucket holds ``tpm / 2`` and leaks ``tpm / 2`` per window: whatever it admits in any
window is below ``tpm / 2`` (its capacity) plus ``tpm / 2`` (the leak), so the limit holds at the
price of a steady rate of half of it. A single request estimated above ``tpm / 2`` waits for an
empty bucket and counts as ``tpm / 2``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from voicelab.errors import ConfigError

if TYPE_CHECKING:
    import httpx2
    from aiolimiter import AsyncLimiter

ENDPOINT_KINDS = ("transcriptions", "speech", "chat", "responses", "realtime")
EVERY_ENDPOINT = "*"
_PATH_KINDS = {
    "/audio/transcriptions": "transcriptions",
    "/audio/speech": "speech",
    "/chat/completions": "chat",
    "/responses": "responses",
    "/realtime": "realtime",
}  # how a request path ends -> its endpoint kind
_TEXT_KINDS = ("chat", "responses")
_BYTES_PER_TOKEN = 4  # the usual rule of thumb for English text and JSON
_TRIP_JITTER_S = 1.0  # how much two requests' trips to the service may differ (docstring)


@dataclass(frozen=True, kw_only=True)
class RateLimits:
    """Most requests and tokens per ``window_s`` per endpoint kind (``*``: every kind)."""

    rpm: Mapping[str, float] = field(default_factory=dict)
    """Endpoint kind (or ``*``) -> requests per window."""
    tpm: Mapping[str, float] = field(default_factory=dict)
    """Endpoint kind (or ``*``) -> estimated tokens per window (``chat``, ``responses``)."""
    window_s: float = 60.0
    """The window the limits count in: 60 s makes them per minute."""

    def __post_init__(self) -> None:
        for name, table in (("rpm", self.rpm), ("tpm", self.tpm)):
            for kind, value in table.items():
                if kind != EVERY_ENDPOINT and kind not in ENDPOINT_KINDS:
                    raise ConfigError(
                        f"{name}: unknown endpoint {kind!r}; one of "
                        f"{', '.join((EVERY_ENDPOINT, *ENDPOINT_KINDS))}"
                    )
                if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                    raise ConfigError(f"{name}.{kind} must be a positive number, not {value!r}")
        if self.window_s <= 0:
            raise ConfigError(f"rate limit window_s must be > 0, not {self.window_s}")

    def limit(self, table: Mapping[str, float], kind: str) -> float | None:
        """The limit ``table`` sets for ``kind``: its own, else the one for every endpoint."""
        return table.get(kind, table.get(EVERY_ENDPOINT))

    def record(self) -> dict[str, Any]:
        """As JSON-ready data (run.json)."""
        return {"rpm": dict(self.rpm), "tpm": dict(self.tpm), "window_s": self.window_s}

    def __bool__(self) -> bool:
        return bool(self.rpm or self.tpm)


class RateLimiter:
    """One request bucket and one token bucket per (host, endpoint kind), made on first use."""

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self._buckets: dict[tuple[str, str, str], AsyncLimiter | None] = {}

    def _bucket(self, what: str, host: str, kind: str) -> AsyncLimiter | None:
        key = (what, host, kind)
        if key not in self._buckets:
            from aiolimiter import AsyncLimiter  # `import voicelab` stays light

            table = self.limits.rpm if what == "requests" else self.limits.tpm
            window_s = self.limits.window_s
            limit = self.limits.limit(table, kind)
            if limit is None:
                self._buckets[key] = None
            elif what == "requests":
                self._buckets[key] = AsyncLimiter(1, (window_s + _TRIP_JITTER_S) / limit)
            else:
                self._buckets[key] = AsyncLimiter(limit / 2, window_s + _TRIP_JITTER_S)
        return self._buckets[key]

    async def acquire(self, host: str, kind: str, tokens: int = 0) -> None:
        """Wait until a request of ``kind`` to ``host`` (estimated ``tokens``) may leave."""
        requests = self._bucket("requests", host, kind)
        if requests is not None:
            await requests.acquire()
        token_bucket = self._bucket("tokens", host, kind) if tokens else None
        if token_bucket is not None:
            await token_bucket.acquire(min(float(tokens), token_bucket.max_rate))


_active: ContextVar[RateLimiter | None] = ContextVar("voicelab_rate_limiter", default=None)


@contextmanager
def rate_limited(limits: RateLimits | RateLimiter) -> Iterator[RateLimiter | None]:
    """Enforce ``limits`` on the requests made in this context (tasks started in it inherit it);
    a ``RateLimiter`` given is shared with the other contexts it is active in."""
    if isinstance(limits, RateLimiter):
        limiter: RateLimiter | None = limits
    else:
        limiter = RateLimiter(limits) if limits else None
    token = _active.set(limiter)
    try:
        yield limiter
    finally:
        _active.reset(token)


def endpoint_kind(path: str) -> str | None:
    """The endpoint kind of a request path (``/v1/audio/speech`` -> ``speech``), if known."""
    path = path.rstrip("/")
    return next((kind for end, kind in _PATH_KINDS.items() if path.endswith(end)), None)


def estimate_tokens(kind: str, body: bytes) -> int:
    """The tokens a request is counted as before it leaves: its JSON bytes / 4 for text."""
    return len(body) // _BYTES_PER_TOKEN + 1 if kind in _TEXT_KINDS else 0


async def limit_request(request: httpx2.Request) -> None:
    """httpx request hook: wait for the active limiter (if any) before the request leaves."""
    limiter = _active.get()
    kind = endpoint_kind(request.url.path)
    if limiter is None or kind is None:
        return
    tokens = estimate_tokens(kind, request.content) if kind in _TEXT_KINDS else 0
    await limiter.acquire(f"{request.url.host}:{request.url.port}", kind, tokens)


async def limit_realtime(host: str) -> None:
    """Wait for the active limiter (if any) before a realtime session or response."""
    limiter = _active.get()
    if limiter is not None:
        await limiter.acquire(host, "realtime")
