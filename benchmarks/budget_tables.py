"""The latency budget's pure parts: the lever table, the figures it compares, the text tables."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from voicelab import ChainedLocalConfig
from voicelab.config_io import config_from_dict, config_to_dict, set_nested

# stage -> what the pipeline spent on it, and the column of the same work done alone
STAGES = ("stt_s", "llm_ttft_s", "agent_first_text_s", "text_buffer_s", "tts_ttfb_s",
          "audio_delivery_s")  # fmt: skip
ALONE = ("stt_s", "llm_ttft_s", "agent_first_text_s", "text_buffer_s", "tts_ttfb_s")


@dataclass(frozen=True)
class Lever:
    """A latency or quality lever, and the config settings that move it from its default."""

    name: str
    """What the configuration is with the lever moved (the row's label)."""
    change: Mapping[str, Any]
    """Dotted config path (``feed.chunk_ms``) -> its value with the lever moved: off for a
    lever on by default, on for one that is off by default."""
    input_mode: str = "static"
    """The input mode in which its effect shows ("streamed" for work during endpointing)."""


LEVERS: tuple[Lever, ...] = (
    # the agent (llm-fast, grounded)
    Lever("tool_choice auto, not required", {"tool_choice": "auto"}),
    Lever("tools dropped from the answer prompt", {"llm_stable_prompt_prefix": False}),
    Lever("call opening decoded, not prefilled", {"llm_prefill_call_opening": False}),
    Lever("argument name decoded, not prefilled", {"llm_prefill_argument_name": False}),
    Lever("answer held by a grammar, not a mask", {"llm_answer_token_mask": False}),
    Lever("decoded tokens' KV reused (opt-in)", {"llm_reuse_decoded_tokens": True}),
    Lever("prefill on 2 threads, cores busy or not", {"llm_threads_batch": 2}),
    Lever("prefill on 1 thread, cores idle or not", {"llm_idle_prefill_threads": 1}),
    Lever("decode on 1 thread, cores idle or not", {"llm_idle_decode_threads": 1}),
    Lever("decode on 2 threads, cores busy or not", {"llm_threads": 2}),
    Lever("tool results in the 'tool' role", {"llm_tool_result_style": "tool_role"}),
    Lever("tool arguments not grounded", {"llm_ground_tool_arguments": False}),
    Lever("tool named by the model, not routed", {"llm_route_tools_by_description": False}),
    # speech (speech-fast) and the SDK's TTS buffering
    Lever("first piece waits for punctuation", {"first_words_min_chars": 0}),
    Lever("SDK sentence splitter", {"first_clause_min_chars": 0, "first_words_min_chars": 0}),
    Lever("SDK TTS buffer (120 chunks)", {"tts_buffer_size": 120}),
    Lever("piper on onnxruntime's default session", {"tts_threads": None}),
    Lever("piper leading silence kept", {"tts_max_leading_silence_ms": None}),
    Lever("Whisper temperature fallback", {"stt_temperature_fallback": True}),
    Lever("VAD starts cold", {"vad_warmup_silence_ms": 0}, input_mode="streamed"),
    Lever("no speculative STT", {"speculative_stt": False}, input_mode="streamed"),
)


def config_paths(data: Mapping[str, Any], prefix: str = "") -> set[str]:
    """Every dotted setting path of a config's plain data (tables included)."""
    paths = set()
    for key, value in data.items():
        path = f"{prefix}{key}"
        paths.add(path)
        if isinstance(value, Mapping):
            paths |= config_paths(value, f"{path}.")
    return paths


def missing_settings(base: ChainedLocalConfig, lever: Lever) -> list[str]:
    """The lever's settings this build's config does not have (its branch not merged yet)."""
    known = config_paths(config_to_dict(base))
    return sorted(path for path in lever.change if path not in known)


def lever_moved(base: ChainedLocalConfig, lever: Lever) -> ChainedLocalConfig:
    """``base`` with ``lever`` moved from its default, checked like a config read from a file."""
    data = config_to_dict(base)
    for path, value in lever.change.items():
        set_nested(data, path.split("."), value)
    return config_from_dict(ChainedLocalConfig, data)


def covered_at(chunks: Sequence[tuple[float, str]], text: str) -> float | None:
    """The time of the chunk after which the streamed text holds ``text`` (spacing aside)."""
    wanted = " ".join(text.split())
    so_far = ""
    for seconds, piece in chunks:
        so_far += piece
        if wanted in " ".join(so_far.split()):
            return seconds
    return None


@dataclass(frozen=True)
class ChunkTimes:
    """One chat request run alone: when each chunk came (s from the call) and what it held."""

    seconds: tuple[float, ...]
    texts: tuple[str, ...]
    calls: tuple[bool, ...]
    total_s: float

    @property
    def first_output_s(self) -> float | None:
        """The first text or tool call: what ``llm_first_token`` stamps."""
        return next(
            (s for s, t, c in zip(self.seconds, self.texts, self.calls, strict=True) if t or c),
            None,
        )

    @property
    def first_text_s(self) -> float | None:
        """The first answer text."""
        return next((s for s, t in zip(self.seconds, self.texts, strict=True) if t), None)

    def covered_s(self, text: str) -> float | None:
        """When the answer text so far first holds ``text`` (the first text sent to TTS)."""
        return covered_at(list(zip(self.seconds, self.texts, strict=True)), text)


def agent_stage_times(
    requests: Sequence[ChunkTimes], first_tts_text: str | None
) -> dict[str, float]:
    """The agent's three stages as the turn's chat requests took them alone.

    ``llm_ttft_s``: the first request to its first output (text or tool call).
    ``agent_first_text_s``: from there to the first answer text: the rest of that request and
    every whole request before the one that answers. ``text_buffer_s``: from that first text
    until the answer holds the first text the pipeline sent to TTS.
    """
    figures = dict.fromkeys(("llm_ttft_s", "agent_first_text_s", "text_buffer_s"), math.nan)
    first_output = requests[0].first_output_s if requests else None
    if first_output is None:
        return figures
    figures["llm_ttft_s"] = first_output
    index = next((i for i, r in enumerate(requests) if r.first_text_s is not None), None)
    if index is None:
        return figures
    answer = requests[index]
    first_text = answer.first_text_s
    assert first_text is not None
    waited = sum(r.total_s for r in requests[:index])  # zero when the first request answers
    figures["agent_first_text_s"] = waited - first_output + first_text
    covered = answer.covered_s(first_tts_text) if first_tts_text else None
    if covered is not None:
        figures["text_buffer_s"] = covered - first_text
    return figures


def quantiles(values: pd.Series) -> tuple[float, float]:
    """Median and p90 of the non-missing values (NaN, NaN if there are none)."""
    clean = values.astype(float).dropna()
    if clean.empty:
        return math.nan, math.nan
    return float(clean.median()), float(clean.quantile(0.9))


def stage_rows(frame: pd.DataFrame, alone: pd.DataFrame, streamed: bool) -> list[list[Any]]:
    """Per stage: pipeline p50/p90, the component alone p50/p90, the ratio of the medians and
    the median of per-turn ratios. ``alone`` is indexed like ``frame`` (by audio source)."""
    stages = pd.DataFrame({s: frame[s].astype(float) for s in STAGES})
    if streamed:  # Whisper starts once the VAD has heard the turn end
        stages["stt_s"] = frame["stt_s"].astype(float) - frame["endpointing_s"].astype(float)
    stages["voice_to_voice_s"] = frame["voice_to_voice_s"].astype(float)
    solo = pd.DataFrame({s: alone[s].astype(float) for s in ALONE}, index=alone.index)
    solo["voice_to_voice_s"] = solo[list(ALONE)].sum(axis=1, skipna=False)
    rows = []
    for stage in stages.columns:
        label = "stt_s - endpointing_s" if streamed and stage == "stt_s" else stage
        p50, p90 = quantiles(stages[stage])
        if stage not in solo:
            rows.append([label, p50, p90, math.nan, math.nan, math.nan, math.nan])
            continue
        a50, a90 = quantiles(solo[stage])
        paired = (stages[stage] / solo[stage]).replace([math.inf, -math.inf], math.nan)
        rows.append([label, p50, p90, a50, a90, _ratio(p50, a50), quantiles(paired)[0]])
    return rows


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], digits: int = 3) -> str:
    """A fixed-width text table: first column left, the rest right; NaN and None as '-'."""

    def cell(value: Any) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "-"
        if isinstance(value, float):
            return f"{value:.{digits}f}"
        return str(value)

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = []
    for row in [list(map(str, headers)), *cells]:
        first = row[0].ljust(widths[0])
        rest = [value.rjust(width) for value, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join([first, *rest]).rstrip())
    return "\n".join(lines)
