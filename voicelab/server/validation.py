"""Checks of Chat Completions and Responses request bodies, refusing what OpenAI refuses.

Every check raises a ``ServerRequestError`` (400) that names the offending field as OpenAI's
``param`` does (``messages[0].content``, ``tools[1].function.parameters``), before any model
work or stream starts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from jsonschema.exceptions import SchemaError
from jsonschema.validators import Draft202012Validator, validator_for

from voicelab.errors import ServerRequestError
from voicelab.server.catalog import CHAT_MODELS, check_model

MAX_OUTPUT_TOKENS = 128_000  # the most output any OpenAI chat model allows (gpt-5)
MAX_TEMPERATURE = 2.0
TOOL_CHOICE_MODES = ("none", "auto", "required")
_FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # OpenAI's rule for function names
# content may be null only where OpenAI allows it: an assistant turn (one with tool calls; the
# Agents SDK also replays empty assistant turns so); the deprecated function role is not served
_CONTENT_OPTIONAL_ROLES = frozenset({"assistant"})
_PART_TYPES = {
    "system": frozenset({"text"}),
    "developer": frozenset({"text"}),
    "tool": frozenset({"text"}),
    "assistant": frozenset({"text", "refusal"}),
    "user": frozenset({"text", "image_url", "input_audio", "file"}),
}


def invalid(message: str, param: str | None, code: str = "invalid_value") -> ServerRequestError:
    """A 400 about ``param``."""
    return ServerRequestError(400, message, code, param)


def field(
    body: Mapping[str, Any], name: str, kinds: type | tuple[type, ...], default: Any = None
) -> Any:
    """``body[name]`` checked against ``kinds`` (400 naming the field otherwise)."""
    value = body.get(name, default)
    if value is None:
        return default
    allowed = kinds if isinstance(kinds, tuple) else (kinds,)
    got = "a boolean" if isinstance(value, bool) else type(value).__name__
    if (isinstance(value, bool) and bool not in allowed) or not isinstance(value, kinds):
        raise invalid(f"'{name}' has the wrong type (got {got})", name, "invalid_type")
    return value


def check_sampling(body: Mapping[str, Any], token_fields: Sequence[str]) -> None:
    """``temperature`` in [0, 2], ``n`` of 1, and each token limit in [1, MAX_OUTPUT_TOKENS]."""
    temperature = field(body, "temperature", (int, float))
    if temperature is not None and not 0 <= temperature <= MAX_TEMPERATURE:
        raise invalid(
            f"'temperature' must be between 0 and {MAX_TEMPERATURE:g} (got {temperature})",
            "temperature",
        )
    n = field(body, "n", int)
    if n is not None and n != 1:
        raise invalid(f"'n' must be 1 on this local server (got {n})", "n")
    for name in token_fields:
        limit = field(body, name, int)
        if limit is not None and not 1 <= limit <= MAX_OUTPUT_TOKENS:
            raise invalid(f"'{name}' must be between 1 and {MAX_OUTPUT_TOKENS} (got {limit})", name)


def _check_content(message: Mapping[str, Any], role: str, where: str) -> None:
    content = message.get("content")
    param = f"{where}.content"
    if content is None:
        if role in _CONTENT_OPTIONAL_ROLES:
            return
        raise invalid(f"'{param}' is required for a {role} message", param)
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise invalid(
            f"'{param}' must be a string or an array of content parts "
            f"(got {type(content).__name__})",
            param,
            "invalid_type",
        )
    allowed = _PART_TYPES[role]
    for index, part in enumerate(content):
        part_param = f"{param}[{index}]"
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind not in allowed:
            raise invalid(
                f"'{part_param}' must be a content part of type {sorted(allowed)}", part_param
            )
        if kind == "text" and not isinstance(part.get("text"), str):
            raise invalid(f"'{part_param}.text' must be a string", f"{part_param}.text")


def _check_tool_calls(calls: Any, where: str) -> None:
    param = f"{where}.tool_calls"
    if not isinstance(calls, list):
        raise invalid(f"'{param}' must be an array", param, "invalid_type")
    for index, call in enumerate(calls):
        function = call.get("function") if isinstance(call, Mapping) else None
        if not (
            isinstance(function, Mapping)
            and isinstance(function.get("name"), str)
            and isinstance(function.get("arguments"), str)
        ):
            raise invalid(
                f"'{param}[{index}]' must be {{id, type: function, function: {{name, arguments}}}}"
                " with string name and arguments",
                f"{param}[{index}]",
            )


def check_messages(messages: Any) -> None:
    """A non-empty list of messages with known roles and the content each role may have."""
    if not isinstance(messages, list) or not messages:
        raise invalid("'messages' must be a non-empty array of messages", "messages")
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, Mapping):
            raise invalid(f"'{where}' must be an object with a role", where, "invalid_type")
        role = message.get("role")
        if role not in _PART_TYPES:
            raise invalid(
                f"'{where}.role' must be one of {sorted(_PART_TYPES)} (got {role!r})",
                f"{where}.role",
            )
        _check_content(message, role, where)
        if role == "assistant" and message.get("tool_calls") is not None:
            _check_tool_calls(message["tool_calls"], where)
        if role == "tool" and not isinstance(message.get("tool_call_id"), str):
            raise invalid(
                f"'{where}.tool_call_id' is required for a tool message", f"{where}.tool_call_id"
            )


def check_function(function: Any, where: str) -> str:
    """A function definition's name (``^[a-zA-Z0-9_-]{1,64}$``) and JSON-schema parameters."""
    if not isinstance(function, Mapping):
        raise invalid(f"'{where}' must be an object", where, "invalid_type")
    name = function.get("name")
    if not isinstance(name, str) or not _FUNCTION_NAME.match(name):
        raise invalid(
            f"'{where}.name' must be a function name of 1-64 letters, digits, '_' or '-' "
            f"(got {name!r})",
            f"{where}.name",
        )
    parameters = function.get("parameters")
    if parameters is not None:
        _check_parameters(parameters, name, f"{where}.parameters")
    return name


def _check_parameters(schema: Any, name: str, param: str) -> None:
    """A JSON Schema of an object (what OpenAI requires of a function's parameters)."""
    if not isinstance(schema, Mapping):
        raise invalid(
            f"Invalid schema for function '{name}': parameters must be a JSON Schema object "
            f"(got {type(schema).__name__})",
            param,
            "invalid_function_parameters",
        )
    try:
        validator_for(schema, default=Draft202012Validator).check_schema(schema)
    except SchemaError as e:
        raise invalid(
            f"Invalid schema for function '{name}': {e.message}",
            param,
            "invalid_function_parameters",
        ) from None
    if schema.get("type", "object") != "object":
        raise invalid(
            f"Invalid schema for function '{name}': schema must be of type \"object\", "
            f"got {schema.get('type')!r}",
            param,
            "invalid_function_parameters",
        )


def check_tools(tools: Any, flat: bool) -> list[str]:
    """The names of function tools, in the Chat Completions shape or (``flat``) the Responses
    one; other tool types are not served locally."""
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise invalid("'tools' must be an array", "tools", "invalid_type")
    names: list[str] = []
    for index, tool in enumerate(tools):
        where = f"tools[{index}]"
        if not isinstance(tool, Mapping) or tool.get("type", "function") != "function":
            raise invalid(
                f"'{where}' must be a function tool (the only kind served locally)",
                where,
                "unsupported_tool",
            )
        function = tool if flat else tool.get("function")
        names.append(check_function(function, where if flat else f"{where}.function"))
    return names


def check_tool_choice(choice: Any, names: Sequence[str], flat: bool) -> None:
    """``none``/``auto``/``required`` or a named function among ``names``; ``required`` and a
    named function need tools."""
    if choice is None:
        return
    if isinstance(choice, str):
        if choice not in TOOL_CHOICE_MODES:
            raise invalid(
                f"'tool_choice' must be one of {TOOL_CHOICE_MODES} or a function (got {choice!r})",
                "tool_choice",
            )
        if choice == "required" and not names:
            raise invalid("'tool_choice' 'required' needs 'tools'", "tool_choice")
        return
    function = choice.get("function") if isinstance(choice, Mapping) and not flat else choice
    name = function.get("name") if isinstance(function, Mapping) else None
    if not isinstance(choice, Mapping) or choice.get("type") != "function" or name is None:
        shape = "{type: function, name}" if flat else "{type: function, function: {name}}"
        raise invalid(f"'tool_choice' must be a mode or {shape}", "tool_choice")
    if name not in names:
        raise invalid(
            f"'tool_choice' names function {name!r}, which is not among 'tools' {list(names)}",
            "tool_choice",
        )


def validate_chat_request(body: Mapping[str, Any]) -> None:
    """A Chat Completions request the engine can serve, or a 400 naming what is wrong."""
    check_model(body.get("model"), CHAT_MODELS, "chat")
    check_messages(body.get("messages"))
    names = check_tools(body.get("tools"), flat=False)
    check_tool_choice(field(body, "tool_choice", (str, dict)), names, flat=False)
    field(body, "stream", bool)
    field(body, "stream_options", dict)
    check_sampling(body, ("max_tokens", "max_completion_tokens"))


def validate_responses_request(body: Mapping[str, Any]) -> None:
    """The Responses fields beside ``input`` (which the SDK's converter checks)."""
    check_model(body.get("model"), CHAT_MODELS, "responses")
    names = check_tools(body.get("tools"), flat=True)
    check_tool_choice(field(body, "tool_choice", (str, dict)), names, flat=True)
    field(body, "stream", bool)
    field(body, "instructions", str)
    check_sampling(body, ("max_output_tokens",))
