"""The demo support agent's tools as Chat Completions tool specs, for the engine's tests."""

from __future__ import annotations

from typing import Any

from voicelab.demo.support_agent import SUPPORT_TOOLS

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": t.name,
            "description": t.description,
            "parameters": t.params_json_schema,
        },
    }
    for t in SUPPORT_TOOLS
]
