"""The result table: its column schema, the check every row passes, and the typed DataFrame.

The files that hold a run's rows belong to ``voicelab.run_folder``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from voicelab.errors import ResultsError
from voicelab.metrics.latency import LATENCY_COLUMNS


@dataclass(frozen=True)
class Column:
    """One column of the result table."""

    name: str
    dtype: str
    doc: str


_ID_COLUMNS = [
    Column("run_id", "string", "name of the run folder"),
    Column("pipeline", "string", "pipeline name, e.g. chained-local"),
    Column("architecture", "string", "chained or realtime"),
    Column("backend", "string", "local, openai, local-server / local-cascade, synthetic..."),
    Column("tool_choice", "string", "the agent's tool_choice the pipeline actually used"),
    Column("config_hash", "string", "hash of the pipeline's resolved configuration"),
    Column("dataset", "string", "dataset name"),
    Column("conversation_id", "string", "conversation the turn belongs to"),
    Column("turn_index", "Int64", "position of the turn in its conversation, from 0"),
    Column("turn_id", "string", "conversation_id#turn_index"),
    Column("audio", "string", "source of the user audio"),
    Column(
        "feed_mode", "string", "fast (whole clip at once) or realtime (paced like a microphone)"
    ),
]
_TEXT_COLUMNS = [
    Column("reference_text", "string", "reference transcript of the user turn"),
    Column("user_transcript", "string", "what the pipeline heard"),
    Column("agent_text", "string", "what the agent said"),
    Column("tool_calls", "string", "JSON list of {name, arguments, output}"),
    Column("expected_tool", "string", "tool the turn expects to be called"),
]
_METRIC_COLUMNS = [
    Column("wer", "Float64", "word error rate of user_transcript vs reference (normalised)"),
    Column("answer_ok", "boolean", "expected keywords/regex found in agent_text"),
    Column("tool_call_ok", "boolean", "expected tool called with matching arguments"),
    Column("quality", "Float64", "fraction of applicable quality checks passed"),
    Column("cost_usd", "Float64", "cost from usage and the price table; NA if a price is unknown"),
]
_LATENCY_DOCS = {
    "endpointing_s": "end of speech -> turn detected (VAD / commit)",
    "stt_s": "end of speech -> final transcript",
    "llm_ttft_s": "final transcript -> first model output (text or tool call)",
    "agent_first_text_s": "first model output -> first answer text (tool calls happen here)",
    "text_buffer_s": "first answer text -> first TTS request (sentence buffering)",
    "tts_ttfb_s": "first TTS request -> first TTS audio bytes",
    "audio_delivery_s": "first TTS bytes -> first agent audio delivered",
    "response_created_s": "end of speech -> realtime response created",
    "voice_to_voice_s": "end of speech -> first agent audio delivered",
    "voice_to_audible_s": "end of speech -> first agent sample above the silence threshold",
    "leading_silence_s": "first agent audio -> first audible agent audio",
    "turn_total_s": "end of speech -> last agent audio delivered",
    "audio_send_s": "first -> last user audio handed to the pipeline",
}
_LATENCY_COLUMNS = [Column(c, "Float64", _LATENCY_DOCS[c]) for c in LATENCY_COLUMNS]
_OTHER_COLUMNS = [
    Column("input_audio_s", "Float64", "duration of the user audio"),
    Column("agent_audio_s", "Float64", "duration of the agent audio"),
    Column("harness_overhead_s", "Float64", "time spent in voicelab's own code in the turn"),
    Column(
        "stt_server_s",
        "Float64",
        "the server's own processing time of the transcription (openai-processing-ms); "
        "stt_s minus it is transport, client code and injected delay",
    ),
    Column(
        "tts_server_s",
        "Float64",
        "the server's own time to the first audio of the first speech request "
        "(openai-processing-ms); tts_ttfb_s minus it is transport, client code and injected delay",
    ),
    Column("llm_requests", "Int64", "language-model requests in the turn"),
    Column("llm_input_tokens", "Int64", "text input tokens"),
    Column("llm_cached_input_tokens", "Int64", "cached text input tokens"),
    Column("llm_output_tokens", "Int64", "text output tokens"),
    Column("input_audio_tokens", "Int64", "realtime audio input tokens"),
    Column("output_audio_tokens", "Int64", "realtime audio output tokens"),
    Column("tts_characters", "Int64", "characters sent to TTS"),
    Column("timeline_ns", "string", "JSON of raw perf_counter_ns stamps"),
    Column("tags", "string", "JSON of the turn's tags (speaker, noise...)"),
    Column("error", "string", "what went wrong in the turn; NA when it succeeded"),
    Column("error_type", "string", "error class name"),
    Column(
        "error_transient",
        "boolean",
        "a retry could help (429, 5xx, timeout, drop); NA if it succeeded",
    ),
    Column(
        "attempts",
        "Int64",
        "times the turn was run (transient errors are retried); the row is the last attempt's",
    ),
    Column("retried_errors", "string", "JSON list of the error_type of each earlier attempt"),
]
_LANGUAGE_COLUMNS = [
    Column(
        "language",
        "string",
        "ISO 639 code of the user turn's language (en, fr...); NA if the dataset does not say. "
        "WER normalises English and unknown references with Whisper's English normaliser, others "
        "with its basic one",
    ),
]

_JUDGE_COLUMNS = [
    Column(
        "judge_model",
        "string",
        "the judge model; NA when no judge ran (none set, or the turn failed)",
    ),
    Column(
        "judge_prompt", "string", "JSON of the messages sent to the judge (rubric, then the turn)"
    ),
    Column("judge_task_done", "boolean", "judge: the customer's request was handled"),
    Column(
        "judge_grounded",
        "boolean",
        "judge: every fact in the answer comes from a tool result or the customer",
    ),
    Column(
        "judge_speech_ok", "boolean", "judge: fit to be spoken (short, no markdown, lists or URLs)"
    ),
    Column("judge_score", "Float64", "fraction of the three judge checks passed"),
    Column("judge_rationale", "string", "the judge's reason for its verdict"),
    Column("judge_input_tokens", "Int64", "the judge's input tokens (its last attempt)"),
    Column("judge_output_tokens", "Int64", "the judge's output tokens (its last attempt)"),
    Column(
        "judge_cost_usd",
        "Float64",
        "the judge's own cost from its tokens and the price table (not in cost_usd); NA if unknown",
    ),
    Column(
        "judge_cost_basis",
        "string",
        "what judge_cost_usd is: 'prices as of DATE' (what the judge's model costs), or "
        "'projection: MODEL, prices as of DATE' (voicelab's own server answered for the model: "
        "nothing was paid); NA when no judge ran",
    ),
    Column(
        "judge_error",
        "string",
        "why the judge gave no verdict (HTTP error, timeout, malformed verdict); the agent's "
        "columns are unaffected",
    ),
    Column("judge_error_type", "string", "the judge error's class name"),
]
_INTELLIGIBILITY_COLUMNS = [
    Column(
        "agent_transcript",
        "string",
        "the agent's audio transcribed back by the agent_wer STT; NA without audio or agent_wer",
    ),
    Column(
        "agent_wer", "Float64", "word error rate of agent_transcript vs agent_text (normalised)"
    ),
    Column("agent_transcript_error", "string", "why the agent's audio could not be transcribed"),
]

_TRIAL_COLUMNS = [
    Column(
        "trial",
        "Int64",
        "which run of the conversation the row belongs to (voicelab run --repeat k), from 0",
    ),
]
_COST_COLUMNS = [
    Column("stt_audio_s", "Float64", "seconds of user audio billed as transcription (usage)"),
    Column("tts_audio_s", "Float64", "seconds of agent speech synthesised by TTS (usage)"),
    Column(
        "cost_basis",
        "string",
        "what cost_usd is: 'prices as of DATE' (what the run's models cost), or 'projection: "
        "MODELS, prices as of DATE' (the usage priced on models that did not run: --price-as, "
        "or voicelab's own server answering for them)",
    ),
]

SCHEMA: tuple[Column, ...] = (
    *_ID_COLUMNS,
    *_TEXT_COLUMNS,
    *_METRIC_COLUMNS,
    *_LATENCY_COLUMNS,
    *_OTHER_COLUMNS,
    *_LANGUAGE_COLUMNS,
    *_JUDGE_COLUMNS,
    *_INTELLIGIBILITY_COLUMNS,
    *_TRIAL_COLUMNS,
    *_COST_COLUMNS,
)
COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in SCHEMA)
ADDED_COLUMNS: dict[str, Any] = {
    "trial": 0,
    "stt_audio_s": None,
    "tts_audio_s": None,
    "cost_basis": None,
    **{c.name: None for c in (*_LANGUAGE_COLUMNS, *_JUDGE_COLUMNS, *_INTELLIGIBILITY_COLUMNS)},
}
"""Columns added after rows were first written, and their value in an older row (one run per
conversation: trial 0; usage not recorded: NA)."""


def with_added_columns(row: Mapping[str, Any]) -> dict[str, Any]:
    """An older row with the columns added since, at their ``ADDED_COLUMNS`` value."""
    return {**row, **{k: v for k, v in ADDED_COLUMNS.items() if k not in row}}


def check_row(row: Mapping[str, Any], where: str) -> None:
    """Refuse a row whose keys are not exactly the schema's columns (no silent drop or fill)."""
    unknown = sorted(set(row) - set(COLUMN_NAMES))
    missing = [name for name in COLUMN_NAMES if name not in row]
    problems = [
        f"{what} column(s) {', '.join(names)}"
        for what, names in (("unknown", unknown), ("missing", missing))
        if names
    ]
    if problems:
        raise ResultsError(
            f"{where}: row does not match the result schema ({'; '.join(problems)}); "
            "voicelab.SCHEMA lists the columns"
        )


def to_frame(rows: Iterable[Mapping[str, Any]] | pd.DataFrame, where: str = "rows") -> pd.DataFrame:
    """Rows as a DataFrame with exactly the schema's columns and dtypes; ``where`` names them."""
    if isinstance(rows, pd.DataFrame):
        check_row(dict.fromkeys(rows.columns), where)
        frame = rows[list(COLUMN_NAMES)].copy()
    else:
        records = list(rows)
        for index, row in enumerate(records):
            check_row(row, f"{where}, row {index}")
        frame = pd.DataFrame.from_records(records, columns=list(COLUMN_NAMES))
    for column in SCHEMA:
        try:
            frame[column.name] = frame[column.name].astype(column.dtype)  # type: ignore[call-overload]
        except (TypeError, ValueError) as e:
            raise ResultsError(f"{where}: column {column.name} is not {column.dtype} ({e})") from e
    return frame
