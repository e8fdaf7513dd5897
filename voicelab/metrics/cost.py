"""Cost of a turn from its usage counts and a dated, sourced price table."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from voicelab.errors import ConfigError
from voicelab.turn_result import Usage

_PER_MILLION = 1_000_000
_KNOWN_RATES = {
    "text_input_per_1m_tokens",
    "text_cached_input_per_1m_tokens",
    "text_output_per_1m_tokens",
    "audio_input_per_1m_tokens",
    "audio_output_per_1m_tokens",
    "audio_input_per_minute",
    "audio_output_per_minute",
    "characters_per_1m",
}


@dataclass(frozen=True)
class PriceTable:
    """USD prices per model, with the date and source they were read from."""

    as_of: str
    source: str
    models: Mapping[str, Mapping[str, float]]
    free_prefixes: tuple[str, ...] = ()

    def rates(self, model: str) -> Mapping[str, float] | None:
        """The model's rates; all-zero for local models; None when the price is unknown."""
        if model.startswith(self.free_prefixes):
            return {}
        return self.models.get(model)


def load_price_table(path: str | Path | None = None) -> PriceTable:
    """Read a price table; without a path, the one shipped with voicelab."""
    try:
        if path is None:
            text = resources.files("voicelab.metrics").joinpath("prices.toml").read_text()
            where = "voicelab/metrics/prices.toml"
        else:
            text, where = Path(path).read_text(encoding="utf-8"), str(path)
        data = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: cannot read price table ({e})") from e
    models = data.get("models", {})
    for model, rates in models.items():
        unknown = set(rates) - _KNOWN_RATES
        if unknown:
            raise ConfigError(f"{where}: model {model!r} has unknown rate(s) {sorted(unknown)}")
    return PriceTable(
        as_of=str(data.get("as_of", "unknown")),
        source=str(data.get("source", where)),
        models=models,
        free_prefixes=tuple(data.get("free_prefixes", ())),
    )


def _text_cost(usage: Usage, rates: Mapping[str, float]) -> float:
    uncached = max(0, usage.llm_input_tokens - usage.llm_cached_input_tokens)
    return (
        uncached * rates.get("text_input_per_1m_tokens", 0.0)
        + usage.llm_cached_input_tokens * rates.get("text_cached_input_per_1m_tokens", 0.0)
        + usage.llm_output_tokens * rates.get("text_output_per_1m_tokens", 0.0)
        + usage.input_audio_tokens * rates.get("audio_input_per_1m_tokens", 0.0)
        + usage.output_audio_tokens * rates.get("audio_output_per_1m_tokens", 0.0)
    ) / _PER_MILLION


def _component_cost(component: str, usage: Usage, rates: Mapping[str, float]) -> float:
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

    None when any component's model has no price in the table: an unknown cost is not zero.
    """
    total = 0.0
    for component, model in models.items():
        rates = table.rates(model)
        if rates is None:
            return None
        total += _component_cost(component, usage, rates)
    return total
