"""Parsing a JSON object out of user-supplied text, with an error that names where it came from."""

from __future__ import annotations

import json
import math
from typing import Any

from voicelab.errors import VoicelabError


class _NonStandardNumber(ValueError):
    """Python's json accepts NaN and Infinity; JSON does not, and no field here means them."""


def _refuse_constant(name: str) -> Any:
    raise _NonStandardNumber(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NonStandardNumber(text)
    return value


def json_object(text: str, what: str, error: type[VoicelabError]) -> dict[str, Any]:
    """``text`` parsed as a JSON object; ``error`` naming ``what`` if it is not one."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as e:
        raise error(f"{what} is not valid JSON ({e.msg})") from e
    except _NonStandardNumber as e:
        raise error(f"{what} is not valid JSON ({e} is not a finite JSON number)") from e
    if not isinstance(value, dict):
        raise error(f"{what} must be a JSON object")
    return value
