"""A local disk cache for bytes derived from immutable store objects.

A stored image or mask is never overwritten under its key (DESIGN §4), so
``(store URL, key)`` identifies its bytes for good; thumbnails add their size.
Entries are written to a temporary file and renamed into place, so a reader
never sees a partial entry. The cache is never a source of truth: a missing
or unreadable entry is fetched again. A cache may be bounded in size: it then
forgets its least recently used entries (see :mod:`comfy_nodes.disk_cache`).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from ._layers import Store
from .disk_cache import TEMP_SUFFIX, Limit, SizeBound, touch

__all__ = ["DiskCache", "ReadCache", "default_cache_dir", "cache_token", "write_atomic"]

# Backends whose reads are local already; caching them would only copy bytes.
_LOCAL_KINDS = {"local", "memory"}


def default_cache_dir() -> Path:
    """``$POOLSTORE_CACHE_DIR``, else ``$XDG_CACHE_HOME/poolstore`` (``~/.cache/poolstore``)."""
    env = os.environ.get("POOLSTORE_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "poolstore"


def cache_token(store: Store, key: str, *extra: str) -> str:
    """A hex digest naming ``key`` of ``store`` (plus ``extra`` variants)."""
    text = "\0".join([store.url, key, *extra])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename, so
    readers see the old file, or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class DiskCache:
    """Files under ``folder``, named by token; the folder is made on first write.

    Parameters
    ----------
    folder
        The cache folder. With a bound, entries the cache did not write
        (other names, symlinks, folders) are never removed.
    max_bytes
        The size bound in bytes, or a callable giving it on first write
        (so the configuration is read lazily); ``None``: unbounded; ``0``:
        nothing is kept.
    """

    def __init__(self, folder: str | os.PathLike[str], max_bytes: int | Limit | None = None) -> None:
        self.folder = Path(folder)
        self.bound = SizeBound(self.folder, max_bytes) if max_bytes is not None else None

    def _path(self, token: str) -> Path:
        return self.folder / token[:2] / token

    def get(self, token: str) -> bytes | None:
        """The cached bytes, or ``None``. A hit marks the entry as recently used."""
        path = self._path(token)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if self.bound is not None:
            touch(path)
        return data

    def put(self, token: str, data: bytes) -> None:
        """Store ``data`` (atomically: temp file, then rename); with a bound,
        data larger than the bound is not kept, and a write may evict the
        least recently used entries. Commit point: the rename."""
        if self.bound is not None and not self.bound.admits(len(data)):
            return
        write_atomic(self._path(token), data)
        if self.bound is not None:
            self.bound.added(len(data))


class ReadCache:
    """Reads objects, keeping a local copy of those from remote stores.

    Local and in-memory stores are read directly; for the others the first
    read downloads and keeps the bytes, and later reads of the same key do
    not touch the store.
    """

    def __init__(self, cache: DiskCache) -> None:
        self.cache = cache

    def read(self, store: Store, key: str) -> bytes:
        """The bytes of ``key`` (blocking)."""
        if store.kind in _LOCAL_KINDS:
            return store.read(key)
        token = cache_token(store, key)
        data = self.cache.get(token)
        if data is None:
            data = store.read(key)
            self.cache.put(token, data)
        return data
