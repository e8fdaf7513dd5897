"""A value that satisfies a JSON schema: the arguments of the synthetic backend's tool calls.

Covers what function-tool schemas use (Pydantic's and the Agents SDK's output included): ``const``,
``enum``, ``default``, ``examples``, the basic types with their bounds, ``$ref`` into ``$defs``,
``anyOf``/``oneOf``/``allOf`` (the first branch), and string ``pattern``/``format`` through a few
candidate strings. Only required object properties are filled in.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

_MAX_DEPTH = 16  # a recursive schema ($ref to itself) stops here
# Tried in order against a string's pattern and length bounds; cover ids, codes, words, dates.
_STRING_CANDIDATES = (
    "synthetic", "123", "1234", "12345", "123456", "1", "12", "a", "ab", "abc", "A1", "x1",
    "2024-01-01", "2024-01-01T00:00:00Z", "12:00:00", "user@example.com",
    "https://example.com", "00000000-0000-4000-8000-000000000000",
)  # fmt: skip
_FORMATS = {
    "date": "2024-01-01",
    "date-time": "2024-01-01T00:00:00Z",
    "time": "12:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def example_arguments(parameters: Any) -> dict[str, Any]:
    """Arguments valid for a function tool's ``parameters`` schema (``{}`` when it has none)."""
    if not isinstance(parameters, Mapping):
        return {}
    value = _example(parameters, parameters.get("$defs") or parameters.get("definitions") or {}, 0)
    return value if isinstance(value, dict) else {}


def _example(schema: Mapping[str, Any], defs: Mapping[str, Any], depth: int) -> Any:
    if depth > _MAX_DEPTH:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = defs.get(ref.rsplit("/", 1)[-1])
        return _example(target, defs, depth + 1) if isinstance(target, Mapping) else None
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches and isinstance(branches[0], Mapping):
            return _example(branches[0], defs, depth + 1)
    kind = schema.get("type", "object" if "properties" in schema else None)
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    return _typed(kind, schema, defs, depth)


def _typed(kind: Any, schema: Mapping[str, Any], defs: Mapping[str, Any], depth: int) -> Any:
    if kind == "object":
        properties = schema.get("properties") or {}
        return {
            name: _example(properties.get(name) or {}, defs, depth + 1)
            for name in schema.get("required") or []
        }
    if kind == "array":
        items = schema.get("items")
        items = items if isinstance(items, Mapping) else {}
        return [_example(items, defs, depth + 1) for _ in range(int(schema.get("minItems", 0)))]
    if kind == "string":
        return _string(schema)
    if kind in ("integer", "number"):
        return _number(kind, schema)
    if kind == "boolean":
        return False
    return None


def _string(schema: Mapping[str, Any]) -> str:
    low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
    pattern = schema.get("pattern")
    preferred = _FORMATS.get(str(schema.get("format")))
    candidates: tuple[str, ...] = (preferred,) if preferred else ()
    for candidate in (*candidates, *_STRING_CANDIDATES):
        fits = len(candidate) >= low and (high is None or len(candidate) <= int(high))
        if fits and (not isinstance(pattern, str) or re.search(pattern, candidate)):
            return candidate
    return "x" * max(low, 1) if high is None else "x" * min(max(low, 1), int(high))


def _number(kind: str, schema: Mapping[str, Any]) -> float | int:
    """Zero, moved inside the bounds the schema sets."""
    value = 0.0
    if "minimum" in schema:
        value = max(value, float(schema["minimum"]))
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        value = float(schema["exclusiveMinimum"]) + 1
    if "maximum" in schema and value > schema["maximum"]:
        value = float(schema["maximum"])
    if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
        value = float(schema["exclusiveMaximum"]) - 1
    return math.ceil(value) if kind == "integer" else value
