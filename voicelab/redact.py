"""Keep secrets out of saved configs, rows, logs and error messages."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

_SECRET_KEY = re.compile(
    r"(.*[_-])?(api[_-]?key|key|secret|token|password|authorization)", re.IGNORECASE
)
_SECRET_VALUE = re.compile(r"\b(sk-[A-Za-z0-9_\-]{8,}|Bearer\s+[A-Za-z0-9._\-]{8,})")
REDACTED = "***"


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with known secrets and anything shaped like an API key replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return _SECRET_VALUE.sub(REDACTED, text)


def redact_config(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A copy of a JSON-like config with secret-named fields and secret-shaped strings masked."""
    secrets = tuple(secrets)
    if isinstance(value, Mapping):
        return {
            k: REDACTED if _SECRET_KEY.fullmatch(str(k)) and v else redact_config(v, secrets)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_config(v, secrets) for v in value]
    if isinstance(value, str):
        return redact_text(value, secrets)
    return value
