"""Run blocking iterators in a worker thread without stalling the event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")
_DONE = object()
# the stop event of the consumer a producer thread feeds (each thread has its own context)
_CONSUMER_STOPPED: ContextVar[threading.Event | None] = ContextVar(
    "voicelab_consumer_stopped", default=None
)


def consumer_gone() -> bool:
    """In a producer run by ``iterate_in_thread``: whether its consumer has stopped reading.

    A producer that works long between items (a tool call generated token by token before it
    is yielded) checks this to stop at once rather than at its next item.
    """
    stopped = _CONSUMER_STOPPED.get()
    return stopped is not None and stopped.is_set()


async def iterate_in_thread(make_iterator: Callable[[], Iterator[T]]) -> AsyncIterator[T]:
    """Yield the items of a blocking iterator that runs in its own thread, as they are produced.

    The consumer stopping early (break, cancellation) tells the producer to stop at its next item.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()
    stop = threading.Event()

    def put(item: object) -> bool:
        """Hand ``item`` to the consumer; False once its event loop has closed (nobody reads)."""
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop closed under a consumer that never finished
            return False
        return True

    def produce() -> None:
        _CONSUMER_STOPPED.set(stop)
        iterator = None
        try:
            iterator = make_iterator()
            for item in iterator:
                if not put(item) or stop.is_set():
                    return
            put(_DONE)
        except BaseException as e:  # re-raised in the consumer, which owns error handling
            put(_ThreadError(e))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:  # a generator: run its cleanup (locks) now, in this thread
                close()

    worker = threading.Thread(target=produce, name="voicelab-model", daemon=True)
    worker.start()
    try:
        while True:
            item = await queue.get()
            if item is _DONE:
                return
            if isinstance(item, _ThreadError):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()


class _ThreadError:
    def __init__(self, error: BaseException) -> None:
        self.error = error
