"""A small thread pool of its own for the heavy route work.

Decoding uploads (add, set_mask), validating and storing an imported archive,
making a thumbnail and staging an image for the mask editor run here, never
on asyncio's default executor (only ``cpu_count + 4`` threads). However many
such requests arrive at once, they wait their turn in this pool's queue, and
the light routes (pool and profile lists, image bytes) still find a free
thread. Decoding itself is bounded further, process-wide, by
:data:`poolstore.images.DECODING`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextvars
import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["run_heavy", "HEAVY_WORKERS"]

T = TypeVar("T")
HEAVY_WORKERS = 4
"""Heavy route jobs running at once; the others wait (in memory, as futures)."""

_pool: cf.ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _executor() -> cf.ThreadPoolExecutor:
    """The process's heavy-work pool, made on first use (not at import)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = cf.ThreadPoolExecutor(HEAVY_WORKERS, thread_name_prefix="poolstore-heavy")
        return _pool


async def run_heavy(fn: Callable[..., T], /, *args: Any) -> T:
    """``fn(*args)`` on the heavy-work pool, like :func:`asyncio.to_thread`
    (the context variables go along)."""
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, fn, *args)
    return await loop.run_in_executor(_executor(), call)
