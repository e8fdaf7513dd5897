"""Run blocking iterators in a worker thread without stalling the event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


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
        try:
            for item in make_iterator():
                if not put(item) or stop.is_set():
                    return
            put(_DONE)
        except BaseException as e:  # re-raised in the consumer, which owns error handling
            put(_ThreadError(e))

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
