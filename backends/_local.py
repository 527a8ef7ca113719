"""Local-disk store: atomic replace via ``os.replace``, CAS under ``flock``.

Commit points
-------------
* ``write``: ``os.replace`` of a ``<name>.<uuid>.partial`` temp file.
* ``write_if``: the same replace, made while holding an exclusive ``flock`` on
  the side file ``.<name>.lock`` and after comparing the current content.
* ``create``: ``os.link`` of the temp file (fails if the name exists).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator
from typing import IO

from fsspec.implementations.local import LocalFileSystem

from ._errors import InvalidKeyError, KeyNotFoundError, PreconditionFailedError, translate_errors
from ._keys import check_key, check_prefix, is_hidden
from ._store import Capabilities, ObjectInfo, Store, content_version

__all__ = ["LocalStore"]


class LocalStore(Store):
    """A folder on local disk. ``root`` is an absolute path."""

    kind = "local"
    capabilities = Capabilities(conditional_write=True, server_side_copy=True, atomic_replace=True)

    def __init__(self, root: str, url: str | None = None) -> None:
        root = os.path.abspath(os.path.expanduser(root))
        super().__init__(LocalFileSystem(), root, url or root)

    def path(self, key: str) -> str:
        check_key(key)
        path = os.path.join(self.root, *key.split("/"))
        real_root = os.path.realpath(self.root)
        real = os.path.realpath(path)
        if real != real_root and not real.startswith(real_root + os.sep):
            raise InvalidKeyError(f"key {key!r} leaves the store root")
        return path

    def read_versioned(self, key: str) -> tuple[bytes, str]:
        self._count("read")
        with translate_errors(key):
            with open(self.path(key), "rb") as f:
                data = f.read()
        return data, content_version(data)

    def exists(self, key: str) -> bool:
        self._count("exists")
        return os.path.isfile(self.path(key))

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        self._count("list")
        base = self._prefix_path(prefix)
        out = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                full = os.path.join(dirpath, name)
                key = os.path.relpath(full, self.root).replace(os.sep, "/")
                if is_hidden(key) or name.endswith(".partial") or os.path.islink(full):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    st = os.stat(full)
                    out.append(ObjectInfo(key, st.st_size, st.st_mtime))
        return sorted(out, key=lambda o: o.key)

    def list_dirs(self, prefix: str = "") -> list[str]:
        self._count("list")
        base = self._prefix_path(prefix)
        try:
            names = os.listdir(base)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if not n.startswith(".") and _real_dir(os.path.join(base, n)))

    # -- writes ----------------------------------------------------------------
    def write(self, key: str, data: bytes) -> str:
        self._count("write")
        path = self.path(key)
        with translate_errors(key):
            self._replace_with(path, data)
        return content_version(data)

    def _replace_with(self, path: str, data: bytes) -> None:
        with self._temp_for(path) as tmp:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)

    @contextlib.contextmanager
    def _temp_for(self, path: str) -> Iterator[str]:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{uuid.uuid4().hex}.partial"
        try:
            yield tmp
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def write_if(self, key: str, data: bytes, version: str | None) -> str:
        self._count("write")
        path = self.path(key)
        with translate_errors(key):
            if version is None:
                self._create(path, data, key)
                return content_version(data)
            with self._locked(path):
                try:
                    with open(path, "rb") as f:
                        current = content_version(f.read())
                except FileNotFoundError:
                    raise PreconditionFailedError(f"{key} was deleted meanwhile") from None
                if current != version:
                    raise PreconditionFailedError(f"{key} changed meanwhile")
                self._replace_with(path, data)
        return content_version(data)

    def _create(self, path: str, data: bytes, key: str) -> None:
        # os.link is atomic and refuses an existing name: no lock (and no lock
        # file beside every image) needed.
        with self._temp_for(path) as tmp:
            with open(tmp, "wb") as f:
                f.write(data)
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise PreconditionFailedError(f"{key} exists already") from None

    @contextlib.contextmanager
    def _locked(self, path: str) -> Iterator[None]:
        folder, name = os.path.split(path)
        os.makedirs(folder, exist_ok=True)
        fd = os.open(os.path.join(folder, f".{name}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def open_write(self, key: str) -> Iterator[IO[bytes]]:
        self._count("write")
        path = self.path(key)
        with self._temp_for(path) as tmp:
            with translate_errors(key), open(tmp, "wb") as f:
                yield f
            with translate_errors(key):
                os.replace(tmp, path)

    def delete(self, key: str) -> None:
        # The side lock file stays: unlinking it while a writer holds its flock
        # would let the next writer lock a new file and run at the same time.
        self._count("delete")
        path = self.path(key)
        with translate_errors(key), contextlib.suppress(FileNotFoundError):
            os.unlink(path)

    def delete_prefix(self, prefix: str) -> None:
        self._count("delete")
        path = self.path(check_prefix(prefix, allow_empty=False))
        if os.path.realpath(path) == os.path.realpath(self.root):
            raise InvalidKeyError("refusing to delete the store root")
        with translate_errors(prefix):
            if os.path.islink(path):
                os.unlink(path)
            elif os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.exists(path):
                os.unlink(path)

    def copy(self, src: str, dst: str) -> None:
        self._count("copy")
        src_path, dst_path = self.path(src), self.path(dst)
        with translate_errors(src):
            if not os.path.isfile(src_path):
                raise KeyNotFoundError(f"no object {src!r}")
            with self._temp_for(dst_path) as tmp:
                shutil.copyfile(src_path, tmp)
                os.replace(tmp, dst_path)

    def same_backend(self, other: Store) -> bool:
        return isinstance(other, LocalStore)

    def copy_from(self, other: Store, src: str, dst: str) -> None:
        if not isinstance(other, LocalStore):
            return super().copy_from(other, src, dst)
        dst_path = self.path(dst)
        with translate_errors(src), self._temp_for(dst_path) as tmp:
            shutil.copyfile(other.path(src), tmp)
            os.replace(tmp, dst_path)

    def probe_conditional_writes(self) -> bool:
        return True


def _real_dir(path: str) -> bool:
    """A folder, not a symbolic link to one (which may point out of the root)."""
    return os.path.isdir(path) and not os.path.islink(path)
