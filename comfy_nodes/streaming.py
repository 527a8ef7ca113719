"""Stream bytes produced by blocking code in a worker thread into an HTTP response.

The producer writes into a :class:`ThreadSink`; chunks pass through a small
bounded queue to ``await response.write(...)``, so memory stays bounded by
the queue (a few chunks) whatever the total size, and a slow client slows
the producer down instead of filling memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Callable
from typing import Any

from aiohttp import web

__all__ = ["ThreadSink", "stream_from_thread", "ClientGone"]

CHUNK = 256 * 1024
QUEUE_CHUNKS = 4


class ClientGone(Exception):
    """The response was abandoned; the producer stops at its next write."""


class ThreadSink(io.RawIOBase):
    """A write-only file for the producer thread, feeding an asyncio queue."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[bytes | None]) -> None:
        super().__init__()
        self._loop, self._queue = loop, queue
        self._buf = bytearray()
        self.cancelled = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.cancelled:
            raise ClientGone("the client went away")
        self._buf += data
        if len(self._buf) >= CHUNK:
            self._send(bytes(self._buf))
            self._buf.clear()
        return len(data)

    def _send(self, item: bytes | None) -> None:
        future = asyncio.run_coroutine_threadsafe(self._queue.put(item), self._loop)
        while not self.cancelled:
            with contextlib.suppress(TimeoutError):
                future.result(timeout=0.5)
                return
        future.cancel()
        raise ClientGone("the client went away")

    def finish(self) -> None:
        """Send what is buffered, then the end marker."""
        if self._buf:
            self._send(bytes(self._buf))
            self._buf.clear()
        self._send(None)


def _produce(produce: Callable[[ThreadSink], Any], sink: ThreadSink) -> Any:
    result = produce(sink)
    sink.finish()
    return result


async def stream_from_thread(response: web.StreamResponse, produce: Callable[[ThreadSink], Any]) -> Any:
    """Run ``produce(sink)`` in a worker thread, writing what it writes to the
    (already prepared) ``response``; returns what ``produce`` returned and
    re-raises its exception (the response is then incomplete)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=QUEUE_CHUNKS)
    sink = ThreadSink(loop, queue)
    job = asyncio.ensure_future(asyncio.to_thread(_produce, produce, sink))
    try:
        while True:
            getter = asyncio.ensure_future(queue.get())
            await asyncio.wait({getter, job}, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
                return await job  # the producer failed before sending its end marker
            chunk = getter.result()
            if chunk is None:
                return await job
            await response.write(chunk)
    finally:
        sink.cancelled = True
        if not job.done():
            with contextlib.suppress(Exception):
                await job
