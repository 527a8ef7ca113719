"""The generic :class:`Store` on any fsspec filesystem.

A store owns one fsspec filesystem instance rooted at a prefix. Backends
whose service does more (S3 conditional puts, Azure ETags, a lock in memory)
subclass :class:`FsspecStore` and override what they do better; any other
fsspec protocol gets this class as it is, without conditional writes.

Commit points
-------------
* ``write``: the filesystem's ``pipe_file``.
* ``open_write``: closing the filesystem's file; whether a failed stream
  leaves anything depends on the filesystem (this class does not promise
  :attr:`~backends.Capabilities.atomic_replace`).
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Iterator
from typing import IO, Any

from ._errors import StoreIOError, translate_errors
from ._keys import check_key, check_prefix, is_hidden, is_listed
from ._store import Capabilities, ObjectInfo, Store, content_version

__all__ = ["FsspecStore"]


class FsspecStore(Store):
    """Objects under a root of an fsspec filesystem.

    Parameters
    ----------
    fs
        The fsspec filesystem. The store owns it: it was made for this store
        alone (``skip_instance_cache``), and nothing else should use it.
        Closing the store does not close it.
    root
        The root path inside ``fs`` (no trailing slash).
    url
        The URL as shown to people: credentials and query removed.
    """

    kind = "fsspec"
    capabilities = Capabilities(conditional_write=False, server_side_copy=False, atomic_replace=False)

    def __init__(self, fs: Any, root: str, url: str) -> None:
        super().__init__(url)
        self.fs = fs
        self.root = root.rstrip("/")

    # -- paths -----------------------------------------------------------------
    def path(self, key: str) -> str:
        """The backend path of ``key`` (checked: it cannot leave the root)."""
        check_key(key)
        return f"{self.root}/{key}"

    def _prefix_path(self, prefix: str) -> str:
        prefix = check_prefix(prefix)
        if not prefix:
            return self.root
        return self.path(prefix)

    def _rel(self, path: str) -> str:
        path = path.rstrip("/")
        root = self.root.lstrip("/")
        stripped = path.lstrip("/")
        if stripped == root:
            return ""
        if stripped.startswith(root + "/"):
            return stripped[len(root) + 1 :]
        return stripped

    # -- reads -----------------------------------------------------------------
    def read_versioned(self, key: str) -> tuple[bytes, str]:
        self._count("read")
        with translate_errors(key):
            data = self.fs.cat_file(self.path(key))
        return data, content_version(data)

    def exists(self, key: str) -> bool:
        self._count("exists")
        with translate_errors(key):
            return bool(self.fs.isfile(self.path(key)))

    def size(self, key: str) -> int:
        self._count("info")
        with translate_errors(key):
            info = self.fs.info(self.path(key))
        return int(info.get("size") or 0)

    def _reader(self, key: str) -> IO[bytes]:
        with translate_errors(key):
            reader: IO[bytes] = self.fs.open(self.path(key), "rb")
        return reader

    def list(self, prefix: str = "") -> builtins.list[ObjectInfo]:
        self._count("list")
        base = self._prefix_path(prefix)
        with translate_errors(prefix):
            self._invalidate(base)
            try:
                found = self.fs.find(base, detail=True)
            except FileNotFoundError:
                return []
        folder = check_prefix(prefix)
        below = f"{folder}/" if folder else ""
        out = []
        for path, info in found.items():
            if info.get("type") == "directory":
                continue
            key = self._rel(path)
            if key.startswith(below) and key != below and is_listed(key):
                out.append(ObjectInfo(key, int(info.get("size") or 0), _mtime(info)))
        return sorted(out, key=lambda o: o.key)

    def list_dirs(self, prefix: str = "") -> builtins.list[str]:
        self._count("list")
        base = self._prefix_path(prefix)
        with translate_errors(prefix):
            self._invalidate(base)
            try:
                entries = self.fs.ls(base, detail=True)
            except FileNotFoundError:
                return []
        names = []
        for info in entries:
            if info.get("type") == "directory":
                name = info["name"].rstrip("/").rsplit("/", 1)[-1]
                if not is_hidden(name):
                    names.append(name)
        return sorted(set(names))

    def _make_parent(self, path: str) -> None:
        """Make the folder that will hold ``path`` (backends with real folders)."""
        self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)

    def _invalidate(self, path: str) -> None:
        invalidate = getattr(self.fs, "invalidate_cache", None)
        if invalidate is not None:
            invalidate(path)

    # -- writes ----------------------------------------------------------------
    def write(self, key: str, data: bytes) -> str:
        self._count("write")
        path = self.path(key)
        with translate_errors(key):
            self._make_parent(path)
            self.fs.pipe_file(path, data)
        return content_version(data)

    def write_if(self, key: str, data: bytes, version: str | None) -> str:
        self.path(key)
        raise StoreIOError(f"{self.kind} store cannot write conditionally")

    @contextlib.contextmanager
    def open_write(self, key: str) -> Iterator[IO[bytes]]:
        """Stream bytes into ``key``; committed when the block ends without error.

        On error the file is discarded (an S3 multipart upload is aborted).
        """
        self._count("write")
        path = self.path(key)
        with translate_errors(key):
            self._make_parent(path)
            f = self.fs.open(path, "wb")
        try:
            yield f
        except BaseException:
            _discard(f)
            raise
        with translate_errors(key):
            f.close()

    def delete(self, key: str) -> None:
        self._count("delete")
        with translate_errors(key):
            try:
                self.fs.rm_file(self.path(key))
            except FileNotFoundError:
                pass

    def delete_prefix(self, prefix: str) -> None:
        self._count("delete")
        path = self.path(check_prefix(prefix, allow_empty=False))
        with translate_errors(prefix):
            try:
                self.fs.rm(path, recursive=True)
            except FileNotFoundError:
                pass

    def copy(self, src: str, dst: str) -> None:
        self._count("copy")
        with translate_errors(src):
            dst_path = self.path(dst)
            self._make_parent(dst_path)
            self.fs.copy(self.path(src), dst_path)


def _discard(f: Any) -> None:
    discard = getattr(f, "discard", None)
    if discard is not None:
        with contextlib.suppress(Exception):
            discard()
    with contextlib.suppress(Exception):
        f.closed = True  # fsspec buffered files: stop __del__ from committing


def _mtime(info: dict[str, Any]) -> float | None:
    for field in ("mtime", "LastModified", "created", "last_modified"):
        value = info.get(field)
        if value is None:
            continue
        if hasattr(value, "timestamp"):
            return float(value.timestamp())
        try:
            return float(value)
        except (TypeError, ValueError):
            continue
    return None
