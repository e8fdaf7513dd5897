"""The evaluations of one finished turn, run in the driver before its row is written."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from voicelab.datasets.types import Turn
from voicelab.evaluation.intelligibility import (
    AgentIntelligibility,
    TranscriptOutcome,
    agent_transcriber,
    spoken_language,
)
from voicelab.evaluation.judge import Judge, JudgeOutcome
from voicelab.evaluation.settings import EvaluationSettings
from voicelab.execution.retry import RetryPolicy
from voicelab.turn_result import TurnResult


@dataclass(frozen=True)
class TurnEvaluation:
    """What the evaluations made of a turn; None where one did not run or does not apply."""

    judge: JudgeOutcome | None = None
    """None: no judge, or the turn failed (a failed turn is not judged)."""
    agent_transcript: TranscriptOutcome | None = None
    """None: no agent_wer, or the turn has no agent audio."""


NOT_EVALUATED = TurnEvaluation()


class Evaluator:
    """Runs the configured evaluations of a turn, one after another, in the driver."""

    def __init__(
        self,
        settings: EvaluationSettings,
        *,
        judge: Judge | None = None,
        intelligibility: AgentIntelligibility | None = None,
    ) -> None:
        self.settings = settings
        self.judge = judge
        self.intelligibility = intelligibility

    def describe(self) -> dict[str, Any]:
        """What is evaluated and how, recorded in run.json (never a key)."""
        described: dict[str, Any] = {}
        if self.judge is not None:
            described["judge"] = self.judge.describe()
        if self.intelligibility is not None:
            described["agent_wer"] = self.intelligibility.describe()
        return described

    async def evaluate(self, turn: Turn, result: TurnResult) -> TurnEvaluation:
        """The turn's evaluations; they never raise for a failing judge or STT."""
        judged = None
        if self.judge is not None and result.ok:
            judged = await self.judge.judge(turn, result)
        heard = None
        if self.intelligibility is not None and result.agent_audio is not None:
            heard = await self.intelligibility.transcribe(
                result.agent_audio, turn.turn_id, spoken_language(turn.language)
            )
        return TurnEvaluation(judge=judged, agent_transcript=heard)


def build_evaluator(
    settings: EvaluationSettings,
    *,
    retry: RetryPolicy | None = None,
    environ: Mapping[str, str] | None = None,
    secrets: Iterable[str] = (),
) -> Evaluator | None:
    """The evaluator ``settings`` ask for (None if nothing is evaluated); keys are read from
    ``environ`` (default ``os.environ``) by the names the settings give."""
    if not settings.enabled:
        return None
    environ = os.environ if environ is None else environ
    judge = intelligibility = None
    if settings.judge is not None:
        key = environ.get(settings.judge.api_key_env) or None
        judge = Judge(settings.judge, api_key=key, retry=retry, secrets=secrets)
    if settings.agent_wer is not None:
        key = environ.get(settings.agent_wer.api_key_env) or None
        transcriber = agent_transcriber(settings.agent_wer, key)
        keys = (*secrets, key) if key else tuple(secrets)
        intelligibility = AgentIntelligibility(transcriber, retry=retry, secrets=keys)
    return Evaluator(settings, judge=judge, intelligibility=intelligibility)
