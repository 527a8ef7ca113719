"""The portable implementation of a local folder: paths, checked around every open.

What runs on Windows (and can be forced elsewhere): each name on the way is
``lstat``-ed (a link or junction is refused), the file is opened, and the open
file must be the one the ``lstat`` saw, and every folder on the way must still
be the folder checked before. New files are made with ``O_EXCL``. Side locks
use ``filelock`` on the descriptor (``LockFileEx`` on Windows). A busy target
of a rename or delete on Windows is retried for about a second
(:func:`retry_busy`). See :mod:`backends._localfs` for what this does not
guarantee.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._errors import InvalidKeyError
from ._localdir import O_BINARY, Dir, check_name, is_link, refused, scan

if TYPE_CHECKING:
    from ._localfs import LocalFolder

__all__ = ["PortableDir", "retry_busy"]

_BUSY_WINERRORS = {5, 32}  # ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION
_LOCK_POLL_SECONDS = 0.005


def retry_busy(op: Callable[..., Any], *args: Any, attempts: int = 9, first_wait: float = 0.005) -> Any:
    """``op(*args)``, retried while Windows reports its target busy (another
    process has it open): about one second in all, then the error."""
    for attempt in range(attempts - 1):
        try:
            return op(*args)
        except PermissionError as exc:
            if getattr(exc, "winerror", None) not in _BUSY_WINERRORS:
                raise
        time.sleep(min(first_wait * 2**attempt, 0.25))
    return op(*args)


_REPLACED_RETRIES = 16
"""Opens retried when the name got another file between the check and the
open: a writer's atomic replace, legitimately (a link is refused at once)."""


class _Replaced(InvalidKeyError):
    """The name was given another file between its check and its open."""


class PortableDir(Dir):
    """A folder named by its path, with the identity of every folder on the
    way from the root, checked again around each operation."""

    def __init__(self, folder: LocalFolder, chain: list[tuple[str, os.stat_result]]) -> None:
        self.folder, self.chain = folder, chain
        self.path = chain[-1][0]

    @classmethod
    def at_root(cls, folder: LocalFolder) -> Dir:
        st = os.stat(folder.root)  # the root may be a link: configuration
        if not stat.S_ISDIR(st.st_mode):
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", folder.root)
        return cls(folder, [(folder.root, st)])

    def _child(self, name: str) -> Dir:
        path = self._full(name)
        self._verify()
        st = os.lstat(path)
        if is_link(st):
            raise refused(name)
        if not stat.S_ISDIR(st.st_mode):
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", path)
        return PortableDir(self.folder, [*self.chain, (path, st)])

    def _mkdir(self, name: str) -> None:
        self._verify()
        os.mkdir(self._full(name))

    def _verify(self) -> None:
        """Every folder on the way is still the one checked when reached."""
        for i, (path, seen) in enumerate(self.chain):
            try:
                now = os.stat(path) if i == 0 else os.lstat(path)
            except FileNotFoundError:
                raise InvalidKeyError(f"{path!r} was moved while in use") from None
            if is_link(now) or not os.path.samestat(now, seen):
                raise InvalidKeyError(f"{path!r} was replaced while in use")

    def _full(self, name: str) -> str:
        return os.path.join(self.path, check_name(name, True))

    def _open(self, name: str, flags: int, mode: int = 0o666) -> int:
        path = self._full(name)
        self._verify()
        if flags & os.O_CREAT:
            try:
                return self._verified(os.open(path, flags | os.O_EXCL | O_BINARY, mode))  # O_EXCL never follows a link
            except FileExistsError:
                if flags & os.O_EXCL:
                    raise
        for _ in range(_REPLACED_RETRIES):
            st = os.lstat(path)
            if is_link(st):
                raise refused(name)
            try:
                return self._verified(os.open(path, (flags & ~os.O_CREAT) | O_BINARY), st, name)
            except _Replaced:
                continue  # another writer renamed a new file over it: look again
        raise InvalidKeyError(f"{name!r} was replaced again and again while being opened")

    def _verified(self, fd: int, seen: os.stat_result | None = None, name: str = "") -> int:
        """``fd`` if it is the file ``seen`` (when given) and the folders on the
        way are unchanged; else it is closed and the open refused."""
        try:
            if seen is not None and not os.path.samestat(seen, os.fstat(fd)):
                raise _Replaced(f"{name!r} was replaced while being opened")
            self._verify()
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _lstat(self, name: str) -> os.stat_result:
        self._verify()
        return os.lstat(self._full(name))

    def _rename(self, src: str, dst: str) -> None:
        self._verify()
        retry_busy(os.replace, self._full(src), self._full(dst))

    def _link(self, src: str, dst: str) -> None:
        self._verify()
        os.link(self._full(src), self._full(dst))

    def _unlink(self, name: str) -> None:
        path = self._full(name)
        st = self._lstat(name)
        if is_link(st) and getattr(st, "st_file_attributes", 0) & stat.FILE_ATTRIBUTE_DIRECTORY:
            retry_busy(os.rmdir, path)  # a Windows link to a folder, or a junction
        else:
            retry_busy(os.unlink, path)

    def _rmtree(self, name: str) -> None:
        self._verify()
        shutil.rmtree(self._full(name))  # removes links and junctions below, never their targets

    def _entries(self) -> list[tuple[str, os.stat_result]]:
        self._verify()
        return scan(self.path)

    def _utime(self, name: str) -> None:
        self._verify()
        os.utime(self._full(name))

    def _lock_fd(self, fd: int) -> None:
        from filelock import lock_descriptor

        lock_descriptor(fd, poll_interval=_LOCK_POLL_SECONDS)

    def _unlock_fd(self, fd: int) -> None:
        from filelock import unlock_descriptor

        unlock_descriptor(fd)
