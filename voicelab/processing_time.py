"""The server's own processing time of a response, in OpenAI's ``openai-processing-ms`` header.

``voicelab serve`` sends it on its HTTP responses, as the OpenAI API does; the OpenAI clients
voicelab builds read it and hand it to whoever listens in the current task (the turn's
instrumented STT and TTS models). A stage's latency then splits into the server's share and the
rest: transport, client code and any injected fault delay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx2

PROCESSING_MS_HEADER = "openai-processing-ms"
ProcessingTimeListener = Callable[[float], None]
"""Called with the server-reported processing time of a response, in seconds."""

_listener: ContextVar[ProcessingTimeListener | None] = ContextVar(
    "voicelab_processing_time_listener", default=None
)


def processing_ms_value(processing_ns: int) -> str:
    """The header value for ``processing_ns`` of server work: milliseconds, to the microsecond."""
    return f"{max(0, processing_ns) / 1e6:.3f}"


@contextmanager
def listening_for_processing_time(listener: ProcessingTimeListener | None) -> Iterator[None]:
    """Hand the processing times of responses received inside the block to ``listener``.

    The block must not span a ``yield`` of an async generator: the listener lives in the
    current task's context.
    """
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


async def report_processing_time(response: httpx2.Response) -> None:
    """httpx response hook: the header's value, in seconds, to the current listener (if any)."""
    listener = _listener.get()
    value = response.headers.get(PROCESSING_MS_HEADER)
    if listener is None or value is None:
        return
    try:
        milliseconds = float(value)
    except ValueError:  # a server that sends something else just gives no figure
        return
    listener(milliseconds / 1000)
