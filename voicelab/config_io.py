"""Typed configuration dataclasses to and from plain data (TOML tables, JSON, ``key=value``).

One generic converter serves every pipeline's config class: field names are the keys, nested
dataclasses are nested tables, and each value is checked against the field's type, so a typo or
a wrong type is a ``ConfigError`` naming the key rather than a silently ignored setting.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from voicelab.errors import ConfigError

C = TypeVar("C")


def config_to_dict(config: Any) -> dict[str, Any]:
    """A config dataclass as JSON/TOML-ready data (nested dataclasses become tables)."""
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"not a config dataclass instance: {config!r}")
    return {f.name: _plain(getattr(config, f.name)) for f in dataclasses.fields(config) if f.init}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return config_to_dict(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def config_from_dict(cls: type[C], data: Mapping[str, Any], where: str = "") -> C:
    """Build ``cls`` from ``data``; unknown keys and values of the wrong type are refused."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where or cls.__name__}: expected a table, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where or cls.__name__}: unknown setting(s) {', '.join(unknown)}; "
            f"{cls.__name__} takes {', '.join(fields)}"
        )
    hints = typing.get_type_hints(cls)
    kwargs = {
        name: _coerce(hints[name], value, f"{where}{'.' if where else ''}{name}")
        for name, value in data.items()
    }
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise ConfigError(f"{where or cls.__name__}: {e}") from e


def _coerce(hint: Any, value: Any, key: str) -> Any:
    """``value`` checked against the type ``hint`` (ints widen to floats, tables to dataclasses)."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in (o for o in options if o is not type(None)):
            try:
                return _coerce(option, value, key)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{key}: {value!r} fits no type")
    if origin is typing.Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            raise ConfigError(
                f"{key}: must be one of {', '.join(map(repr, allowed))}, not {value!r}"
            )
        return value
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return value if isinstance(value, hint) else config_from_dict(hint, value, key)
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint is Any or (isinstance(hint, type) and isinstance(value, hint)):
        if hint is int and isinstance(value, bool):
            raise ConfigError(f"{key}: expected an integer, not {value!r}")
        return value
    name = getattr(hint, "__name__", str(hint))
    raise ConfigError(f"{key}: expected {name}, not {value!r}")


def parse_assignment(text: str) -> tuple[list[str], Any]:
    """``"feed.chunk_ms=10"`` as (["feed", "chunk_ms"], 10); the value is read as TOML,
    falling back to a bare string (``model=gpt-realtime``)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects KEY=VALUE, not {text!r}")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key.strip().split("."), value


def set_nested(data: dict[str, Any], path: list[str], value: Any) -> None:
    """Set ``data[path[0]][path[1]]... = value``, creating tables on the way."""
    for part in path[:-1]:
        inner = data.setdefault(part, {})
        if not isinstance(inner, dict):
            raise ConfigError(f"{'.'.join(path)}: {part} is not a table")
        data = inner
    data[path[-1]] = value
