"""Prompt text and llama.cpp grammars that make a small model's tool calls well-formed.

A call is written as ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``; the grammar
is built from the tools' own JSON schemas, so the name is one of the tools and the arguments
validate. With ``tool_choice="auto"`` the grammar allows either a call or a plain answer (which
may not start with ``<``), so the first generated character tells which branch was taken.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from voicelab._imports import require
from voicelab.errors import ModelError
from voicelab.normalize_ids import spoken_numbers

CALL_OPEN = "<tool_call>"
CALL_CLOSE = "</tool_call>"
ANSWER_FORBIDDEN_CHARS = "<\n"
"""Characters an answer may not hold: one line (a spoken answer is short), never a call."""
_ANSWER_RULE = "answer ::= [^<\\n] [^<\\n]*"  # ANSWER_FORBIDDEN_CHARS, as a GBNF class
ANSWER_ONLY_GRAMMAR = f"root ::= answer\n{_ANSWER_RULE}\n"


def _type_text(schema: Mapping[str, Any]) -> str:
    """A parameter's type as the prompt shows it: its values if it has a few, else its type."""
    if "enum" in schema:
        return "|".join(str(v) for v in schema["enum"])
    return str(schema.get("type", "any"))


def tool_prompt(tools: Sequence[Mapping[str, Any]]) -> str:
    """System-prompt text that lists the tools and the call format.

    Worded so a small model does not echo it as an answer ("You can call this tool: ...").
    """
    lines = ["Tools:"]
    for tool in tools:
        fn = tool["function"]
        params = fn.get("parameters", {}).get("properties", {})
        args = ", ".join(f"{k}: {_type_text(v)}" for k, v in params.items())
        lines.append(f"- {fn['name']}({args}): {fn.get('description', '').strip()}")
    lines.append(
        f'To use a tool, reply with only {CALL_OPEN}{{"name": TOOL, "arguments": {{...}}}}'
        f"{CALL_CLOSE}. When a tool's result is given, answer the customer with it."
    )
    return "\n".join(lines)


def inline_refs(
    schema: Any, defs: Mapping[str, Any] | None = None, seen: tuple[str, ...] = ()
) -> Any:
    """``schema`` with its local ``#/$defs/...`` references replaced by their definitions.

    A tool's parameters are nested inside the call's own schema, where root-relative
    references would point nowhere; pydantic emits them for nested models and enums.
    """
    if defs is None and isinstance(schema, Mapping):
        defs = {**schema.get("definitions", {}), **schema.get("$defs", {})}
    if isinstance(schema, Mapping):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if not ref.startswith(("#/$defs/", "#/definitions/")) or name not in (defs or {}):
                raise ModelError(f"tool schema reference {ref!r} cannot be resolved")
            if name in seen:
                raise ModelError(f"tool schema {name!r} is recursive; a grammar cannot hold it")
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            return {**inline_refs((defs or {})[name], defs, (*seen, name)), **rest}
        return {
            k: inline_refs(v, defs, seen)
            for k, v in schema.items()
            if k not in ("$defs", "definitions")
        }
    if isinstance(schema, list):
        return [inline_refs(v, defs, seen) for v in schema]
    return schema


def _call_schema(tool: Mapping[str, Any]) -> dict[str, Any]:
    fn = tool["function"]
    parameters = inline_refs(fn.get("parameters") or {"type": "object", "properties": {}})
    return {
        "type": "object",
        "properties": {"name": {"const": fn["name"]}, "arguments": parameters},
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }


def _digits_pattern(pattern: str) -> bool:
    """Whether ``pattern`` accepts some string of digits (an order number, a PIN...)."""
    return any(re.fullmatch(pattern, "0" * n) for n in range(1, 13))


def _grounded_parameters(parameters: Mapping[str, Any], said: Sequence[str]) -> Any:
    """``parameters`` with each digits-pattern string limited to the numbers in ``said``;
    None if a required one has no such number."""
    properties = dict(parameters.get("properties") or {})
    for name, prop in properties.items():
        pattern = prop.get("pattern") if isinstance(prop, Mapping) else None
        if prop.get("type") != "string" or not isinstance(pattern, str):
            continue
        if not _digits_pattern(pattern):
            continue  # not an identifier of digits: left as the schema says
        values = [v for v in said if re.fullmatch(pattern, v)]
        if not values:
            if name in (parameters.get("required") or []):
                return None
            continue
        properties[name] = {k: v for k, v in prop.items() if k != "pattern"} | {"enum": values}
    return {**parameters, "properties": properties}


def ground_tools(tools: Sequence[Mapping[str, Any]], said: str) -> list[Mapping[str, Any]]:
    """The tools whose digit identifiers (string parameters with a digits ``pattern``, such as
    an order number) can only take a number the user said in ``said``; a tool needing one the
    user did not say is left out. If that leaves none, ``tools`` unchanged.

    A small model otherwise invents identifiers or copies them from earlier turns.
    """
    numbers = spoken_numbers(said)
    grounded: list[Mapping[str, Any]] = []
    for tool in tools:
        fn = tool["function"]
        parameters = _grounded_parameters(inline_refs(fn.get("parameters") or {}), numbers)
        if parameters is not None:
            grounded.append({**tool, "function": {**fn, "parameters": parameters}})
    return grounded or list(tools)


def select_tools(tools: Sequence[Mapping[str, Any]], tool_choice: Any) -> list[Mapping[str, Any]]:
    """The tools a call may use under ``tool_choice`` (all, or the one it names)."""
    if isinstance(tool_choice, Mapping):
        name = tool_choice.get("function", {}).get("name") or tool_choice.get("name")
        chosen = [t for t in tools if t["function"]["name"] == name]
        if not chosen:
            raise ModelError(f"tool_choice names unknown tool {name!r}")
        return chosen
    return list(tools)


def grammar_text(tools: Sequence[Mapping[str, Any]], allow_answer: bool) -> str:
    """GBNF for a call to one of ``tools``, or (``allow_answer``) a plain-text answer."""
    schema = (
        {"oneOf": [_call_schema(t) for t in tools]} if len(tools) > 1 else _call_schema(tools[0])
    )
    converter = require("llama_cpp.llama_grammar")
    call_rules = converter.json_schema_to_gbnf(json.dumps(schema)).replace(
        "root ::=", "call ::=", 1
    )
    root = f'root ::= "{CALL_OPEN}" call "{CALL_CLOSE}"'
    if allow_answer:
        return f"{call_rules}\n{root} | answer\n{_ANSWER_RULE}\n"
    return f"{call_rules}\n{root}\n"


@dataclass(frozen=True)
class ForcedCall:
    """A required call split in two: the opening every allowed call shares (prefilled with the
    prompt in one batch) and the GBNF grammar of the rest (decoded token by token)."""

    opening: str
    grammar: str
    sole_argument: bool = False
    """The opening runs through a one-argument tool's argument name: the call is whole once
    that argument's value is (``closed_call(..., sole_argument=True)``)."""


def _gbnf_literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sole_argument(parameters: Mapping[str, Any]) -> str | None:
    """The name of the one argument a tool's parameters require and allow (an object with a
    single required property and no others), or None if they take anything else."""
    properties = parameters.get("properties")
    if (
        parameters.get("type") != "object"
        or parameters.get("additionalProperties") is not False
        or not isinstance(properties, Mapping)
        or len(properties) != 1
    ):
        return None
    (name,) = properties
    return str(name) if list(parameters.get("required") or []) == [name] else None


def _sole_argument_call(name: str, parameters: Mapping[str, Any], converter: Any) -> ForcedCall:
    """A call to a tool taking one argument, fixed through that argument's name (and a string's
    opening quote): only its value is decoded (``<tool_call>{"name": "T", "arguments":
    {"key": "`` is the opening of a string's)."""
    key = sole_argument(parameters)
    assert key is not None
    value_schema = converter.resolve_refs(dict(parameters["properties"][key]), "")
    value = converter.visit(value_schema, "tool0-value")
    rules = converter.format_grammar()
    opening = f'{CALL_OPEN}{{"name": "{name}", "arguments": {{{json.dumps(key)}:'
    closing = f'"}}" space "}}" {_gbnf_literal(CALL_CLOSE)}'
    quoted = _string_rules_after_quote(rules, value)
    if quoted is not None:  # a string: its opening quote is fixed too
        # ``: "`` as json.dumps writes it: a later prompt holding the call tokenizes alike when
        # the value starts with a letter, digit or space (punctuation joins the quote's token)
        return ForcedCall(f'{opening} "', f"{quoted}\nroot ::= {value} {closing}\n", True)
    # the space is left to decode with the value's first character (they may share a token)
    root = f'root ::= " " {value} {closing}'
    return ForcedCall(opening, f"{rules}\n{root}\n", sole_argument=True)


_QUOTE = '"\\""'
"""A GBNF literal holding one double quote, as ``SchemaConverter`` writes it."""
_QUOTED_LITERAL = re.compile(r'"\\"((?:[^"\\]|\\.)*)"')
"""A GBNF literal starting with a double quote (an enum value, a const)."""


def _string_rules_after_quote(rules: str, rule: str) -> str | None:
    """``rules`` with ``rule`` rewritten to start after a JSON string's opening quote, if every
    text it matches starts with one (a string, an enum or const of strings); else None."""
    lines = rules.splitlines()
    head = f"{rule} ::= "
    index = next((i for i, line in enumerate(lines) if line.startswith(head)), None)
    if index is None:
        return None
    body = lines[index][len(head) :]
    if body.startswith(f"{_QUOTE} "):
        rest = body[len(_QUOTE) + 1 :]
    else:
        alternatives = body.split(" | ")
        matched = [_QUOTED_LITERAL.fullmatch(a) for a in alternatives]
        if not all(matched):
            return None
        rest = " | ".join(f'"{m.group(1)}"' for m in matched if m is not None)
    lines[index] = head + rest
    return "\n".join(lines)


def forced_call(
    tools: Sequence[Mapping[str, Any]], through_argument_name: bool = False
) -> ForcedCall:
    """The fixed opening and the grammar of the rest of a call that must use one of ``tools``.

    One tool fixes everything up to its arguments (``<tool_call>{"name": "T", "arguments":``),
    and with ``through_argument_name`` up to the value of its only argument, if it takes one;
    several fix ``<tool_call>{"name": "`` and the rest starts with the name.
    """
    converter_module = require("llama_cpp.llama_grammar")
    converter = converter_module.SchemaConverter(
        prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False
    )
    closing = f'"}}" {_gbnf_literal(CALL_CLOSE)}'
    names, rules, schemas = [], [], []
    for tool in tools:
        fn = tool["function"]
        schemas.append(inline_refs(fn.get("parameters") or {"type": "object", "properties": {}}))
        names.append(json.dumps(fn["name"])[1:-1])  # as it appears inside a JSON string
    if len(tools) == 1 and through_argument_name and sole_argument(schemas[0]) is not None:
        return _sole_argument_call(names[0], schemas[0], converter)
    for i, parameters in enumerate(schemas):
        rules.append(converter.visit(converter.resolve_refs(parameters, ""), f"tool{i}-arguments"))
    if len(tools) == 1:
        # the space before the arguments is left to decode: the tokenizer joins it with the
        # arguments' "{" (' {"'), so an opening ending in it would tokenize differently from
        # the same call rendered whole in the next prompt, and its cache entry be lost
        opening = f'{CALL_OPEN}{{"name": "{names[0]}", "arguments":'
        root = f'root ::= " " {rules[0]} {closing}'
    else:
        opening = f'{CALL_OPEN}{{"name": "'
        after_name = '", "arguments": '
        branches = " | ".join(
            f"{_gbnf_literal(name + after_name)} {rule}"
            for name, rule in zip(names, rules, strict=True)
        )
        root = f"root ::= ({branches}) {closing}"
    return ForcedCall(opening, f"{converter.format_grammar()}\n{root}\n")


def closed_call(text: str, sole_argument: bool = False) -> str | None:
    """The whole call, once ``text`` holds its whole arguments object (what may follow, ``}``
    and ``</tool_call>``, is fixed, so decoding it adds nothing); None before.

    With ``sole_argument`` (the arguments hold one property, no more may follow) the call is
    whole once that value is, unless it is a number, whose digits may go on.
    """
    if text.endswith(CALL_CLOSE):
        return text if _try_parse_call(text) is not None else None
    endings = [CALL_CLOSE, f"}}{CALL_CLOSE}"] + ([f"}}}}{CALL_CLOSE}"] if sole_argument else [])
    for ending in endings:
        call = _try_parse_call(text + ending)
        if call is None:
            continue
        if ending.startswith("}}") and any(map(_may_go_on, call[1].values())):
            continue
        return text + ending
    return None


def _may_go_on(value: Any) -> bool:
    """Whether more text could extend ``value`` as written so far (a number's digits)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


@lru_cache(maxsize=64)
def compile_grammar(text: str) -> Any:
    """A compiled ``LlamaGrammar`` (cached: the same tools give the same grammar)."""
    llama_cpp = require("llama_cpp")
    try:
        return llama_cpp.LlamaGrammar.from_string(text, verbose=False)
    except ValueError as e:
        raise ModelError(f"cannot compile tool grammar: {e}") from e


def _try_parse_call(text: str) -> tuple[str, dict[str, Any]] | None:
    body = text.strip().removeprefix(CALL_OPEN).removesuffix(CALL_CLOSE)
    try:
        call = json.loads(body)
        return str(call["name"]), dict(call["arguments"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def parse_call(text: str) -> tuple[str, dict[str, Any]]:
    """Name and arguments of a generated ``<tool_call>...</tool_call>``."""
    call = _try_parse_call(text)
    if call is None:
        raise ModelError(
            f"model produced an incomplete tool call ({text[:80]!r}); raise max_tokens"
        )
    return call
