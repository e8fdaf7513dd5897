"""How a run executes, as the ``[run]`` table of an experiment file and of ``run.json``.

Concurrency, retries and rate limits change how fast a run goes, not what it measures: they are
not part of the pipeline's ``config_hash``, so changing them never refuses a resume. ::

    [run]
    concurrency = 32
    repeat = 3                  # trials: each conversation runs 3 times (pass^k, flakiness)
    [run.retry]                 # voicelab.RetryPolicy, field by field
    max_attempts = 5
    [run.rate_limits]
    window_s = 60               # per minute
    rpm = { "*" = 500, speech = 100 }
    tpm = { responses = 30000 }
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from voicelab.config_io import config_from_dict, config_to_dict
from voicelab.errors import ConfigError
from voicelab.execution.retry import RetryPolicy
from voicelab.execution.trials import check_repeat
from voicelab.rate_limits import RateLimits

RUN_KEYS = ("concurrency", "retry", "rate_limits", "repeat")
_LIMIT_KEYS = ("rpm", "tpm", "window_s")


def _check_table(data: Any, keys: tuple[str, ...], where: str, name: str) -> None:
    """Refuse ``data`` unless it is a table whose keys are among ``keys``."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: {name} must be a table, not {data!r}")
    unknown = sorted(set(data) - set(keys))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)} in {name}; it takes {', '.join(keys)}"
        )


def run_settings_from_dict(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The ``[run]`` table as ``RunOptions`` fields (``max_concurrency``, ``retry``,
    ``rate_limits``, ``repeat``), checked; only the keys present."""
    _check_table(data, RUN_KEYS, where, "run")
    fields: dict[str, Any] = {}
    if "concurrency" in data:
        concurrency = data["concurrency"]
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ConfigError(f"{where}: run.concurrency must be an integer >= 1")
        fields["max_concurrency"] = concurrency
    if "retry" in data:
        fields["retry"] = config_from_dict(RetryPolicy, data["retry"], f"{where}: run.retry")
    if "rate_limits" in data:
        fields["rate_limits"] = rate_limits_from_dict(data["rate_limits"], where)
    if "repeat" in data:
        fields["repeat"] = check_repeat(data["repeat"], where)
    return fields


def rate_limits_from_dict(data: Any, where: str) -> RateLimits:
    """``[run.rate_limits]`` as ``RateLimits``."""
    _check_table(data, _LIMIT_KEYS, where, "run.rate_limits")
    tables = {name: data.get(name) or {} for name in ("rpm", "tpm")}
    for name, table in tables.items():
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}: run.rate_limits.{name} must be a table of endpoints")
    window_s = data.get("window_s", 60.0)
    if isinstance(window_s, bool) or not isinstance(window_s, int | float):
        raise ConfigError(f"{where}: run.rate_limits.window_s must be a number of seconds")
    try:
        return RateLimits(rpm=dict(tables["rpm"]), tpm=dict(tables["tpm"]), window_s=window_s)
    except ConfigError as e:
        raise ConfigError(f"{where}: run.rate_limits.{e}") from e


def run_settings_record(
    max_concurrency: int, retry: RetryPolicy, rate_limits: RateLimits
) -> dict[str, Any]:
    """The ``[run]`` table of these settings, JSON-ready (``run.json``)."""
    return {
        "concurrency": max_concurrency,
        "retry": config_to_dict(retry),
        "rate_limits": rate_limits.record(),
    }
