"""The demo agent's tool results: one spoken sentence holding every fact the answer needs."""

from __future__ import annotations

import pytest

from voicelab.demo.support_agent import lookup_order_text


@pytest.mark.parametrize(
    ("order_id", "said"),
    [
        ("1098", "Order 1098, the desk lamp, is processing; it arrives next Tuesday."),
        ("2290", "Order 2290, the wool scarf, is delivered."),
        ("713", "Order 713, the coffee grinder, is returned; it was delivered."),
        ("9999", "There is no order 9999."),
    ],
)
def test_lookup_order_says_the_status_and_the_arrival_day(order_id: str, said: str) -> None:
    assert lookup_order_text(order_id) == said
