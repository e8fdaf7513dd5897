"""Parsing a JSON object out of user-supplied text, with an error that names where it came from."""

from __future__ import annotations

import json
from typing import Any

from voicelab.errors import VoicelabError


def json_object(text: str, what: str, error: type[VoicelabError]) -> dict[str, Any]:
    """``text`` parsed as a JSON object; ``error`` naming ``what`` if it is not one."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise error(f"{what} is not valid JSON ({e.msg})") from e
    if not isinstance(value, dict):
        raise error(f"{what} must be a JSON object")
    return value
