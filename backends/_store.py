"""The :class:`Store` interface: key-based operations on an fsspec filesystem.

A store owns one fsspec filesystem instance rooted at a prefix. Subclasses
override what their backend does better (atomic local writes, S3 conditional
puts); everything else is the generic fsspec path here.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from ._errors import PreconditionFailedError, StoreIOError, translate_errors
from ._keys import check_key, check_prefix, is_hidden, is_listed

__all__ = ["Store", "Capabilities", "ObjectInfo"]

log = logging.getLogger("poolstore.store")


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do; domain code branches on these, never on the type.

    Attributes
    ----------
    conditional_write
        Writes can be made conditional on the current version (compare-and-swap)
        or on the key being absent.
    server_side_copy
        Copies inside the store do not pass bytes through this process.
    atomic_replace
        A plain write replaces the object whole; readers never see a partial one.
    """

    conditional_write: bool
    server_side_copy: bool
    atomic_replace: bool


@dataclass(frozen=True)
class ObjectInfo:
    """One listed object: its key relative to the root, size and modification time."""

    key: str
    size: int
    mtime: float | None = None


def content_version(data: bytes) -> str:
    """Version token for backends without native versions: the content's MD5."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


class Store:
    """Objects under a root, addressed by ``/``-joined keys.

    Parameters
    ----------
    fs
        The fsspec filesystem. The store owns it: it was made for this store
        alone (``skip_instance_cache``), and nothing else should use it.
    root
        The root path inside ``fs`` (no trailing slash).
    url
        The URL as shown to people: credentials and query removed.

    Notes
    -----
    ``stats`` counts requests per operation name; tests and benchmarks read it
    to check that an operation's cost does not grow with the pool size.
    """

    kind = "fsspec"
    capabilities = Capabilities(conditional_write=False, server_side_copy=False, atomic_replace=False)

    def __init__(self, fs: Any, root: str, url: str) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.url = url
        self.stats: collections.Counter[str] = collections.Counter()
        self._conditional_ok: bool | None = None
        self._probe_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"

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

    def _count(self, op: str) -> None:
        self.stats[op] += 1

    # -- reads -----------------------------------------------------------------
    def read(self, key: str) -> bytes:
        """All bytes of ``key``; :class:`KeyNotFoundError` if absent."""
        return self.read_versioned(key)[0]

    def read_versioned(self, key: str) -> tuple[bytes, str]:
        """Bytes and version token, read together in one request."""
        self._count("read")
        with translate_errors(key):
            data = self.fs.cat_file(self.path(key))
        return data, content_version(data)

    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key`` (never a cached answer)."""
        self._count("exists")
        with translate_errors(key):
            return bool(self.fs.isfile(self.path(key)))

    def size(self, key: str) -> int:
        """Size in bytes of ``key``."""
        self._count("info")
        with translate_errors(key):
            info = self.fs.info(self.path(key))
        return int(info.get("size") or 0)

    def read_head(self, key: str, size: int) -> bytes:
        """The first ``size`` bytes of ``key`` (all of it when shorter), read
        from one stream: memory is bounded by ``size`` whatever the object's
        size. Ask for one byte more than a limit to tell whether it is over."""
        self._count("read")
        with self._reader(key) as f:
            return f.read(size)

    def open_read(self, key: str) -> IO[bytes]:
        """A streaming binary reader; the caller closes it."""
        self._count("open")
        return self._reader(key)

    def _reader(self, key: str) -> IO[bytes]:
        with translate_errors(key):
            return self.fs.open(self.path(key), "rb")

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        """Every object below ``prefix`` (recursive), housekeeping keys left out."""
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

    def list_dirs(self, prefix: str = "") -> list[str]:
        """Names of the immediate "folders" below ``prefix`` (implicit on S3)."""
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
        """Store ``data`` under ``key`` whole; returns the new version."""
        self._count("write")
        path = self.path(key)
        with translate_errors(key):
            self._make_parent(path)
            self.fs.pipe_file(path, data)
        return content_version(data)

    def write_if(self, key: str, data: bytes, version: str | None) -> str:
        """Write only if the current version is ``version`` (``None``: only if absent).

        Raises :class:`PreconditionFailedError` when another writer got there
        first. Returns the new version.
        """
        raise StoreIOError(f"{self.kind} store cannot write conditionally")

    def create(self, key: str, data: bytes) -> str:
        """Write ``key`` only if nothing is stored there yet; the one create-only
        write. Raises :class:`PreconditionFailedError` when something is.

        A store with conditional writes makes the check and the write one
        step (``write_if(key, data, None)``). One without asks whether the key
        exists, then writes: that keeps a writer from overwriting what was
        stored before it asked, but two writers creating the same key at the
        same moment can both succeed, and the later write wins.
        """
        if self.capabilities.conditional_write:
            return self.write_if(key, data, None)
        if self.exists(key):
            raise PreconditionFailedError(f"{key} exists already")
        return self.write(key, data)

    @contextlib.contextmanager
    def open_write(self, key: str) -> Iterator[IO[bytes]]:
        """Stream bytes into ``key``; committed when the block ends without error.

        On error nothing is stored (an S3 multipart upload is aborted).
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
        """Remove ``key``; absent keys are not an error."""
        self._count("delete")
        with translate_errors(key):
            try:
                self.fs.rm_file(self.path(key))
            except FileNotFoundError:
                pass

    def delete_many(self, keys: list[str]) -> None:
        """Remove several keys (batched where the backend can)."""
        for key in keys:
            self.delete(key)

    def delete_prefix(self, prefix: str) -> None:
        """Remove everything below ``prefix`` (which must be a non-empty key)."""
        self._count("delete")
        path = self.path(check_prefix(prefix, allow_empty=False))
        with translate_errors(prefix):
            try:
                self.fs.rm(path, recursive=True)
            except FileNotFoundError:
                pass

    def copy(self, src: str, dst: str) -> None:
        """Copy one object inside the store (server-side where capable)."""
        self._count("copy")
        with translate_errors(src):
            dst_path = self.path(dst)
            self._make_parent(dst_path)
            self.fs.copy(self.path(src), dst_path)

    def same_backend(self, other: "Store") -> bool:
        """Whether ``other`` reaches the same service with the same credentials,
        so copies between the two can stay server-side."""
        return False

    def copy_from(self, other: "Store", src: str, dst: str) -> None:
        """Copy ``src`` of ``other`` into ``dst`` of this store (streamed)."""
        with other.open_read(src) as reader, self.open_write(dst) as writer:
            while chunk := reader.read(1 << 20):
                writer.write(chunk)

    # -- concurrency -----------------------------------------------------------
    @property
    def concurrent_writes_safe(self) -> bool:
        """Conditional writes are available and the backend honours them."""
        if not self.capabilities.conditional_write:
            return False
        if self._conditional_ok is None:
            with self._probe_lock:
                if self._conditional_ok is None:
                    self._conditional_ok = self.probe_conditional_writes()
                    if not self._conditional_ok:
                        log.warning(
                            "store %s ignores conditional writes: concurrent edits "
                            "from several machines can overwrite each other",
                            self.url,
                        )
        return self._conditional_ok

    def probe_conditional_writes(self) -> bool:
        """Check by experiment that a create-only write of an existing key fails."""
        return self.capabilities.conditional_write

    def close(self) -> None:
        """Release what the store holds; the filesystem is owned by the store."""


def _discard(f: Any) -> None:
    discard = getattr(f, "discard", None)
    if discard is not None:
        with contextlib.suppress(Exception):
            discard()
    with contextlib.suppress(Exception):
        f.closed = True  # fsspec buffered files: stop __del__ from committing


def _mtime(info: dict[str, Any]) -> float | None:
    for field in ("mtime", "LastModified", "created"):
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
