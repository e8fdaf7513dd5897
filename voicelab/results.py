"""The result table: its column schema, and saving/loading a run folder.

A run folder holds ``rows.jsonl`` (appended and flushed as each turn finishes: the durable
record a crashed run resumes from), ``results.parquet`` (the typed table), ``run.json``
(resolved config with secrets removed, environment) and ``audio/`` (agent speech per turn).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from voicelab.errors import ResultsError
from voicelab.metrics.latency import LATENCY_COLUMNS

ROWS_FILE = "rows.jsonl"
PARQUET_FILE = "results.parquet"
RUN_FILE = "run.json"


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
    Column("backend", "string", "local, openai, or local-cascade (a local realtime stand-in)"),
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
]

SCHEMA: tuple[Column, ...] = (
    *_ID_COLUMNS,
    *_TEXT_COLUMNS,
    *_METRIC_COLUMNS,
    *_LATENCY_COLUMNS,
    *_OTHER_COLUMNS,
)
COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in SCHEMA)


def to_frame(rows: Iterable[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Rows as a DataFrame with exactly the schema's columns and dtypes."""
    frame = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    for column in SCHEMA:
        if column.name not in frame:
            frame[column.name] = pd.NA
        frame[column.name] = frame[column.name].astype(column.dtype)  # type: ignore[call-overload]
    return frame[list(COLUMN_NAMES)]


class RowLog:
    """Append-only, flushed-per-row JSONL of finished turns."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / ROWS_FILE

    def read(self) -> list[dict[str, Any]]:
        """Every complete row; a last line cut off by a crash is ignored."""
        if not self.path.exists():
            return []
        rows = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return rows

    def append(self, row: Mapping[str, Any]) -> None:
        """Persist one row before the next turn is counted."""
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row, default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def rewrite(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Replace the log atomically (used when a resumed run redoes a conversation)."""
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r, default=str) + "\n" for r in rows), encoding="utf-8")
        tmp.replace(self.path)


def write_parquet(run_dir: Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write the typed table next to the row log."""
    path = run_dir / PARQUET_FILE
    to_frame(rows).to_parquet(path, index=False)
    return path


def load_run(path: str | Path) -> pd.DataFrame:
    """The result table of a run folder (rebuilt from the row log, the source of truth)."""
    run_dir = Path(path)
    log = RowLog(run_dir)
    if log.path.exists():
        return to_frame(log.read())
    if (run_dir / PARQUET_FILE).exists():
        return to_frame(pd.read_parquet(run_dir / PARQUET_FILE))
    raise ResultsError(f"{run_dir}: not a voicelab run folder (no {ROWS_FILE} or {PARQUET_FILE})")


def load_run_info(path: str | Path) -> dict[str, Any]:
    """The run's recorded configuration and environment."""
    info_path = Path(path) / RUN_FILE
    try:
        info: dict[str, Any] = json.loads(info_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ResultsError(f"{info_path}: cannot read run info ({e})") from e
    return info
