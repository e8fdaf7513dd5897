"""An optional judge model that scores each turn against a rubric, through any
OpenAI-compatible Chat Completions endpoint, made to answer with a ``record_verdict`` call."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from voicelab.datasets.types import Turn
from voicelab.error_mapping import as_voicelab_error
from voicelab.errors import ConfigError, EvaluationError, VoicelabError
from voicelab.evaluation.judge_prompt import judge_messages, load_rubric
from voicelab.evaluation.settings import JudgeSettings
from voicelab.evaluation.verdict import FORCE_VERDICT, VERDICT_TOOL, Verdict, parse_verdict
from voicelab.execution.retry import Failure, RetryPolicy, error_failure, with_retries
from voicelab.providers.openai_endpoint import OpenAIEndpoint
from voicelab.providers.server_backend import http_backend
from voicelab.turn_result import TurnResult


@dataclass(frozen=True)
class JudgeOutcome:
    """What the judge made of one turn: its verdict, or the error that stopped it."""

    model: str
    prompt: str
    """The messages sent, as JSON (the rubric, then the turn)."""
    verdict: Verdict | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    error: VoicelabError | None = None
    attempts: int = 1
    backend: str | None = None
    """Who answered: the backend label of the judge's server (``voicelab serve`` names itself,
    e.g. ``synthetic``; its tokens are then priced as a projection, not as paid)."""

    @property
    def failure(self) -> Failure | None:
        """The error as a failed attempt, for the retry loop."""
        return error_failure(self.error) if self.error is not None else None


class Judge:
    """Scores turns with a judge model; a failure is an outcome, never an exception."""

    def __init__(
        self,
        settings: JudgeSettings,
        *,
        api_key: str | None,
        retry: RetryPolicy | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        if not api_key and not settings.base_url:
            raise ConfigError(
                f"the judge needs a key in ${settings.api_key_env} (the OpenAI cloud) or the "
                "base_url of a compatible server (--judge-base-url)"
            )
        self.settings = settings
        self.rubric = load_rubric(settings.rubric)
        self.retry = retry or RetryPolicy()
        self.secrets = tuple(secrets) + ((api_key,) if api_key else ())
        self._endpoint = OpenAIEndpoint(
            api_key=api_key, base_url=settings.base_url, timeout_s=settings.timeout_s
        )
        self.backend = http_backend(self._endpoint)
        """The judge's backend label, asked of its server once (as chained-openai does)."""

    def describe(self) -> dict[str, Any]:
        """The judge's settings and rubric, recorded in run.json (never its key)."""
        return {
            "model": self.settings.model,
            "base_url": self.settings.base_url,
            "backend": self.backend,
            "api_key_env": self.settings.api_key_env,
            "rubric_file": self.settings.rubric,
            "rubric": self.rubric,
            "max_tokens": self.settings.max_tokens,
            "temperature": self.settings.temperature,
        }

    async def judge(self, turn: Turn, result: TurnResult) -> JudgeOutcome:
        """The verdict on ``result``; transient failures are tried again as ``retry`` says."""
        messages = judge_messages(self.rubric, turn, result)

        async def once() -> JudgeOutcome:
            return await self._ask(turn.turn_id, messages)

        outcome, attempts, _ = await with_retries(
            self.retry, f"judge:{turn.turn_id}", once, lambda o: o.failure
        )
        return replace(outcome, attempts=attempts)

    async def _ask(self, turn_id: str, messages: list[dict[str, Any]]) -> JudgeOutcome:
        where = f"judge {self.settings.model} at {self._endpoint.base_url or 'OpenAI'}, {turn_id}"
        prompt = json.dumps(messages, ensure_ascii=False)
        request: dict[str, Any] = {
            "model": self.settings.model,
            "messages": messages,
            "tools": [VERDICT_TOOL],
            "tool_choice": FORCE_VERDICT,
            "max_completion_tokens": self.settings.max_tokens,
        }
        if self.settings.temperature is not None:
            request["temperature"] = self.settings.temperature
        try:
            async with self._endpoint.client() as client:
                completion = await client.chat.completions.create(**request)
        except Exception as e:  # every failure of the request is the judge's error, not the turn's
            error = as_voicelab_error(e, where=where, secrets=self.secrets)
            return JudgeOutcome(self.settings.model, prompt, error=error, backend=self.backend)
        usage = completion.usage
        answered = JudgeOutcome(
            self.settings.model, prompt,
            input_tokens=usage.prompt_tokens if usage else None,
            output_tokens=usage.completion_tokens if usage else None, backend=self.backend,
        )  # fmt: skip
        try:
            if not completion.choices:
                raise EvaluationError(f"{where}: the judge's completion has no choices")
            verdict = parse_verdict(completion.choices[0].message.model_dump(), where)
        except EvaluationError as e:  # it was paid for: its tokens stay
            return replace(answered, error=e)
        return replace(answered, verdict=verdict)
