"""Calibration: does a delay injected at the server show, exactly, in the measured latency?

The server reports its own processing time of every response (``openai-processing-ms``), so a
stage's measured latency minus it is what the server did not account for: transport, client
code, and any injected delay. Paired per clip between a plain and a delayed server, that
difference is the injected delay alone; the models' own run time, which swings by tens of
milliseconds from run to run, has dropped out. What remains (scheduling, transport) only adds
time, so the comparison is between each server's floor over the clips.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from voicelab.datasets.types import Dataset, Turn
from voicelab.errors import ConfigError, PipelineError
from voicelab.metrics.latency import LATENCY_SPANS
from voicelab.pipelines.base import Pipeline
from voicelab.turn_result import TurnResult

# stage (as the server's figure is keyed) -> the latency column whose time the server shares
CALIBRATED_STAGES: Mapping[str, str] = {"stt": "stt_s", "tts": "tts_ttfb_s"}


def unaccounted_s(result: TurnResult, stage: str) -> float | None:
    """The stage's measured latency less the server's own processing time; None if either is
    missing."""
    start, end = LATENCY_SPANS[CALIBRATED_STAGES[stage]]
    measured_s = result.timeline.seconds_between(start, end)
    server_s = result.server_processing_s.get(stage)
    return None if measured_s is None or server_s is None else measured_s - server_s


async def _run_alone(pipeline: Pipeline, turn: Turn) -> TurnResult:
    """``turn`` as the only turn of a fresh conversation; an error row raises."""
    state = await pipeline.start_conversation(turn.conversation_id)
    try:
        result = await pipeline.run_turn(turn, state)
    finally:
        await pipeline.end_conversation(state)
    if not result.ok:
        raise PipelineError(f"calibration turn {turn.turn_id}: {result.error}")
    return result


@dataclass(frozen=True)
class CalibrationPair:
    """One clip's unaccounted time of one stage on the plain and on the delayed server."""

    turn_id: str
    stage: str
    plain_s: float
    delayed_s: float

    @property
    def delay_s(self) -> float:
        """The delay this clip measured: delayed minus plain."""
        return self.delayed_s - self.plain_s


async def calibration_pairs(
    plain: Pipeline, delayed: Pipeline, dataset: Dataset
) -> list[CalibrationPair]:
    """Each conversation's first turn on both pipelines, one right after the other so drift
    cancels: one pair per calibrated stage and clip. The first conversation only warms both
    up (connections, caches) and is not counted."""
    conversations = list(dataset)
    if len(conversations) < 2:
        raise ConfigError("calibration needs two conversations or more (the first warms up)")
    for pipeline in (plain, delayed):
        await _run_alone(pipeline, conversations[0].turns[0])
    pairs = []
    for conversation in conversations[1:]:
        turn = conversation.turns[0]
        base, slow = await _run_alone(plain, turn), await _run_alone(delayed, turn)
        for stage in CALIBRATED_STAGES:
            base_s, slow_s = unaccounted_s(base, stage), unaccounted_s(slow, stage)
            if base_s is None or slow_s is None:
                raise PipelineError(
                    f"calibration turn {turn.turn_id}: no {stage} figure (the server must "
                    "send openai-processing-ms)"
                )
            pairs.append(CalibrationPair(turn.turn_id, stage, base_s, slow_s))
    return pairs


def floor_delay_s(pairs: Sequence[CalibrationPair], stage: str) -> float:
    """The delay as measured: the delayed server's least unaccounted time minus the plain one's.

    Scheduling, transport and garbage collection only ever add time, so each side's minimum
    over the clips is its floor, free of that noise; a paired median keeps the noise of both.
    """
    stage_pairs = [pair for pair in pairs if pair.stage == stage]
    if not stage_pairs:
        raise ConfigError(f"no calibration pairs of stage {stage!r}")
    return min(p.delayed_s for p in stage_pairs) - min(p.plain_s for p in stage_pairs)
