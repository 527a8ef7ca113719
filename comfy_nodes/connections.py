"""Timeouts and a cap for the connections of ``poolstore serve``.

aiohttp bounds the size of a request head but not how long a client may
take to send it or its body, nor how many connections are open. This guard
sits between the listening socket and aiohttp's protocol (every transport
callback passes through :class:`_Watched` unchanged) and sees each
connection in one of four states:

========  ==============================================  ======================
state     what the server waits for                       dropped after
========  ==============================================  ======================
idle      the first byte of the next request              ``idle_timeout``
head      the rest of the request head                    ``header_timeout`` from
                                                          its first byte
body      more of a request body the handler awaits       ``body_timeout``
                                                          without a byte
answer    the client to read (writing is paused)          ``write_timeout``
========  ==============================================  ======================

At ``max_connections`` a new connection closes the oldest one that is idle
or still sending its head (a client that is not being served); only when
every connection is busy with a request is the new one closed instead. A
flood of idle sockets therefore never locks a real client out, and the
process never runs out of file descriptors because of them.

The request middleware (:meth:`ConnectionGuard.middleware`) marks when a
request head has arrived and when its handler is done. Portable: plain
asyncio protocols and a timer, no socket options.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .http_settings import HttpSettings

__all__ = ["ConnectionGuard"]

IDLE, HEAD, BUSY = "idle", "head", "busy"


class _Watched(asyncio.Protocol):
    """aiohttp's protocol for one connection, with the state the guard needs."""

    def __init__(self, guard: ConnectionGuard, inner: asyncio.Protocol) -> None:
        self.guard, self.inner = guard, inner
        self.transport: asyncio.Transport | None = None
        self.state, self.since = IDLE, time.monotonic()
        self.last_data = self.since
        self.paused_since: float | None = None
        self.request: web.BaseRequest | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.inner.connection_made(transport)
        self.guard._opened(self)

    def data_received(self, data: bytes) -> None:
        self.last_data = time.monotonic()
        if self.state == IDLE:
            self.state, self.since = HEAD, self.last_data
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard._closed(self)
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.paused_since = time.monotonic()
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.paused_since = None
        self.inner.resume_writing()

    def drop(self) -> None:
        """Close now, discarding what is buffered (the client is not reading)."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()

    def overdue(self, now: float, limits: HttpSettings) -> bool:
        if self.paused_since is not None:
            return now - self.paused_since > limits.write_timeout
        if self.state == IDLE:
            return now - self.since > limits.idle_timeout and not self._writing()
        if self.state == HEAD:
            return now - self.since > limits.header_timeout
        awaiting_body = self.request is not None and not self.request.content.is_eof()
        return awaiting_body and now - self.last_data > limits.body_timeout

    def waiting(self) -> bool:
        """Whether the server owes this client nothing now (no request being
        handled, no answer being written): it may be closed to make room."""
        return self.state != BUSY and self.paused_since is None and not self._writing()

    def _writing(self) -> bool:
        return self.transport is not None and self.transport.get_write_buffer_size() > 0


class ConnectionGuard:
    """Watch the connections of one server (see the module docstring).

    Parameters
    ----------
    settings
        The timeouts and ``max_connections``.
    """

    def __init__(self, settings: HttpSettings) -> None:
        self.settings = settings
        self._open: dict[Any, _Watched] = {}  # transport -> connection, oldest first
        self._task: asyncio.Task[None] | None = None

    def protocol_factory(self, make: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        """A protocol factory for ``loop.create_server`` wrapping ``make``'s protocols."""
        return lambda: _Watched(self, make())

    def start(self) -> None:
        """Start the timer (on the running loop)."""
        self._task = asyncio.get_running_loop().create_task(self._sweep())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def middleware(self) -> Callable:
        """Marks the request's connection busy while its handler runs."""

        @web.middleware
        async def busy_while_handled(request: web.Request, handler: Callable) -> web.StreamResponse:
            conn = self._open.get(request.transport)
            if conn is None:
                return await handler(request)
            conn.state, conn.request = BUSY, request
            try:
                return await handler(request)
            finally:
                conn.state, conn.since, conn.request = IDLE, time.monotonic(), None

        return busy_while_handled

    def _opened(self, conn: _Watched) -> None:
        self._open[conn.transport] = conn
        if len(self._open) <= self.settings.max_connections:
            return
        waiting = next((c for c in self._open.values() if c is not conn and c.waiting()), None)
        self._drop(waiting or conn)

    def _drop(self, conn: _Watched) -> None:
        # forgotten at once: its connection_lost comes only on a later loop turn,
        # and a burst of new connections must not count (or pick) it again
        self._open.pop(conn.transport, None)
        conn.drop()

    def _closed(self, conn: _Watched) -> None:
        self._open.pop(conn.transport, None)

    async def _sweep(self) -> None:
        s = self.settings
        every = max(0.05, min(1.0, s.header_timeout, s.idle_timeout, s.body_timeout, s.write_timeout) / 4)
        while True:
            await asyncio.sleep(every)
            now = time.monotonic()
            for conn in [c for c in self._open.values() if c.overdue(now, s)]:
                self._drop(conn)
