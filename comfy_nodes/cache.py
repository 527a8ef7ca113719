"""A local disk cache for bytes derived from immutable store objects.

A stored image or mask is never overwritten under its key (DESIGN §4), so
``(store URL, key)`` identifies its bytes for good; thumbnails add their size.
Entries are written to a temporary file and renamed into place, so a reader
never sees a partial entry. The cache is never a source of truth: a missing
or unreadable entry is fetched again. A cache may be bounded in size: it then
forgets its least recently used entries (see :mod:`comfy_nodes.disk_cache`).

Safety
------
Every file of the cache is reached without following links
(:func:`backends.open_folder`): a shard folder or an entry that is a link is
refused, so nothing is read or written outside the cache folder through one.
Entries are *sealed*: each starts with an HMAC-SHA256, under a random secret
kept in the cache folder (``.key``, readable by its owner only), of the entry's
token and bytes. An entry the cache did not write (planted by someone who
cannot read the secret, left by an older version, or copied under another
token) reads as a miss and is never served. A tag without a secret would not
do: a token is a hash of the store URL and key, which are no secret.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from ._layers import InvalidKeyError, LocalFolder, Store, StoreError, open_folder, read_image_object
from .disk_cache import Limit, SizeBound

__all__ = ["DiskCache", "ReadCache", "default_cache_dir", "cache_token", "write_atomic", "ENTRY_OVERHEAD"]

log = logging.getLogger("poolstore.cache")

# Backends whose reads are local already; caching them would only copy bytes.
_LOCAL_KINDS = {"local", "memory"}
_KEY_FILE, _KEY_SIZE = ".key", 32
_SEAL = b"PSC1"  # entry format 1: this tag, the 32-byte HMAC, the bytes
_HEADER = len(_SEAL) + hashlib.sha256().digest_size
ENTRY_OVERHEAD = _HEADER
"""Bytes an entry takes on disk beyond the cached bytes (counted by the bound)."""


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
    readers see the old file, or the whole new one.

    The folder is made if missing. The file gets the permissions of any new
    file (``0666`` less the umask), so other users can read it where the
    umask lets them. A link at ``path`` is refused (:class:`InvalidKeyError`),
    never followed.
    """
    path = Path(path)
    with open_folder(str(path.parent)).open_dir([], create=True) as d:
        d.write(path.name, data)


def _mac(secret: bytes, token: str, data: bytes) -> bytes:
    mac = hmac.new(secret, token.encode("ascii") + b"\0", hashlib.sha256)
    mac.update(data)
    return mac.digest()


def _seal(secret: bytes, token: str, data: bytes) -> bytes:
    return _SEAL + _mac(secret, token, data) + data


def _unseal(secret: bytes, token: str, sealed: bytes) -> bytes | None:
    """The bytes of an entry this cache wrote for ``token``, else ``None``."""
    data = sealed[_HEADER:]
    tag = sealed[len(_SEAL) : _HEADER]
    if sealed[: len(_SEAL)] != _SEAL or not hmac.compare_digest(tag, _mac(secret, token, data)):
        return None
    return data


class DiskCache:
    """Sealed files under ``folder``, named by token; the folder is made on first write.

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
        self.files = open_folder(str(self.folder))
        self.bound = SizeBound(self.folder, max_bytes) if max_bytes is not None else None

    def get(self, token: str) -> bytes | None:
        """The cached bytes, or ``None`` (also for an entry the cache did not
        write). A hit marks the entry as recently used."""
        try:
            secret = _read_or_make_key(self.files, create=False)
            if secret is None:
                return None
            with self.files.open_dir([token[:2]]) as d:
                data = _unseal(secret, token, d.read(token))
                if data is not None and self.bound is not None:
                    d.touch(token)
        except (OSError, StoreError):
            return None
        return data

    def put(self, token: str, data: bytes) -> None:
        """Store ``data`` (atomically: temp file, then rename); with a bound,
        data larger than the bound is not kept, and a write may evict the
        least recently used entries. A shard folder that is a link is refused:
        nothing is kept. Commit point: the rename."""
        if self.bound is not None and not self.bound.admits(_HEADER + len(data)):
            return
        try:
            secret = _read_or_make_key(self.files, create=True)
            if secret is None:  # the cache folder went away meanwhile
                return
            with self.files.open_dir([token[:2]], create=True) as d:
                d.write(token, _seal(secret, token, data), mode=0o600)
        except InvalidKeyError as exc:
            log.warning("cache %s: entry not kept: %s", self.folder, exc)
            return
        if self.bound is not None:
            self.bound.added(_HEADER + len(data))


def _read_or_make_key(files: LocalFolder, create: bool) -> bytes | None:
    """The secret entries are sealed with: read, or made once (create-only, so
    processes that start together agree on it); ``None`` if there is none and
    ``create`` is false. A file of the wrong size is replaced. Read on every
    use (one small file), so a cache folder deleted while a process runs
    gets one new secret that every process shares."""
    try:
        with files.open_dir([], create=create) as d:
            for _attempt in range(3):
                try:
                    secret = d.read(_KEY_FILE)
                except FileNotFoundError:
                    if not create:
                        return None
                    try:
                        d.create(_KEY_FILE, secrets.token_bytes(_KEY_SIZE), mode=0o600)
                    except FileExistsError:
                        pass  # another process made it: read that one
                    continue
                if len(secret) == _KEY_SIZE:
                    return secret
                d.write(_KEY_FILE, secrets.token_bytes(_KEY_SIZE), mode=0o600)
    except FileNotFoundError:
        return None  # no cache folder yet
    raise OSError(f"cannot read or make the secret of cache {files.root}")


class ReadCache:
    """Reads objects, keeping a local copy of those from remote stores.

    Local and in-memory stores are read directly; for the others the first
    read downloads and keeps the bytes, and later reads of the same key do
    not touch the store. An object is read no further than the image byte
    limit (:func:`poolstore.images.read_image_object`).
    """

    def __init__(self, cache: DiskCache) -> None:
        self.cache = cache

    def read(self, store: Store, key: str) -> bytes:
        """The bytes of ``key`` (blocking)."""
        if store.kind in _LOCAL_KINDS:
            return read_image_object(store, key)
        token = cache_token(store, key)
        data = self.cache.get(token)
        if data is None:
            data = read_image_object(store, key)
            self.cache.put(token, data)
        return data
