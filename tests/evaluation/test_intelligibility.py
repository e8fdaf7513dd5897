"""agent_wer: the agent's audio transcribed back (embedded Whisper, or a served STT) and scored
against the agent's own text; and one real judged run on the embedded models."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from voicelab.audio import AudioClip, decode_audio_bytes
from voicelab.datasets import load_dataset
from voicelab.datasets.types import Dataset, Turn
from voicelab.evaluation import (
    AgentWerSettings,
    EvaluationSettings,
    Evaluator,
    Judge,
    JudgeSettings,
    build_evaluator,
)
from voicelab.evaluation.intelligibility import EndpointTranscriber, LocalWhisperTranscriber
from voicelab.metrics.cost import load_price_table
from voicelab.pipelines.realtime.config import RealtimeConfig
from voicelab.providers.openai_endpoint import OpenAIEndpoint
from voicelab.registry import build_pipeline
from voicelab.runner import RunOptions, run_dataset
from voicelab.scoring import evaluation_fields
from voicelab.server.runner import LocalServer
from voicelab.turn_result import TurnResult

pytestmark = pytest.mark.slow  # Whisper, piper and llama.cpp (the session's local server)

# piper -> Whisper tiny.en, six syntheses of each (piper samples its phoneme durations): WER
# 0.0 in 17 of 18, 0.2 once ("the reef into $49"); the bounds allow one such slip per answer
# and one word in ten over the three
ANSWERS = (
    "I'm sorry, I could not find that order. Could you read me the number again?",
    "The refund of forty nine dollars was sent to your card yesterday.",
    "Sure, I have changed the delivery address for you.",
)
AGENT_WER_BOUND = 0.25
MEAN_AGENT_WER_BOUND = 0.1


async def _spoken(server: LocalServer, text: str) -> AudioClip:
    """``text`` spoken by the server's piper voice."""
    async with OpenAIEndpoint(base_url=server.base_url).client() as client:
        speech = await client.audio.speech.create(
            model="tts-1", voice="alloy", input=text, response_format="wav"
        )
    return decode_audio_bytes(speech.content, source=f"piper: {text}")


def _result(text: str, audio: AudioClip | None) -> TurnResult:
    return TurnResult(conversation_id="c", turn_index=0, agent_text=text, agent_audio=audio)


def _agent_wer_evaluator() -> Evaluator:
    evaluator = build_evaluator(EvaluationSettings(agent_wer=AgentWerSettings()), environ={})
    assert evaluator is not None
    return evaluator


async def _agent_columns(evaluator: Evaluator, result: TurnResult) -> dict[str, object]:
    turn = Turn(conversation_id="c", turn_index=0, audio=Path("unused.wav"))
    evaluation = await evaluator.evaluate(turn, result)
    prices = load_price_table()
    fields = evaluation_fields(turn, result, evaluation, prices=prices)
    return {k: fields[k] for k in ("agent_transcript", "agent_wer", "agent_transcript_error")}


async def test_agent_wer_of_piper_spoken_answers_is_low_and_comes_from_the_audio(
    server: LocalServer,
) -> None:
    evaluator = _agent_wer_evaluator()
    clips = [await _spoken(server, text) for text in ANSWERS]
    rates = []
    for text, clip in zip(ANSWERS, clips, strict=True):
        columns = await _agent_columns(evaluator, _result(text, clip))
        assert columns["agent_transcript_error"] is None
        assert isinstance(columns["agent_wer"], float)
        assert columns["agent_wer"] <= AGENT_WER_BOUND, columns
        rates.append(columns["agent_wer"])
    assert sum(rates) / len(rates) <= MEAN_AGENT_WER_BOUND, rates
    # the same text over another answer's audio: the figure is the audio's, not the text's
    mismatched = await _agent_columns(evaluator, _result(ANSWERS[0], clips[1]))
    assert isinstance(mismatched["agent_wer"], float) and mismatched["agent_wer"] > 0.5
    silent = await _agent_columns(evaluator, _result(ANSWERS[0], None))
    assert silent == {"agent_transcript": None, "agent_wer": None, "agent_transcript_error": None}


async def test_a_served_stt_hears_what_the_embedded_whisper_hears(server: LocalServer) -> None:
    clip = await _spoken(server, ANSWERS[2])
    served = EndpointTranscriber("whisper-1", OpenAIEndpoint(base_url=server.base_url))
    assert await served.transcribe(clip, "en") == await LocalWhisperTranscriber().transcribe(
        clip, "en"
    )


async def test_one_real_judged_run_on_the_embedded_models(
    server: LocalServer, demo_data: Path, tmp_path: Path
) -> None:
    first = load_dataset(demo_data).conversations[0]
    dataset = Dataset(
        name="one-turn",
        conversations=(replace(first, turns=first.turns[:1]),),
    )
    settings = EvaluationSettings(
        judge=JudgeSettings(model="local/smollm2-135m-instruct", base_url=server.base_url),
        agent_wer=AgentWerSettings(),
    )
    frame = await run_dataset(
        build_pipeline("realtime", config=RealtimeConfig(base_url=server.base_url)),
        dataset, tmp_path, options=RunOptions(save_audio=False),
        evaluator=build_evaluator(settings, environ={}),
    )  # fmt: skip
    row = frame.iloc[0]
    assert row["error"] is pd.NA, row["error"]
    # the server constrains the forced call by grammar: a schema-valid verdict
    assert row["judge_error"] is pd.NA, row["judge_error"]
    assert row["judge_model"] == "local/smollm2-135m-instruct"
    for check in ("judge_task_done", "judge_grounded", "judge_speech_ok"):
        assert isinstance(row[check], bool | np.bool_)
    assert row["judge_score"] in (0.0, 1 / 3, 2 / 3, 1.0)
    assert row["judge_input_tokens"] > 0 and row["judge_output_tokens"] > 0
    assert row["judge_cost_usd"] == 0.0  # a local model is free
    # the realtime cascade speaks its answer with piper: heard back closely (measured 0.00 to
    # 0.09 on the demo's first turns; the bound leaves room for a slip in a long answer)
    assert len(row["agent_transcript"].split()) > 3
    assert row["agent_wer"] <= 0.25, (row["agent_text"], row["agent_transcript"])


async def test_a_verdict_cut_short_is_a_judge_error_not_retried(server: LocalServer) -> None:
    judge = Judge(
        JudgeSettings(model="gpt-4o-mini", base_url=server.base_url, max_tokens=8), api_key=None
    )
    turn = Turn(conversation_id="c", turn_index=0, audio=Path("unused.wav"))
    outcome = await judge.judge(turn, _result("Your order has shipped.", None))
    assert outcome.verdict is None
    assert type(outcome.error).__name__ == "RequestRejectedError"  # the server refuses it: 400
    assert "incomplete tool call" in str(outcome.error) and "c#0" in str(outcome.error)
    assert outcome.attempts == 1  # permanent: not tried again
