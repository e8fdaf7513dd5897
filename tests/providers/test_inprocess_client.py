"""The in-process client: Chat Completions requests served by an engine without a socket."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from voicelab.providers.inprocess_client import inprocess_openai_client
from voicelab.server.synthetic.chat import SYNTHETIC_ANSWER, SyntheticChatEngine


class CountingEngine(SyntheticChatEngine):
    """The synthetic engine, counting the requests it serves."""

    def __init__(self) -> None:
        self.requests = 0

    def stream(self, request: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        self.requests += 1
        return super().stream(request)


async def test_a_streamed_request_runs_the_engine_once() -> None:
    # the openai client drains a finished stream once more; a second generation must not start
    engine = CountingEngine()
    client = inprocess_openai_client(engine)  # type: ignore[arg-type]
    stream = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == SYNTHETIC_ANSWER
    assert engine.requests == 1
