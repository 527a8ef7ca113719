"""The :class:`Store` interface: objects under a root, addressed by ``/``-joined keys.

:class:`Store` is abstract: it says what every backend does and provides what
can be written once on top of that (whole reads, heads, create-only writes,
streamed copies between stores, the conditional-write probe). A backend
implements the abstract methods and declares its :class:`Capabilities`;
domain code types against :class:`Store` and branches on the capabilities,
never on the class. The generic implementation on any fsspec filesystem is
:class:`~backends._fsspec.FsspecStore`; the contract every backend must pass
ships as :mod:`backends.testing`.
"""

from __future__ import annotations

import abc
import builtins
import collections
import contextlib
import hashlib
import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, ClassVar

from ._errors import PreconditionFailedError

__all__ = ["Store", "Capabilities", "ObjectInfo", "content_version"]

log = logging.getLogger("poolstore.store")

_PROBE_PREFIX = ".poolstore-probe"
# A version token no backend hands out: a conditional write against it must fail.
_NO_SUCH_VERSION = "poolstore-probe-no-such-version"


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
        A plain write replaces the object whole; readers never see a partial one,
        and a streamed write that fails stores nothing.
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


class Store(abc.ABC):
    """Objects under a root, addressed by ``/``-joined keys.

    Parameters
    ----------
    url
        The location as shown to people: no credentials, no query.

    Attributes
    ----------
    kind
        A short name of the backend (``"local"``, ``"s3"``...), for people and
        logs; code branches on :attr:`capabilities`, not on this.
    capabilities
        What the backend can do (see :class:`Capabilities`).
    stats
        Requests per operation name; tests and benchmarks read it to check
        that an operation's cost does not grow with the pool size.

    Notes
    -----
    Keys are checked before use (:func:`~backends.check_key`): a key that
    would leave the root raises :class:`~backends.InvalidKeyError` and
    nothing is sent to the backend. Every backend error comes out as a
    :class:`~backends.StoreError` (translated in :mod:`backends._errors`).
    Keys with a segment starting with ``.`` (locks, probes) and temporary
    ``*.partial`` objects are never listed.
    """

    kind: ClassVar[str] = "store"
    capabilities: ClassVar[Capabilities] = Capabilities(
        conditional_write=False, server_side_copy=False, atomic_replace=False
    )

    def __init__(self, url: str) -> None:
        self.url = url
        self.stats: collections.Counter[str] = collections.Counter()
        self._conditional_ok: bool | None = None
        self._probe_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"

    def _count(self, op: str) -> None:
        self.stats[op] += 1

    # -- reads -----------------------------------------------------------------
    def read(self, key: str) -> bytes:
        """All bytes of ``key``; :class:`KeyNotFoundError` if absent."""
        return self.read_versioned(key)[0]

    @abc.abstractmethod
    def read_versioned(self, key: str) -> tuple[bytes, str]:
        """Bytes and version token, read together in one request."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key`` (never a cached answer)."""

    @abc.abstractmethod
    def size(self, key: str) -> int:
        """Size in bytes of ``key``."""

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

    @abc.abstractmethod
    def _reader(self, key: str) -> IO[bytes]:
        """A streaming reader of ``key`` (what :meth:`open_read` and
        :meth:`read_head` use); :class:`KeyNotFoundError` if absent."""

    @abc.abstractmethod
    def list(self, prefix: str = "") -> builtins.list[ObjectInfo]:
        """Every object below ``prefix`` (recursive, sorted by key),
        housekeeping keys left out; an object key as ``prefix`` lists nothing."""

    @abc.abstractmethod
    def list_dirs(self, prefix: str = "") -> builtins.list[str]:
        """Names of the immediate "folders" below ``prefix`` (sorted)."""

    # -- writes ----------------------------------------------------------------
    @abc.abstractmethod
    def write(self, key: str, data: bytes) -> str:
        """Store ``data`` under ``key`` whole; returns the new version."""

    @abc.abstractmethod
    def write_if(self, key: str, data: bytes, version: str | None) -> str:
        """Write only if the current version is ``version`` (``None``: only if absent).

        Raises :class:`PreconditionFailedError` when another writer got there
        first (or the object was deleted meanwhile). Returns the new version.
        Backends without :attr:`Capabilities.conditional_write` raise
        :class:`StoreIOError`.
        """

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

    @abc.abstractmethod
    def open_write(self, key: str) -> contextlib.AbstractContextManager[IO[bytes]]:
        """Stream bytes into ``key``; committed when the block ends without error.

        With :attr:`Capabilities.atomic_replace`, nothing is stored on error
        and a previous object stays whole.
        """

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; absent keys are not an error."""

    def delete_many(self, keys: builtins.list[str]) -> None:
        """Remove several keys (batched where the backend can)."""
        for key in keys:
            self.delete(key)

    @abc.abstractmethod
    def delete_prefix(self, prefix: str) -> None:
        """Remove everything below ``prefix`` (which must be a non-empty key)."""

    @abc.abstractmethod
    def copy(self, src: str, dst: str) -> None:
        """Copy one object inside the store (server-side where capable)."""

    def same_backend(self, other: Store) -> bool:
        """Whether ``other`` reaches the same service with the same credentials,
        so copies between the two can stay server-side."""
        return False

    def copy_from(self, other: Store, src: str, dst: str) -> None:
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
        """Check by experiment that conditional writes are honoured.

        A probe object is written create-only twice (the second must fail),
        then against a version no backend hands out (which must fail too);
        it is removed after. Backends that make the check themselves (a lock
        in this process) override this to skip the requests.
        """
        if not self.capabilities.conditional_write:
            return False
        key = f"{_PROBE_PREFIX}/{uuid.uuid4().hex}"
        try:
            self.write_if(key, b"1", None)
            return self._refused(key, b"2", None) and self._refused(key, b"3", _NO_SUCH_VERSION)
        finally:
            with contextlib.suppress(Exception):
                self.delete(key)

    def _refused(self, key: str, data: bytes, version: str | None) -> bool:
        try:
            self.write_if(key, data, version)
        except PreconditionFailedError:
            return True
        return False

    def close(self) -> None:
        """Release what the store holds (a store owns its connections)."""
