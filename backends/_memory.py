"""In-process memory store (tests and demos): fsspec's ``MemoryFileSystem``.

Conditional writes are made under one process-wide lock; the write inside the
lock is the commit point. ``open_write`` buffers and stores the object whole
when the block ends (fsspec's memory files would show it, empty, at once).
Contents live as long as the process.
"""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Iterator
from typing import IO

from fsspec.implementations.memory import MemoryFileSystem

from ._errors import PreconditionFailedError, translate_errors
from ._fsspec import FsspecStore
from ._store import Capabilities, Store, content_version

__all__ = ["MemoryStore"]

_LOCK = threading.RLock()


class MemoryStore(FsspecStore):
    """Objects in this process's memory, under ``memory://<name>``."""

    kind = "memory"
    capabilities = Capabilities(conditional_write=True, server_side_copy=True, atomic_replace=True)

    def __init__(self, name: str) -> None:
        name = name.strip("/")
        super().__init__(MemoryFileSystem(skip_instance_cache=True), f"/{name}", f"memory://{name}")

    def write(self, key: str, data: bytes) -> str:
        with _LOCK:
            return super().write(key, data)

    def read_versioned(self, key: str) -> tuple[bytes, str]:
        with _LOCK:
            return super().read_versioned(key)

    def _reader(self, key: str) -> IO[bytes]:
        # A private copy: fsspec hands out the stored file object itself, whose
        # position concurrent readers would share.
        with _LOCK, translate_errors(key):
            return io.BytesIO(self.fs.cat_file(self.path(key)))

    @contextlib.contextmanager
    def open_write(self, key: str) -> Iterator[IO[bytes]]:
        self.path(key)
        buffer = io.BytesIO()
        yield buffer
        self.write(key, buffer.getvalue())

    def write_if(self, key: str, data: bytes, version: str | None) -> str:
        self._count("write")
        path = self.path(key)
        with _LOCK, translate_errors(key):
            try:
                current = content_version(self.fs.cat_file(path))
            except FileNotFoundError:
                current = None
            if current != version:
                what = "exists already" if version is None else "changed meanwhile"
                raise PreconditionFailedError(f"{key} {what}")
            self.fs.pipe_file(path, data)
        return content_version(data)

    def same_backend(self, other: Store) -> bool:
        return isinstance(other, MemoryStore)

    def copy_from(self, other: Store, src: str, dst: str) -> None:
        if isinstance(other, MemoryStore):
            self.write(dst, other.read(src))
        else:
            super().copy_from(other, src, dst)

    def probe_conditional_writes(self) -> bool:
        return True
