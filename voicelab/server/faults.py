"""Fault injection for the local server: latency, error statuses, dropped and stalled streams.

Faults are configured per endpoint (``transcriptions``, ``speech``, ``chat``, ``responses``,
``realtime``, ``models``, or ``*`` for all) in a file, by flags, or per request with the
``X-Voicelab-Faults`` header (a JSON object of ``EndpointFaults`` fields). Every random choice
comes from one generator per endpoint seeded from the config's seed, so a run is repeatable.
"""

from __future__ import annotations

import random
import tomllib
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from voicelab._json import json_object
from voicelab.errors import ConfigError

ENDPOINTS = ("transcriptions", "speech", "chat", "responses", "realtime", "models")
FAULT_HEADER = "x-voicelab-faults"
_ERROR_STATUSES = {429, 500, 502, 503, 504}
_STALL_FOREVER_S = 3600.0  # longer than any sane client timeout


@dataclass(frozen=True, kw_only=True)
class EndpointFaults:
    """What to do to requests of one endpoint."""

    ttfb_ms: float = 0.0
    """Added delay before the response (or the first streamed event) starts."""
    ttfb_jitter_ms: float = 0.0
    """Uniform jitter in [-jitter, +jitter] added to ``ttfb_ms`` (clipped at 0)."""
    chunk_delay_ms: float = 0.0
    """Added delay before every later streamed chunk or event: the streaming pace."""
    error_rate: float = 0.0
    """Probability that a request is answered with ``error_status`` instead."""
    error_status: int = 500
    """429 (with Retry-After), 500, 502, 503 or 504."""
    retry_after_s: int = 1
    """The Retry-After header sent with 429 and 503."""
    drop_rate: float = 0.0
    """Probability that the connection is dropped mid-stream, after ``drop_after_chunks``."""
    drop_after_chunks: int = 1
    """Chunks or events sent before a drop or a stall."""
    stall_rate: float = 0.0
    """Probability that a stream stops sending (connection left open) after the chunks."""
    stall_s: float = _STALL_FOREVER_S
    """How long a stall lasts."""

    def __post_init__(self) -> None:
        for name in ("error_rate", "drop_rate", "stall_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"fault {name} must be within [0, 1]")
        if self.error_status not in _ERROR_STATUSES:
            raise ConfigError(f"fault error_status must be one of {sorted(_ERROR_STATUSES)}")
        if min(self.ttfb_ms, self.ttfb_jitter_ms, self.chunk_delay_ms, self.stall_s) < 0:
            raise ConfigError("fault delays must not be negative")
        if self.drop_after_chunks < 0:
            raise ConfigError("fault drop_after_chunks must not be negative")


@dataclass(frozen=True)
class FaultPlan:
    """The faults decided for one request."""

    ttfb_s: float = 0.0
    chunk_delay_s: float = 0.0
    error_status: int | None = None
    retry_after_s: int = 1
    drop_after_chunks: int | None = None
    stall_after_chunks: int | None = None
    stall_s: float = 0.0

    @property
    def disturbs_stream(self) -> bool:
        """Whether the stream itself is cut or stalled."""
        return self.drop_after_chunks is not None or self.stall_after_chunks is not None


@dataclass(frozen=True, kw_only=True)
class FaultConfig:
    """Faults for every endpoint, and the seed of their random choices."""

    seed: int = 0
    endpoints: Mapping[str, EndpointFaults] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.endpoints) - {*ENDPOINTS, "*"}
        if unknown:
            raise ConfigError(f"unknown fault endpoint(s) {sorted(unknown)}; use {ENDPOINTS}")

    def for_endpoint(self, endpoint: str) -> EndpointFaults:
        """The endpoint's own faults, else the ``*`` entry, else none."""
        return self.endpoints.get(endpoint) or self.endpoints.get("*") or EndpointFaults()


def endpoint_faults(values: Mapping[str, Any], where: str) -> EndpointFaults:
    """Build ``EndpointFaults`` from a mapping, naming ``where`` on an unknown field."""
    known = {f.name for f in fields(EndpointFaults)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"{where}: unknown fault field(s) {sorted(unknown)}")
    try:
        return EndpointFaults(**values)
    except TypeError as e:
        raise ConfigError(f"{where}: {e}") from e


def load_fault_config(path: str | Path) -> FaultConfig:
    """Read a TOML fault file: ``seed = 1`` and ``[endpoints.speech] ttfb_ms = 300``..."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: cannot read fault config ({e})") from e
    endpoints = {
        name: endpoint_faults(values, f"{path} [endpoints.{name}]")
        for name, values in data.get("endpoints", {}).items()
    }
    return FaultConfig(seed=int(data.get("seed", 0)), endpoints=endpoints)


def parse_fault_header(value: str) -> dict[str, Any]:
    """The per-request override carried in ``X-Voicelab-Faults``."""
    return json_object(value, FAULT_HEADER, ConfigError)


class FaultInjector:
    """Decides, deterministically under the seed, what happens to each request."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self.config = config or FaultConfig()
        self._rngs = {
            name: random.Random(self.config.seed * 1_000_003 + zlib.crc32(name.encode()))
            for name in ENDPOINTS
        }

    def plan(self, endpoint: str, override: Mapping[str, Any] | None = None) -> FaultPlan:
        """The faults for the next request of ``endpoint`` (``override`` fields win)."""
        faults = self.config.for_endpoint(endpoint)
        if override:
            faults = endpoint_faults({**_as_dict(faults), **override}, FAULT_HEADER)
        rng = self._rngs[endpoint]
        draws = [rng.random() for _ in range(4)]  # always four, so later requests stay aligned
        jitter = (draws[0] * 2 - 1) * faults.ttfb_jitter_ms
        stream_draw = draws[2]
        return FaultPlan(
            ttfb_s=max(0.0, faults.ttfb_ms + jitter) / 1000,
            chunk_delay_s=faults.chunk_delay_ms / 1000,
            error_status=faults.error_status if draws[1] < faults.error_rate else None,
            retry_after_s=faults.retry_after_s,
            drop_after_chunks=faults.drop_after_chunks if stream_draw < faults.drop_rate else None,
            stall_after_chunks=(
                faults.drop_after_chunks
                if faults.drop_rate <= stream_draw < faults.drop_rate + faults.stall_rate
                else None
            ),
            stall_s=faults.stall_s,
        )


def _as_dict(faults: EndpointFaults) -> dict[str, Any]:
    return {f.name: getattr(faults, f.name) for f in fields(faults)}


def with_endpoint(config: FaultConfig, endpoint: str, **values: Any) -> FaultConfig:
    """A copy of ``config`` with ``endpoint``'s faults replaced by ``values``."""
    return replace(
        config,
        endpoints={**config.endpoints, endpoint: endpoint_faults(values, endpoint)},
    )
