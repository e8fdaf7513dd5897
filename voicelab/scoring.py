"""One result row per turn: the turn's facts joined with every metric computed from them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from voicelab.datasets.types import Turn
from voicelab.metrics.cost import (
    PriceTable,
    Pricing,
    is_stand_in,
    judge_cost_usd,
    judge_pricing,
)
from voicelab.metrics.latency import latency_figures
from voicelab.metrics.quality import score_quality
from voicelab.metrics.wer import turn_wer
from voicelab.redact import redact_text
from voicelab.results import COLUMN_NAMES, check_row
from voicelab.turn_result import TurnResult

if TYPE_CHECKING:
    from voicelab.evaluation.evaluator import TurnEvaluation


def build_row(
    run_fields: Mapping[str, Any],
    turn: Turn,
    result: TurnResult,
    *,
    pricing: Pricing,
    secrets: Iterable[str] = (),
    evaluation: TurnEvaluation | None = None,
) -> dict[str, Any]:
    """A turn's whole row in schema order: the run's fields, its facts and metrics, no secrets."""
    row = {
        **run_fields,
        **turn_facts(turn, result),
        **language_fields(turn),
        **score_turn(turn, result),
        **cost_fields(result, pricing),
        **evaluation_fields(turn, result, evaluation, prices=pricing.table, secrets=secrets),
    }
    if row["error"]:
        row["error"] = redact_text(row["error"], secrets)
    check_row(row, f"row of {turn.turn_id}")
    return {name: row[name] for name in COLUMN_NAMES}


def score_turn(turn: Turn, result: TurnResult) -> dict[str, Any]:
    """Metrics of one turn as row fields (None where a metric does not apply)."""
    quality = score_quality(
        result.agent_text,
        result.tool_calls,
        turn.expected_keywords,
        turn.expected_regex,
        turn.expected_tool_call,
    )
    return {
        "wer": turn_wer(turn.reference_text, result.user_transcript, turn.language)
        if result.ok
        else None,
        "answer_ok": quality.answer_ok if result.ok else None,
        "tool_call_ok": quality.tool_call_ok if result.ok else None,
        "quality": quality.quality if result.ok else None,
        **latency_figures(result.timeline),
    }


def cost_fields(result: TurnResult, pricing: Pricing) -> dict[str, Any]:
    """The turn's cost, the usage it is priced from that has no other column, and its basis."""
    return {
        "cost_usd": pricing.cost_usd(result.usage),
        "stt_audio_s": result.usage.stt_audio_s,
        "tts_audio_s": result.usage.tts_audio_s,
        "cost_basis": pricing.basis,
    }


def turn_facts(turn: Turn, result: TurnResult) -> dict[str, Any]:
    """The raw, unscored fields of a row."""
    usage = result.usage
    expected = turn.expected_tool_call
    return {
        "conversation_id": turn.conversation_id,
        "turn_index": turn.turn_index,
        "turn_id": turn.turn_id,
        "audio": turn.audio_source,
        "feed_mode": result.feed_mode,
        "reference_text": turn.reference_text,
        "user_transcript": result.user_transcript,
        "agent_text": result.agent_text,
        "tool_calls": json.dumps(
            [
                {"name": c.name, "arguments": dict(c.arguments), "output": c.output}
                for c in result.tool_calls
            ]
        ),
        "expected_tool": expected.name if expected else None,
        "input_audio_s": result.input_audio_s,
        "agent_audio_s": result.agent_audio.duration_s if result.agent_audio else None,
        "harness_overhead_s": result.harness_overhead_s,
        "stt_server_s": result.server_processing_s.get("stt"),
        "tts_server_s": result.server_processing_s.get("tts"),
        "llm_requests": usage.llm_requests,
        "llm_input_tokens": usage.llm_input_tokens,
        "llm_cached_input_tokens": usage.llm_cached_input_tokens,
        "llm_output_tokens": usage.llm_output_tokens,
        "input_audio_tokens": usage.input_audio_tokens,
        "output_audio_tokens": usage.output_audio_tokens,
        "tts_characters": usage.tts_characters,
        "timeline_ns": json.dumps(dict(result.timeline.stamps_ns)),
        "tags": json.dumps(dict(turn.tags)),
        "error": result.error,
        "error_type": result.error_type,
        "error_transient": result.error_transient,
        "attempts": result.attempts,
        "retried_errors": json.dumps(list(result.retried_errors)),
    }


def language_fields(turn: Turn) -> dict[str, Any]:
    """The turn's language, which also chose the normaliser of its WER."""
    return {"language": turn.language}


# --- evaluators ---
def evaluation_fields(
    turn: Turn,
    result: TurnResult,
    evaluation: TurnEvaluation | None,
    *,
    prices: PriceTable,
    secrets: Iterable[str] = (),
) -> dict[str, Any]:
    """The judge and intelligibility columns (all None where an evaluation did not run)."""
    judged = evaluation.judge if evaluation else None
    verdict = judged.verdict if judged else None
    heard = evaluation.agent_transcript if evaluation else None
    transcript = heard.transcript if heard else None
    judge_priced = (
        judge_pricing(judged.model, prices, projection=is_stand_in(judged.backend))
        if judged
        else None
    )
    return {
        "judge_model": judged.model if judged else None,
        "judge_prompt": judged.prompt if judged else None,
        "judge_task_done": verdict.task_done if verdict else None,
        "judge_grounded": verdict.grounded if verdict else None,
        "judge_speech_ok": verdict.speech_ok if verdict else None,
        "judge_score": verdict.score if verdict else None,
        "judge_rationale": verdict.rationale if verdict else None,
        "judge_input_tokens": judged.input_tokens if judged else None,
        "judge_output_tokens": judged.output_tokens if judged else None,
        "judge_cost_usd": (
            judge_cost_usd(judge_priced, judged.input_tokens, judged.output_tokens)
            if judged and judge_priced
            else None
        ),
        "judge_cost_basis": judge_priced.basis if judge_priced else None,
        "judge_error": _error_text(judged.error if judged else None, secrets),
        "judge_error_type": type(judged.error).__name__ if judged and judged.error else None,
        "agent_transcript": transcript,
        "agent_wer": (
            turn_wer(result.agent_text, transcript, turn.language)
            if transcript is not None
            else None
        ),
        "agent_transcript_error": _error_text(heard.error if heard else None, secrets),
    }


def _error_text(error: Exception | None, secrets: Iterable[str]) -> str | None:
    return redact_text(str(error), secrets) if error is not None else None


# --- end evaluators ---
