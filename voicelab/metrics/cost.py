"""Cost of a turn from its usage counts and a dated, sourced price table."""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from voicelab.errors import ConfigError
from voicelab.turn_result import Usage

_PER_MILLION = 1_000_000
_TOKEN_RATES = (
    "text_input_per_1m_tokens",
    "text_cached_input_per_1m_tokens",
    "text_output_per_1m_tokens",
    "audio_input_per_1m_tokens",
    "audio_output_per_1m_tokens",
)
_KNOWN_RATES = {
    *_TOKEN_RATES,
    "audio_input_per_minute",
    "audio_output_per_minute",
    "characters_per_1m",
}
_ROW_FACTS = {
    "as_of": str,
    "source": str,
    "verified": bool,
    "note": str,
}
"""What a row may say about its prices besides the rates: the date they were read, the page they
were read from, whether that page confirmed them, and what was found."""


@dataclass(frozen=True)
class PriceTable:
    """USD prices per model, with the date and source they were read from."""

    as_of: str
    source: str
    models: Mapping[str, Mapping[str, float]]
    free_prefixes: tuple[str, ...] = ()
    provenance: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Model -> where its prices come from (``as_of``, ``source``, ``verified``, ``note``)."""

    @property
    def digest(self) -> str:
        """A short hash of every rate and free prefix: two tables of one date may differ."""
        blob = json.dumps([self.models, sorted(self.free_prefixes)], sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def rates(self, model: str) -> Mapping[str, float] | None:
        """The model's rates; all-zero for local models; None when the price is unknown."""
        if model.startswith(self.free_prefixes):
            return {}
        return self.models.get(model)


def _read_price_file(path: str | Path | None) -> tuple[dict[str, Any], str]:
    try:
        if path is None:
            text = resources.files("voicelab.metrics").joinpath("prices.toml").read_text()
            where = "voicelab/metrics/prices.toml"
        else:
            text, where = Path(path).read_text(encoding="utf-8"), str(path)
        return tomllib.loads(text), where
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: cannot read price table ({e})") from e


def _check_model(where: str, model: str, row: Any, table: Mapping[str, Any]) -> dict[str, float]:
    """The row's rates, checked; a ConfigError naming the file, the model and the problem."""
    at = f"{where}: model {model!r}"
    if not isinstance(row, Mapping):
        raise ConfigError(f"{at}: must be a table of rates, not {row!r}")
    unknown = sorted(set(row) - _KNOWN_RATES - set(_ROW_FACTS))
    if unknown:
        raise ConfigError(
            f"{at}: unknown rate name(s) {unknown}; rates are {sorted(_KNOWN_RATES)}, and a row "
            f"may also give {sorted(_ROW_FACTS)}"
        )
    for key, kind in _ROW_FACTS.items():
        if key in row and not isinstance(row[key], kind):
            raise ConfigError(f"{at}: {key} must be a {kind.__name__}, not {row[key]!r}")
    if not row.get("source", table.get("source")):
        raise ConfigError(
            f"{at}: no source; give the page the prices were read from (source = URL), in the "
            "row or at the top of the file"
        )
    rates: dict[str, float] = {}
    for name in sorted(set(row) & _KNOWN_RATES):
        value = row[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{at}: {name} must be a number of USD, not {value!r}")
        if value < 0 or not math.isfinite(value):
            raise ConfigError(f"{at}: {name} must be a finite price >= 0, not {value!r}")
        rates[name] = float(value)
    return rates


def load_price_table(path: str | Path | None = None) -> PriceTable:
    """Read and check a price table; without a path, the one shipped with voicelab."""
    data, where = _read_price_file(path)
    models = data.get("models", {})
    if not isinstance(models, Mapping):
        raise ConfigError(f'{where}: models must be a table of [models."NAME"] rows')
    rates = {model: _check_model(where, model, row, data) for model, row in models.items()}
    provenance = {
        model: {k: row.get(k, data.get(k)) for k in _ROW_FACTS if k in row or k in data}
        for model, row in models.items()
    }
    return PriceTable(
        as_of=str(data.get("as_of", "unknown")),
        source=str(data.get("source", where)),
        models=rates,
        free_prefixes=tuple(data.get("free_prefixes", ())),
        provenance=provenance,
    )


def _text_cost(usage: Usage, rates: Mapping[str, float]) -> float | None:
    """Token-billed cost; None when the rates bill tokens but the turn's requests reported none."""
    counted = (
        usage.llm_input_tokens + usage.llm_output_tokens
        + usage.input_audio_tokens + usage.output_audio_tokens
    )  # fmt: skip
    if usage.llm_requests > 0 and counted == 0 and any(rates.get(r) for r in _TOKEN_RATES):
        return None  # requests were made but their tokens are unknown: not free
    uncached = max(0, usage.llm_input_tokens - usage.llm_cached_input_tokens)
    input_rate = rates.get("text_input_per_1m_tokens", 0.0)
    cached_rate = rates.get("text_cached_input_per_1m_tokens", input_rate)  # no discount known
    return (
        uncached * input_rate
        + usage.llm_cached_input_tokens * cached_rate
        + usage.llm_output_tokens * rates.get("text_output_per_1m_tokens", 0.0)
        + usage.input_audio_tokens * rates.get("audio_input_per_1m_tokens", 0.0)
        + usage.output_audio_tokens * rates.get("audio_output_per_1m_tokens", 0.0)
    ) / _PER_MILLION


def _component_cost(component: str, usage: Usage, rates: Mapping[str, float]) -> float | None:
    if component == "stt":
        return usage.stt_audio_s / 60 * rates.get("audio_input_per_minute", 0.0)
    if component == "tts":
        return (
            usage.tts_audio_s / 60 * rates.get("audio_output_per_minute", 0.0)
            + usage.tts_characters * rates.get("characters_per_1m", 0.0) / _PER_MILLION
        )
    return _text_cost(usage, rates)


def turn_cost_usd(usage: Usage, models: Mapping[str, str], table: PriceTable) -> float | None:
    """Sum of each component's cost (``models`` maps stt/llm/tts/realtime to a model name).

    None when any component's model has no price in the table, or its usage cannot be priced
    (token rates, but no token counts): an unknown cost is not zero.
    """
    total = 0.0
    for component, model in models.items():
        rates = table.rates(model)
        if rates is None:
            return None
        cost = _component_cost(component, usage, rates)
        if cost is None:
            return None
        total += cost
    return total


@dataclass(frozen=True)
class Pricing:
    """How a run's usage is priced: the table, the model each component is priced as, and
    whether those are the models that ran (actual) or others (a projection)."""

    table: PriceTable
    models: Mapping[str, str]
    projection: bool = False
    """The usage is priced as if it had run on ``models``, which are not the models that ran."""

    @property
    def basis(self) -> str:
        """The ``cost_basis`` label of every cost priced this way."""
        dated = f"prices as of {self.table.as_of}"
        if not self.projection:
            return dated
        return f"{_PROJECTION_LABEL}{', '.join(self.models.values())}, {dated}"

    def cost_usd(self, usage: Usage) -> float | None:
        """The turn's cost on this basis; None when it cannot be priced."""
        return turn_cost_usd(usage, self.models, self.table)


_PROJECTION_LABEL = "projection: "  # how a cost_basis label of a projection starts


def is_projection_basis(basis: str | None) -> bool:
    """Whether a ``cost_basis`` label (``Pricing.basis``) is that of a projection."""
    return basis is not None and basis.startswith(_PROJECTION_LABEL)


def judge_pricing(model: str, table: PriceTable, *, projection: bool) -> Pricing:
    """How a judge's tokens are priced: as text of its own model (``--price-as`` is the
    agent's, never the judge's), a projection when a stand-in server answered for it."""
    return Pricing(table, {"llm": model}, projection=projection)


def judge_cost_usd(
    pricing: Pricing, input_tokens: int | None, output_tokens: int | None
) -> float | None:
    """A judge's cost: its tokens priced as text of its model; None when they are unknown."""
    if input_tokens is None or output_tokens is None:
        return None
    return pricing.cost_usd(Usage(llm_input_tokens=input_tokens, llm_output_tokens=output_tokens))


_CHAINED_ORDER = ("stt", "llm", "tts")  # the order of --price-as A,B,C


def _named_components(spec: str) -> dict[str, str]:
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if parts and all("=" in p for p in parts):
        pairs = [p.split("=", 1) for p in parts]
        return {k.strip(): v.strip() for k, v in pairs}
    if len(parts) == len(_CHAINED_ORDER) and not any("=" in p for p in parts):
        return dict(zip(_CHAINED_ORDER, parts, strict=True))
    raise ConfigError(
        f"--price-as {spec!r}: give STT,LLM,TTS models (a chained pipeline) or "
        "COMPONENT=MODEL pairs, e.g. realtime=gpt-realtime"
    )


STAND_IN_BACKENDS = ("local-server", "local-cascade", "synthetic")
"""Backends of voicelab's own server (``voicelab.server.state``): they answer for OpenAI model
names with local models or none, so pricing those names is a projection, not what was paid."""


def is_stand_in(backend: str | None) -> bool:
    """Whether ``backend`` (a backend label) is voicelab's own server answering for a model."""
    return backend in STAND_IN_BACKENDS


def run_pricing_for(
    models: Mapping[str, str], backend: str | None, table: PriceTable, price_as: str | None
) -> Pricing:
    """How a run's usage is priced: its own models (actual cost), or a projection when
    ``price_as`` names other models or a stand-in backend served the named ones."""
    if price_as or is_stand_in(backend):
        return projected_pricing(price_as, models, table)
    return Pricing(table, dict(models))


def projected_pricing(
    spec: str | None, run_models: Mapping[str, str], table: PriceTable
) -> Pricing:
    """The run's usage priced as a projection: on ``spec``'s models (``--price-as``), or on the
    run's own model names when no spec is given (a stand-in server answered for them).

    ``spec`` is ``STT,LLM,TTS`` (a chained pipeline) or ``COMPONENT=MODEL,...``
    (``realtime=gpt-realtime``); components it does not name keep the run's model.
    """
    named = _named_components(spec) if spec else {}
    return projection_onto(named, run_models, table, f"--price-as {spec!r}")


def projection_onto(
    named: Mapping[str, str], run_models: Mapping[str, str], table: PriceTable, what: str
) -> Pricing:
    """The run's usage priced as if its components ran on ``named``'s models (the others keep
    the run's model); ``what`` names where ``named`` comes from in an error."""
    unknown = sorted(set(named) - set(run_models))
    if unknown:
        raise ConfigError(
            f"{what}: the run's components are {', '.join(run_models)}; name "
            f"them as {','.join(f'{c}=MODEL' for c in run_models)}"
        )
    unpriced = [m for m in named.values() if table.rates(m) is None]
    if unpriced:
        raise ConfigError(
            f"{what}: no price for {', '.join(unpriced)} in the price table "
            f"({table.source}); add it with --prices FILE"
        )
    return Pricing(table, {c: named.get(c, m) for c, m in run_models.items()}, projection=True)
