"""Local-disk store: atomic replace by rename, CAS under a side lock, no links.

Every read, write, lock, listing and delete goes through a
:class:`~backends._localfs.LocalFolder`, which never follows a link below the
root (see that module for the POSIX and the portable implementations, and for
what each guarantees). A key that passes through a link is refused with
:class:`InvalidKeyError`; a link is never listed.

Commit points
-------------
* ``write``: the rename of a ``<name>.<uuid>.partial`` temp file over the name.
* ``write_if``: the same rename, made while holding the exclusive lock of the
  side file ``.<name>.lock`` and after comparing the current content.
* ``create``: a hard link of the complete temp file to the name (fails if the
  name exists); where the file system has no hard links, the rename, made under
  the side lock after checking that the name is free.
* ``delete_prefix``: removing the folder (or only the link, if it is one).
"""

from __future__ import annotations

import builtins
import contextlib
import os
import shutil
from collections.abc import Iterator
from typing import IO

from ._errors import InvalidKeyError, PreconditionFailedError, translate_errors
from ._keys import check_key, check_prefix, is_hidden, is_listed
from ._localfs import LocalFolder, open_folder
from ._store import Capabilities, ObjectInfo, Store, content_version

__all__ = ["LocalStore"]

_COPY_CHUNK = 1 << 20
# What "nothing there" looks like to exists and the listings: a name that is
# missing, below a file, or a link (never followed, so never an object).
_ABSENT = (FileNotFoundError, NotADirectoryError, InvalidKeyError)


class LocalStore(Store):
    """A folder on local disk.

    Parameters
    ----------
    root
        The folder (made on the first write). It may itself be a link; links
        below it are never followed.
    url
        The location as shown to people (default: ``root``).
    portable
        ``True`` forces the portable implementation (the one Windows runs),
        ``False`` the POSIX one; ``None`` (default) reads
        ``$POOLSTORE_LOCAL_IMPL`` and otherwise picks by platform.
    """

    kind = "local"
    capabilities = Capabilities(conditional_write=True, server_side_copy=True, atomic_replace=True)

    def __init__(self, root: str, url: str | None = None, *, portable: bool | None = None) -> None:
        root = os.path.abspath(os.path.expanduser(root))
        super().__init__(url or root)
        self.root = root
        self.folder: LocalFolder = open_folder(root, portable)

    def path(self, key: str) -> str:
        """The file path of ``key`` (for people: the store never opens by path)."""
        return os.path.join(self.root, *check_key(key).split("/"))

    @staticmethod
    def _split(key: str) -> tuple[list[str], str]:
        parts = check_key(key).split("/")
        return parts[:-1], parts[-1]

    # -- reads -----------------------------------------------------------------
    def read_versioned(self, key: str) -> tuple[bytes, str]:
        self._count("read")
        folder, name = self._split(key)
        with translate_errors(key), self.folder.open_dir(folder) as d:
            data = d.read(name)
        return data, content_version(data)

    def _reader(self, key: str) -> IO[bytes]:
        # open_read and read_head both come here: never through a link.
        folder, name = self._split(key)
        with translate_errors(key), self.folder.open_dir(folder) as d:
            return d.open_read(name)

    def exists(self, key: str) -> bool:
        self._count("exists")
        folder, name = self._split(key)
        with translate_errors(key):
            try:
                with self.folder.open_dir(folder) as d:
                    d.stat(name)
            except _ABSENT:
                return False
        return True

    def size(self, key: str) -> int:
        self._count("info")
        folder, name = self._split(key)
        with translate_errors(key), self.folder.open_dir(folder) as d:
            return d.stat(name).st_size

    def list(self, prefix: str = "") -> builtins.list[ObjectInfo]:
        self._count("list")
        parts = _parts(prefix)
        with translate_errors(prefix):
            try:
                found = self.folder.walk(parts)
            except _ABSENT:
                return []
        out = [
            ObjectInfo(key, st.st_size, st.st_mtime)
            for key, st in found
            if is_listed(key)
        ]
        return sorted(out, key=lambda o: o.key)

    def list_dirs(self, prefix: str = "") -> builtins.list[str]:
        self._count("list")
        parts = _parts(prefix)
        with translate_errors(prefix):
            try:
                with self.folder.open_dir(parts) as d:
                    names = d.folders()
            except _ABSENT:
                return []
        return sorted(n for n in names if not is_hidden(n))

    # -- writes ----------------------------------------------------------------
    def write(self, key: str, data: bytes) -> str:
        self._count("write")
        folder, name = self._split(key)
        with translate_errors(key), self.folder.open_dir(folder, create=True) as d:
            d.write(name, data, fsync=True)
        return content_version(data)

    def write_if(self, key: str, data: bytes, version: str | None) -> str:
        self._count("write")
        folder, name = self._split(key)
        with translate_errors(key), self.folder.open_dir(folder, create=True) as d:
            if version is None:
                try:
                    d.create(name, data)
                except FileExistsError:
                    raise PreconditionFailedError(f"{key} exists already") from None
                return content_version(data)
            with d.lock(name):
                try:
                    current = content_version(d.read(name))
                except FileNotFoundError:
                    raise PreconditionFailedError(f"{key} was deleted meanwhile") from None
                if current != version:
                    raise PreconditionFailedError(f"{key} changed meanwhile")
                d.write(name, data, fsync=True)
        return content_version(data)

    @contextlib.contextmanager
    def open_write(self, key: str) -> Iterator[IO[bytes]]:
        self._count("write")
        folder, name = self._split(key)
        with translate_errors(key), self.folder.open_dir(folder, create=True) as d, d.writer(name) as f:
            yield f

    def delete(self, key: str) -> None:
        # The side lock file stays (see LocalFolder's Dir.lock).
        self._count("delete")
        folder, name = self._split(key)
        with contextlib.suppress(FileNotFoundError), translate_errors(key), self.folder.open_dir(folder) as d:
            d.unlink(name)

    def delete_prefix(self, prefix: str) -> None:
        self._count("delete")
        folder, name = self._split(check_prefix(prefix, allow_empty=False))
        with contextlib.suppress(FileNotFoundError), translate_errors(prefix), self.folder.open_dir(folder) as d:
            d.remove(name)

    def copy(self, src: str, dst: str) -> None:
        self._count("copy")
        self._copy_in(self, src, dst)

    def same_backend(self, other: Store) -> bool:
        return isinstance(other, LocalStore)

    def copy_from(self, other: Store, src: str, dst: str) -> None:
        if not isinstance(other, LocalStore):
            return super().copy_from(other, src, dst)
        self._copy_in(other, src, dst)

    def _copy_in(self, source: LocalStore, src: str, dst: str) -> None:
        """Copy ``src`` of ``source`` to ``dst`` here, without following links."""
        src_folder, src_name = self._split(src)
        dst_folder, dst_name = self._split(dst)
        with translate_errors(src), source.folder.open_dir(src_folder) as s, s.open_read(src_name) as reader:
            with self.folder.open_dir(dst_folder, create=True) as d, d.writer(dst_name) as writer:
                shutil.copyfileobj(reader, writer, _COPY_CHUNK)

    def probe_conditional_writes(self) -> bool:
        return True


def _parts(prefix: str) -> list[str]:
    prefix = check_prefix(prefix)
    return prefix.split("/") if prefix else []
