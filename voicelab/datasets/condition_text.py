"""Recording conditions written as text: ``KIND[=VALUE][,KEY=VALUE...]``.

``VALUE`` after the kind sets the kind's main parameter; ``KIND=KEY=VALUE`` is the same as
``KIND,KEY=VALUE``; the main parameter's own name may stand for the kind (``gain_db=-6`` is
``gain=-6``). Several conditions in one text are separated by ``;`` and apply in order.

=========  =========================================  =========================================
kind       parameters (default)                       example
=========  =========================================  =========================================
noise      noise: white | pink | babble (main),       ``noise=babble,snr_db=10``
           snr_db (required), talkers (4, babble)
telephone  none: 8 kHz, 300-3400 Hz, 8-bit mu-law     ``telephone``
gain       gain_db (main, required)                   ``gain=-6``
silence    lead_ms (0), trail_ms (0)                  ``silence,lead_ms=500,trail_ms=300``
room       rt60_s (main, 0.5)                         ``room=0.8``
=========  =========================================  =========================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from voicelab.datasets.noise import NOISE_TYPES
from voicelab.errors import ConfigError

ParamValue = float | int | str
CHAIN_SEPARATOR = ";"


@dataclass(frozen=True)
class _Param:
    """One parameter of a condition kind: its type, default (None: required) and range."""

    name: str
    kind: type[float] | type[int] | type[str]
    default: ParamValue | None = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    only_with: tuple[str, str] | None = None
    """(parameter, value): this parameter applies only when that one has that value."""

    def describe(self) -> str:
        """How the parameter is written, for error messages."""
        if self.choices:
            return f"{self.name}={'|'.join(self.choices)}"
        low = "" if self.minimum is None else f"{self.minimum:g}"
        high = "" if self.maximum is None else f"{self.maximum:g}"
        bounds = f" in [{low}, {high}]" if low or high else ""
        return f"{self.name}=<{self.kind.__name__}{bounds}>"


@dataclass(frozen=True)
class _Kind:
    """A condition kind: its parameters, the first being the main one when ``main``."""

    params: tuple[_Param, ...] = ()
    main: bool = False


KINDS: dict[str, _Kind] = {
    "noise": _Kind(
        (
            _Param("noise", str, choices=NOISE_TYPES),
            _Param("snr_db", float, minimum=-20.0, maximum=60.0),
            _Param("talkers", int, 4, minimum=1, maximum=32, only_with=("noise", "babble")),
        ),
        main=True,
    ),
    "telephone": _Kind(),
    "gain": _Kind((_Param("gain_db", float, minimum=-60.0, maximum=40.0),), main=True),
    "silence": _Kind(
        (
            _Param("lead_ms", int, 0, minimum=0, maximum=60_000),
            _Param("trail_ms", int, 0, minimum=0, maximum=60_000),
        )
    ),
    "room": _Kind((_Param("rt60_s", float, 0.5, minimum=0.05, maximum=3.0),), main=True),
}
"""Every condition kind; voicelab.datasets.conditions applies each."""


@dataclass(frozen=True)
class Condition:
    """One recording condition: a kind and its resolved parameters (defaults filled in)."""

    kind: str
    params: Mapping[str, ParamValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(
                f"unknown condition kind {self.kind!r}; valid kinds: {_valid_kinds()}"
            )
        given = {name: _format(value) for name, value in self.params.items()}
        resolved = _resolve(self.kind, KINDS[self.kind], given, self.kind)
        object.__setattr__(self, "params", resolved)  # checked, typed, defaults filled in

    @property
    def text(self) -> str:
        """The canonical text: parsing it gives this condition back."""
        spec = KINDS[self.kind]
        names = [p.name for p in spec.params if p.name in self.params]
        parts = [self.kind]
        if spec.main and names and names[0] == spec.params[0].name:
            parts = [f"{self.kind}={_format(self.params[names.pop(0)])}"]
        return ",".join([*parts, *(f"{n}={_format(self.params[n])}" for n in names)])

    def tags(self) -> dict[str, str]:
        """The parameters as turn tags (``snr_db``, ``noise``...)."""
        return {name: _format(value) for name, value in self.params.items()}


def _format(value: ParamValue) -> str:
    """A value as written in condition text; floats exactly, without a trailing ``.0``."""
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return str(value)


def _valid_kinds() -> str:
    return ", ".join(
        f"{name}" + (f" ({', '.join(p.describe() for p in kind.params)})" if kind.params else "")
        for name, kind in KINDS.items()
    )


def parse_conditions(text: str) -> tuple[Condition, ...]:
    """Conditions separated by ``;``, in the order they apply."""
    parts = [part.strip() for part in text.split(CHAIN_SEPARATOR)]
    if not any(parts):
        raise ConfigError(f"condition {text!r} is empty; valid kinds: {_valid_kinds()}")
    return tuple(parse_condition(part) for part in parts if part)


def parse_condition(text: str) -> Condition:
    """One condition from ``KIND[=VALUE][,KEY=VALUE...]`` (see the module docstring)."""
    items = [item.strip() for item in text.strip().split(",")]
    if not items[0]:
        raise ConfigError(f"condition {text!r} names no kind; valid kinds: {_valid_kinds()}")
    head, has_value, value = items[0].partition("=")
    kind_name = _kind_of(head.strip(), text)
    spec = KINDS[kind_name]
    given: dict[str, str] = {}
    if has_value:
        if "=" in value:  # KIND=KEY=VALUE
            items.insert(1, value)
        elif spec.main:
            given[spec.params[0].name] = value.strip()
        else:
            raise ConfigError(
                f"condition {text!r}: {kind_name} takes no value after '='; write "
                f"{kind_name},KEY=VALUE with KEY one of "
                f"{', '.join(p.describe() for p in spec.params) or 'none'}"
            )
    for item in items[1:]:
        key, has_eq, raw = (s.strip() for s in item.partition("="))
        if not has_eq or not key:
            raise ConfigError(f"condition {text!r}: {item!r} is not KEY=VALUE")
        if key in given:
            raise ConfigError(f"condition {text!r}: {key} is given twice")
        given[key] = raw
    return Condition(kind_name, _resolve(kind_name, spec, given, text))


def _kind_of(head: str, text: str) -> str:
    """The kind a condition's first item names: the kind itself, or its main parameter."""
    if head in KINDS:
        return head
    for name, kind in KINDS.items():
        if kind.main and kind.params[0].name == head:
            return name
    raise ConfigError(f"condition {text!r}: unknown kind {head!r}; valid kinds: {_valid_kinds()}")


def _resolve(
    kind_name: str, spec: _Kind, given: Mapping[str, str], text: str
) -> dict[str, ParamValue]:
    """Each parameter checked and typed, defaults filled in, inapplicable ones refused."""
    known = {p.name: p for p in spec.params}
    unknown = sorted(set(given) - set(known))
    if unknown:
        valid = ", ".join(p.describe() for p in spec.params) or "none"
        raise ConfigError(
            f"condition {text!r}: unknown parameter(s) {', '.join(unknown)} for {kind_name}; "
            f"valid: {valid}"
        )
    params: dict[str, ParamValue] = {}
    for param in spec.params:
        if param.name in given:
            params[param.name] = _value(param, given[param.name], text)
        elif param.default is not None:
            params[param.name] = param.default
        else:
            raise ConfigError(f"condition {text!r}: {kind_name} needs {param.describe()}")
    for param in spec.params:
        if param.only_with is None:
            continue
        other, required = param.only_with
        if params.get(other) != required:
            if param.name in given:
                raise ConfigError(
                    f"condition {text!r}: {param.name} applies only with {other}={required}"
                )
            params.pop(param.name, None)
    return params


def _value(param: _Param, raw: str, text: str) -> ParamValue:
    """``raw`` as the parameter's type, checked against its choices and range."""
    if param.choices:
        if raw not in param.choices:
            raise ConfigError(
                f"condition {text!r}: {param.name}={raw!r} is not one of {', '.join(param.choices)}"
            )
        return raw
    try:
        value: float | int = int(raw) if param.kind is int else float(raw)
    except ValueError:
        raise ConfigError(
            f"condition {text!r}: {param.name}={raw!r} is not a{'n' if param.kind is int else ''} "
            f"{param.kind.__name__}; expected {param.describe()}"
        ) from None
    out_of_range = (param.minimum is not None and value < param.minimum) or (
        param.maximum is not None and value > param.maximum
    )
    if not math.isfinite(value) or out_of_range:
        raise ConfigError(
            f"condition {text!r}: {param.name}={raw} is out of range; expected {param.describe()}"
        )
    return value
