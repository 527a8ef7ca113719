"""Stream bytes produced by blocking code in a worker thread into an HTTP response.

The producer writes into a :class:`ThreadSink`; chunks pass through a small
bounded queue to ``await response.write(...)``, so memory stays bounded by
the queue (a few chunks) whatever the total size, and a slow client slows
the producer down instead of filling memory.

Producers run on the threads of a :class:`Streams` (never the event loop's
default executor, which the other routes need), at most ``max_streams`` at a
time; a client that reads nothing for ``write_timeout`` seconds is dropped, so
a stalled download frees its thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from aiohttp import web

from .errors import Busy
from .http_settings import HttpSettings

__all__ = ["ThreadSink", "stream_from_thread", "ClientGone", "ClientStalled", "Streams"]

CHUNK = 256 * 1024
QUEUE_CHUNKS = 4


class ClientGone(Exception):
    """The response was abandoned; the producer stops at its next write."""


class ClientStalled(Exception):
    """The client read nothing for the write timeout; its connection should be dropped."""


class Streams:
    """The threads and the bound for streamed answers.

    Parameters
    ----------
    settings
        Gives ``max_streams`` (threads, and streams at once) and
        ``write_timeout``; read on first use.
    """

    def __init__(self, settings: Callable[[], HttpSettings]) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._running = 0

    @property
    def write_timeout(self) -> float:
        return self._settings().write_timeout

    @contextlib.contextmanager
    def slot(self) -> Iterator[Executor]:
        """Hold one of the ``max_streams`` places while the block runs; gives
        the executor to produce on. Raises :class:`Busy` when none is free."""
        limit = self._settings().max_streams
        with self._lock:
            if self._running >= limit:
                raise Busy(f"{limit} downloads are running; try again when one has finished")
            self._running += 1
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=limit, thread_name_prefix="poolstore-stream")
            executor = self._executor
        try:
            yield executor
        finally:
            with self._lock:
                self._running -= 1


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


async def stream_from_thread(
    response: web.StreamResponse,
    produce: Callable[[ThreadSink], Any],
    *,
    executor: Executor | None = None,
    write_timeout: float | None = None,
) -> Any:
    """Run ``produce(sink)`` in a worker thread of ``executor`` (default: the
    loop's), writing what it writes to the (already prepared) ``response``;
    returns what ``produce`` returned and re-raises its exception (the
    response is then incomplete). Raises :class:`ClientStalled` when one
    chunk cannot be written within ``write_timeout`` seconds."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=QUEUE_CHUNKS)
    sink = ThreadSink(loop, queue)
    job = asyncio.ensure_future(loop.run_in_executor(executor, _produce, produce, sink))
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
            try:
                await asyncio.wait_for(response.write(chunk), write_timeout)
            except asyncio.TimeoutError as exc:
                raise ClientStalled(f"the client read nothing for {write_timeout} s") from exc
    finally:
        sink.cancelled = True
        if not job.done():
            with contextlib.suppress(Exception):
                await job
