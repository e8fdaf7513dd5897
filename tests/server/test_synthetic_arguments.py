"""Tool-call arguments of the synthetic backend: valid for the tool's JSON schema."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from voicelab.demo.support_agent import SUPPORT_TOOLS
from voicelab.server.synthetic.arguments import example_arguments


def _object(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties), **extra}


CASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    (_object({"size": {"enum": ["small", "large"]}}), {"size": "small"}),
    (_object({"kind": {"const": "order"}}), {"kind": "order"}),
    (_object({"n": {"type": "integer", "default": 7}}), {"n": 7}),
    (_object({"id": {"type": "string", "pattern": "^[0-9]{3,6}$"}}), {"id": "123"}),
    (_object({"code": {"type": "string", "pattern": "^[A-Z][0-9]$"}}), {"code": "A1"}),
    (_object({"name": {"type": "string", "minLength": 12}}), {"name": "2024-01-01T00:00:00Z"}),
    (_object({"day": {"type": "string", "format": "date"}}), {"day": "2024-01-01"}),
    (_object({"n": {"type": "integer", "minimum": 3, "maximum": 9}}), {"n": 3}),
    (_object({"n": {"type": "integer", "exclusiveMaximum": -2}}), {"n": -3}),
    (_object({"x": {"type": "number", "exclusiveMinimum": 0.5}}), {"x": 1.5}),
    (_object({"ok": {"type": "boolean"}}), {"ok": False}),
    (_object({"tags": {"type": "array", "items": {"type": "string"}, "minItems": 2}}),
     {"tags": ["synthetic", "synthetic"]}),
    (_object({"note": {"anyOf": [{"type": "string"}, {"type": "null"}]}}),
     {"note": "synthetic"}),
    (_object({"note": {"type": ["null", "integer"]}}), {"note": 0}),
    ({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
      "required": ["b"]}, {"b": "synthetic"}),
    (_object({"address": {"$ref": "#/$defs/Address"}},
             **{"$defs": {"Address": _object({"zip": {"type": "string", "maxLength": 5,
                                                      "pattern": "^[0-9]+$"}})}}),
     {"address": {"zip": "123"}}),
    ({"type": "object", "properties": {}}, {}),
]  # fmt: skip


@pytest.mark.parametrize(("schema", "expected"), CASES)
def test_arguments_fill_required_properties_validly(
    schema: dict[str, Any], expected: dict[str, Any]
) -> None:
    arguments = example_arguments(schema)
    assert arguments == expected
    jsonschema.validate(arguments, schema)


@pytest.mark.parametrize("parameters", [None, "x", [1, 2]])
def test_no_usable_schema_gives_no_arguments(parameters: Any) -> None:
    assert example_arguments(parameters) == {}


@pytest.mark.parametrize("tool", SUPPORT_TOOLS, ids=lambda tool: tool.name)
def test_the_demo_tools_accept_their_arguments(tool: Any) -> None:
    arguments = example_arguments(tool.params_json_schema)
    jsonschema.validate(arguments, tool.params_json_schema)
    assert arguments  # every demo tool has a required parameter
