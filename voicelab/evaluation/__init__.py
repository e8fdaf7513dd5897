"""Measures computed after each turn, in the driver: a judge model and the agent's
intelligibility (its audio transcribed back)."""

from voicelab.evaluation.evaluator import NOT_EVALUATED, Evaluator, TurnEvaluation, build_evaluator
from voicelab.evaluation.intelligibility import AgentIntelligibility, agent_transcriber
from voicelab.evaluation.judge import Judge, JudgeOutcome
from voicelab.evaluation.settings import (
    AgentWerSettings,
    EvaluationSettings,
    JudgeSettings,
    evaluation_settings_from_dict,
)
from voicelab.evaluation.verdict import Verdict

__all__ = [
    "NOT_EVALUATED",
    "AgentIntelligibility",
    "AgentWerSettings",
    "EvaluationSettings",
    "Evaluator",
    "Judge",
    "JudgeOutcome",
    "JudgeSettings",
    "TurnEvaluation",
    "Verdict",
    "agent_transcriber",
    "build_evaluator",
    "evaluation_settings_from_dict",
]
