"""Metrics: pure functions over TurnResults (WER, latency, quality, cost)."""

from voicelab.metrics.cost import PriceTable, load_price_table, turn_cost_usd
from voicelab.metrics.latency import LATENCY_COLUMNS, latency_figures
from voicelab.metrics.quality import QualityScore, score_quality
from voicelab.metrics.wer import ErrorRates, error_rates, normalize_english, turn_wer

__all__ = [
    "LATENCY_COLUMNS",
    "ErrorRates",
    "PriceTable",
    "QualityScore",
    "error_rates",
    "latency_figures",
    "load_price_table",
    "normalize_english",
    "score_quality",
    "turn_cost_usd",
    "turn_wer",
]
