"""The ranges of realtime settings, checked where OpenAI answers out-of-range values with errors.

The ``openai`` types check only shapes; the values below are OpenAI's documented ranges
(``max_output_tokens`` 1-4096 or ``"inf"``, ``threshold`` 0-1, ``speed`` 0.25-1.5) and, where it
documents none, voicelab's own bounds, far beyond any real setting. A setting is checked on the
session as it would be after an update, and on each response's settings, so a ``tool_choice``
is judged against the tools it will meet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from voicelab.errors import ClientEventError

MAX_OUTPUT_TOKENS = 4096  # OpenAI: "an integer between 1 and 4096 ... or inf"
_MAX_VAD_MS = 10_000  # voicelab's bound: ten seconds of padding or silence is no turn-taking
_MAX_IDLE_TIMEOUT_MS = 30 * 60 * 1000  # a session lives at most 30 minutes
_TURN_DETECTION = ("audio", "input", "turn_detection")
# (path under the session, lowest, highest)
_RANGES: tuple[tuple[tuple[str, ...], float, float], ...] = (
    ((*_TURN_DETECTION, "threshold"), 0.0, 1.0),
    ((*_TURN_DETECTION, "prefix_padding_ms"), 0, _MAX_VAD_MS),
    ((*_TURN_DETECTION, "silence_duration_ms"), 1, _MAX_VAD_MS),
    ((*_TURN_DETECTION, "idle_timeout_ms"), 1, _MAX_IDLE_TIMEOUT_MS),
    (("audio", "output", "speed"), 0.25, 1.5),
)


def check_session_limits(session: Mapping[str, Any], event_id: str | None) -> None:
    """Refuse a session whose numbers are out of range or whose tool_choice names no tool."""
    for path, low, high in _RANGES:
        value = _at(session, path)
        if value is not None and not low <= value <= high:
            raise _out_of_range(f"session.{'.'.join(path)}", value, low, high, event_id)
    check_response_limits(session, "session", event_id)


def check_response_limits(settings: Mapping[str, Any], where: str, event_id: str | None) -> None:
    """Refuse a ``max_output_tokens`` outside 1-4096 (or "inf") and a tool_choice naming no tool."""
    tokens = settings.get("max_output_tokens")
    if tokens is not None and tokens != "inf" and not 1 <= tokens <= MAX_OUTPUT_TOKENS:
        raise ClientEventError(
            f"Invalid '{where}.max_output_tokens': {tokens}. Expected an integer between 1 and "
            f"{MAX_OUTPUT_TOKENS}, or 'inf'.",
            "invalid_value", f"{where}.max_output_tokens", event_id,
        )  # fmt: skip
    choice = settings.get("tool_choice")
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        names = [t.get("name") for t in settings.get("tools") or [] if isinstance(t, Mapping)]
        if choice.get("name") not in names:
            raise ClientEventError(
                f"Invalid '{where}.tool_choice': the function {choice.get('name')!r} is not "
                f"among the tools ({', '.join(map(str, names)) or 'none'}).",
                "invalid_value", f"{where}.tool_choice", event_id,
            )  # fmt: skip


def _at(settings: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = settings
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _out_of_range(
    param: str, value: Any, low: float, high: float, event_id: str | None
) -> ClientEventError:
    return ClientEventError(
        f"Invalid '{param}': {value}. Expected a value between {low} and {high}.",
        "invalid_value", param, event_id,
    )  # fmt: skip
