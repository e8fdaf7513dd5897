"""A user's own agent, written with the Agents SDK alone: a unit converter (not voicelab's demo).

Tests load it by file path (``--agent tests/agent/unit_converter_agent.py:agent``).
"""

from __future__ import annotations

from typing import Literal

from agents import Agent, function_tool

Unit = Literal["kilometers", "miles", "kilograms", "pounds"]
FACTORS: dict[tuple[str, str], float] = {
    ("kilometers", "miles"): 0.621371,
    ("miles", "kilometers"): 1.609344,
    ("kilograms", "pounds"): 2.204623,
    ("pounds", "kilograms"): 0.453592,
}


def convert(value: float, from_unit: str, to_unit: str) -> str:
    """The conversion as a sentence the agent can read out."""
    if from_unit == to_unit:
        return f"{value:g} {to_unit}."
    factor = FACTORS.get((from_unit, to_unit))
    if factor is None:
        return f"I cannot convert {from_unit} to {to_unit}."
    return f"{value:g} {from_unit} is {value * factor:.2f} {to_unit}."


@function_tool
def convert_units(value: float, from_unit: Unit, to_unit: Unit) -> str:
    """Convert a number between kilometers and miles, or kilograms and pounds."""
    return convert(value, from_unit, to_unit)


agent = Agent(
    name="units",
    instructions=(
        "You convert units for the user. Call convert_units with the number and the units the "
        "user said, then give the result in one short sentence."
    ),
    tools=[convert_units],
)


def make_agent() -> Agent[None]:
    """The same agent from a zero-argument factory."""
    return agent.clone()


not_an_agent = "units"
