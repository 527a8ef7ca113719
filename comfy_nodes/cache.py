"""A local disk cache for bytes derived from immutable store objects.

A stored image or mask is never overwritten under its key (DESIGN §4), so
``(store URL, key)`` identifies its bytes for good; thumbnails add their size.
Entries are written to a temporary file and renamed into place, so a reader
never sees a partial entry. The cache is never a source of truth: a missing
or unreadable entry is fetched again.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from backends import Store

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
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class DiskCache:
    """Files under ``folder``, named by token; the folder is made on first write."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    def _path(self, token: str) -> Path:
        return self.folder / token[:2] / token

    def get(self, token: str) -> bytes | None:
        """The cached bytes, or ``None``."""
        try:
            return self._path(token).read_bytes()
        except OSError:
            return None

    def put(self, token: str, data: bytes) -> None:
        """Store ``data`` (atomically: temp file, then rename)."""
        write_atomic(self._path(token), data)


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
