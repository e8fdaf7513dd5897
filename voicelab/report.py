"""Summaries of a result table: per pipeline, turns, errors, WER, quality, latency and cost."""

from __future__ import annotations

import pandas as pd

from voicelab.metrics.wer import error_rates

SUMMARY_LATENCIES = (
    "stt_s", "llm_ttft_s", "tts_ttfb_s", "voice_to_voice_s", "voice_to_audible_s", "turn_total_s",
    "harness_overhead_s",
)  # fmt: skip


def _corpus_wer(group: pd.DataFrame) -> float:
    scored = group[group["error"].isna() & group["reference_text"].notna()]
    if scored.empty:
        return float("nan")
    refs = scored["reference_text"].astype(str).tolist()
    hyps = scored["user_transcript"].fillna("").astype(str).tolist()
    try:
        return error_rates(refs, hyps).wer
    except ValueError:
        return float("nan")


def summarize(frame: pd.DataFrame, latencies: tuple[str, ...] = SUMMARY_LATENCIES) -> pd.DataFrame:
    """One row per pipeline: counts, corpus WER, mean quality, median/p90 latencies, total cost."""
    records = []
    for pipeline, group in frame.groupby("pipeline", sort=True):
        ok = group[group["error"].isna()]
        record: dict[str, object] = {
            "pipeline": pipeline,
            "turns": len(group),
            "errors": int(group["error"].notna().sum()),
            "wer": _corpus_wer(group),
            "quality": ok["quality"].astype("Float64").mean(),
            "tool_call_ok": ok["tool_call_ok"].astype("Float64").mean(),
            "cost_usd": group["cost_usd"].astype("Float64").sum(min_count=1),
        }
        for column in latencies:
            values = ok[column].astype("Float64").dropna()
            record[f"{column}_p50"] = values.median() if len(values) else float("nan")
            record[f"{column}_p90"] = values.quantile(0.9) if len(values) else float("nan")
        records.append(record)
    return pd.DataFrame.from_records(records).set_index("pipeline")


def format_summary(summary: pd.DataFrame) -> str:
    """The summary as a transposed text table (pipelines as columns), 3 decimals."""
    return summary.T.map(_cell).to_string()


def _cell(value: object) -> str:
    if isinstance(value, int | float) and float(value).is_integer() and abs(value) < 1e9:
        return str(int(value))
    return f"{value:.3f}" if isinstance(value, float) else str(value)
