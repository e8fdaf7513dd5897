"""What to evaluate after each turn, as typed settings: the ``[evaluation]`` table of an experiment.

Experiment TOML::

    [evaluation.judge]
    model = "gpt-4o-mini"
    base_url = "http://127.0.0.1:8765/v1"   # optional; None is the OpenAI cloud
    api_key_env = "JUDGE_API_KEY"           # the key's environment variable (never the key)
    rubric = "rubric.txt"                   # optional, relative to the experiment file
    [evaluation.agent_wer]
    model = "local"                         # the embedded Whisper, or a served STT model
    base_url = "http://127.0.0.1:8765/v1"   # only for a served model

Recorded in ``run.json`` with the experiment, never part of the pipeline's ``config_hash``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from voicelab.errors import ConfigError

DEFAULT_KEY_ENV = "OPENAI_API_KEY"
LOCAL_STT = "local"
"""``agent_wer`` model meaning the embedded faster-whisper (its default model)."""


@dataclass(frozen=True, kw_only=True)
class JudgeSettings:
    """A judge model scoring each turn against a rubric."""

    model: str
    """The judge's chat model name at ``base_url``."""
    base_url: str | None = None
    """API root of an OpenAI-compatible server; None is the OpenAI cloud."""
    api_key_env: str = DEFAULT_KEY_ENV
    """Environment variable holding the judge's key (read at the edge, never stored)."""
    rubric: str | None = None
    """A text file with the rubric (the judge's instructions); None: the shipped rubric."""
    timeout_s: float = 60.0
    """Per-request timeout."""
    max_tokens: int = 1024
    """Output limit of one verdict (a verdict cut short is a judge error); the default holds the
    longest rationale the schema allows (500 characters) with room to spare."""
    temperature: float | None = 0.0
    """Sampling temperature; None sends none (models that accept only their default)."""

    def __post_init__(self) -> None:
        if not self.model:
            raise ConfigError("evaluation.judge.model must name the judge's model")
        if self.timeout_s <= 0 or self.max_tokens < 1:
            raise ConfigError("evaluation.judge: timeout_s must be > 0 and max_tokens >= 1")


@dataclass(frozen=True, kw_only=True)
class AgentWerSettings:
    """The agent's audio transcribed back by an STT model, scored against its own text."""

    model: str = LOCAL_STT
    """``local`` (the embedded Whisper), a CTranslate2 Whisper folder, or a served model name
    (with ``base_url``)."""
    base_url: str | None = None
    """API root of an OpenAI-compatible ``/v1/audio/transcriptions``; None: run ``model``
    locally."""
    api_key_env: str = DEFAULT_KEY_ENV
    """Environment variable holding the STT server's key (read at the edge, never stored)."""
    timeout_s: float = 60.0
    """Per-request timeout of a served model."""

    def __post_init__(self) -> None:
        if not self.model:
            raise ConfigError("evaluation.agent_wer.model must be 'local', a folder or a name")
        if self.timeout_s <= 0:
            raise ConfigError("evaluation.agent_wer.timeout_s must be > 0")


@dataclass(frozen=True, kw_only=True)
class EvaluationSettings:
    """Which evaluations run after each turn (none by default)."""

    judge: JudgeSettings | None = None
    agent_wer: AgentWerSettings | None = None

    @property
    def enabled(self) -> bool:
        """Whether anything is evaluated."""
        return self.judge is not None or self.agent_wer is not None

    def record(self) -> dict[str, Any]:
        """The settings as the experiment's ``[evaluation]`` table (no key: only its name)."""
        return {
            name: asdict(value)
            for name, value in (("judge", self.judge), ("agent_wer", self.agent_wer))
            if value is not None
        }


def _section(cls: type[Any], data: Any, where: str) -> Any:
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where} must be a table, not {data!r}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; it has {', '.join(sorted(known))}"
        )
    try:
        return cls(**data)
    except TypeError as e:  # a required key is missing
        raise ConfigError(f"{where}: {e}") from None


def evaluation_settings_from_dict(
    data: Mapping[str, Any] | None, where: str = "evaluation"
) -> EvaluationSettings:
    """Settings from an ``[evaluation]`` table, every key checked."""
    data = data or {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where} must be a table, not {data!r}")
    unknown = sorted(set(data) - {"judge", "agent_wer"})
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; it has judge, agent_wer")
    return EvaluationSettings(
        judge=_section(JudgeSettings, data.get("judge"), f"{where}.judge"),
        agent_wer=_section(AgentWerSettings, data.get("agent_wer"), f"{where}.agent_wer"),
    )


def evaluation_table(data: Any, base: Path, where: str = "evaluation") -> dict[str, Any]:
    """An experiment's ``[evaluation]`` table, checked, its paths (a rubric, a Whisper folder)
    taken from ``base``."""
    settings = evaluation_settings_from_dict(data, where)
    judge, heard = settings.judge, settings.agent_wer
    if judge is not None and judge.rubric is not None and not Path(judge.rubric).is_absolute():
        judge = replace(judge, rubric=str((base / judge.rubric).resolve()))
    if heard is not None and heard.model != LOCAL_STT and (base / heard.model).is_dir():
        heard = replace(heard, model=str((base / heard.model).resolve()))
    return replace(settings, judge=judge, agent_wer=heard).record()
