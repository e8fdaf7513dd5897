"""The demo customer-support agent: instructions and tools over a small order database."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Annotated, Any, Literal

from agents import Agent, FunctionTool, ModelSettings, function_tool
from pydantic import Field

from voicelab.normalize_ids import digits_only

INSTRUCTIONS = """You are a friendly customer support agent for an online shop.
Answer in one or two short spoken sentences, using the tool result.

Examples:
User: Where is my order 381?
Assistant: <tool_call>{"name": "lookup_order", "arguments": {"order_id": "381"}}</tool_call>
User: Did my refund for order 2290 go through?
Assistant: <tool_call>{"name": "check_refund", "arguments": {"order_id": "2290"}}</tool_call>
User: What is your return policy?
Assistant: <tool_call>{"name": "search_faq", "arguments": {"topic": "returns"}}</tool_call>"""

OrderId = Annotated[
    str, Field(pattern=r"^[0-9]{3,6}$", description="The order number, digits only")
]

FaqTopic = Annotated[
    Literal["returns", "shipping", "hours", "payment"],
    Field(
        description="returns, shipping (delivery time and cost), hours (opening hours) or payment"
    ),
]
"""The topics of ``orders.json``'s FAQ: a call can only name one the shop has."""


@lru_cache(maxsize=1)
def _database() -> dict[str, Any]:
    text = resources.files("voicelab.demo").joinpath("orders.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def lookup_order_text(order_id: str) -> str:
    """Status and delivery estimate of an order."""
    order = _database()["orders"].get(digits_only(order_id))
    if order is None:
        return f"There is no order {order_id}."
    # one spoken sentence the answer can repeat ("arrival: ..." read as a label to the 135M
    # model, which kept the status and dropped the day)
    said = f"Order {order_id}, the {order['item']}, is {order['status']}"
    if order["eta"] == order["status"]:
        return f"{said}."
    arrival = "it was delivered" if order["eta"] == "delivered" else f"it arrives {order['eta']}"
    return f"{said}; {arrival}."


def check_refund_text(order_id: str) -> str:
    """Refund status of an order."""
    order = _database()["orders"].get(digits_only(order_id))
    if order is None:
        return f"There is no order {order_id}."
    return f"Refund for order {order_id}: {order['refund']}."


def search_faq_text(topic: str) -> str:
    """The shop's policy on a topic (returns, shipping, hours, payment)."""
    faq: dict[str, str] = _database()["faq"]
    words = topic.lower()
    for key, answer in faq.items():
        if key.rstrip("s") in words:
            return answer
    return "Topics I know: " + ", ".join(faq) + "."


@function_tool
def lookup_order(order_id: OrderId) -> str:
    """An order's status: whether it has shipped, and when it arrives."""
    return lookup_order_text(order_id)


@function_tool
def check_refund(order_id: OrderId) -> str:
    """Whether the money for an item sent back has been refunded."""
    return check_refund_text(order_id)


@function_tool
def search_faq(topic: FaqTopic) -> str:
    """The shop's general policy on a topic; needs no order number."""
    return search_faq_text(topic)


SUPPORT_TOOLS: tuple[FunctionTool, ...] = (lookup_order, check_refund, search_faq)


def make_support_agent(tool_choice: str | None = None) -> Agent[Any]:
    """The demo agent. It sets no tool_choice of its own, so each pipeline's default applies:
    "required" on the embedded 135M model (which cannot be trusted to decide when to call a
    tool; the SDK resets it after the call so the answer is free text), "auto" elsewhere."""
    return Agent(
        name="support",
        instructions=INSTRUCTIONS,
        tools=list(SUPPORT_TOOLS),
        model_settings=ModelSettings(tool_choice=tool_choice, temperature=0.0),
    )
