"""One open folder below a local root: the logic both implementations share.

A :class:`Dir` names the entries of one folder reached without following
links (see :mod:`backends._localfs`). The subclasses in
:mod:`backends._localdir_posix` and :mod:`backends._localdir_portable` supply
a few primitives (open, lstat, rename, link, unlink...); reading, writing
through a temporary file, create-only writes, side locks and removal are
written once here, so both implementations run the same logic.
"""

from __future__ import annotations

import abc
import contextlib
import errno
import os
import stat
import uuid
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

from ._errors import InvalidKeyError
from ._keys import TEMP_SUFFIX

if TYPE_CHECKING:
    from ._localfs import LocalFolder

__all__ = ["Dir", "TEMP_SUFFIX", "check_name", "is_link", "refused", "scan", "O_BINARY", "O_NONBLOCK"]

O_BINARY = getattr(os, "O_BINARY", 0)
O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
# link(2) on a file system without hard links (FAT, some network shares).
_NO_LINK_ERRNOS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EXDEV}
_NO_LINK_WINERRORS = {1, 50}  # ERROR_INVALID_FUNCTION, ERROR_NOT_SUPPORTED
_NAME_SURROGATE = 0x20000000  # Windows reparse tags of links and junctions
_WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{dev}{n}" for dev in ("COM", "LPT") for n in [*"123456789", "\u00b9", "\u00b2", "\u00b3"]
}


def is_link(st: os.stat_result) -> bool:
    """A symbolic link, or a Windows junction (a "name surrogate" reparse point)."""
    return stat.S_ISLNK(st.st_mode) or bool(getattr(st, "st_reparse_tag", 0) & _NAME_SURROGATE)


def refused(name: str) -> InvalidKeyError:
    """The error for a name that is a link."""
    return InvalidKeyError(f"{name!r} is a link: links in a local store are never followed")


def check_name(name: str, portable: bool) -> str:
    """``name`` if it is a plain file name (on Windows too, if ``portable``)."""
    bad = not name or name in (".", "..") or any(c in name for c in "/\\\0")
    if portable and not bad:
        stem = name.split(".")[0].rstrip(" ").upper()
        bad = ":" in name or name[-1] in ". " or stem in _WINDOWS_DEVICES
    if bad:
        raise InvalidKeyError(f"{name!r} is not a valid file name here")
    return name


class Dir(abc.ABC):
    """One open folder below the root: operations on the names in it.

    Subclasses supply the primitives (``_open``, ``_lstat``, ``_rename``...);
    everything else is shared, so both implementations run the same logic.
    """

    folder: LocalFolder

    # -- primitives (each implementation) ---------------------------------------
    @classmethod
    @abc.abstractmethod
    def at_root(cls, folder: LocalFolder) -> Dir:
        """The root folder of ``folder`` (which may itself be a link)."""

    @abc.abstractmethod
    def _child(self, name: str) -> Dir:
        """The existing sub-folder ``name`` (refused if a link)."""

    @abc.abstractmethod
    def _mkdir(self, name: str) -> None:
        """Make the sub-folder ``name``."""

    def close(self) -> None:
        """Release the folder's descriptor, if any."""

    @abc.abstractmethod
    def _open(self, name: str, flags: int, mode: int = 0o666) -> int:
        """A descriptor of ``name``; never through a link (refused). With
        ``O_CREAT`` the file is made if absent, never at a link's target."""

    @abc.abstractmethod
    def _lstat(self, name: str) -> os.stat_result:
        """``lstat`` of ``name`` (a link is described, not followed)."""

    @abc.abstractmethod
    def _rename(self, src: str, dst: str) -> None:
        """Rename ``src`` over ``dst`` (replacing ``dst``, never its target)."""

    @abc.abstractmethod
    def _link(self, src: str, dst: str) -> None:
        """Hard-link ``src`` as ``dst``; :class:`FileExistsError` if taken."""

    @abc.abstractmethod
    def _unlink(self, name: str) -> None:
        """Remove the file or link ``name``."""

    @abc.abstractmethod
    def _rmtree(self, name: str) -> None:
        """Remove the folder ``name`` and everything below, following no link."""

    @abc.abstractmethod
    def _entries(self) -> list[tuple[str, os.stat_result]]:
        """``(name, lstat)`` of everything in the folder."""

    @abc.abstractmethod
    def _utime(self, name: str) -> None:
        """Set the modification time of ``name`` to now."""

    @abc.abstractmethod
    def _lock_fd(self, fd: int) -> None:
        """Wait for the exclusive lock of the open file ``fd``."""

    @abc.abstractmethod
    def _unlock_fd(self, fd: int) -> None:
        """Release the lock of ``fd``."""

    # -- folders ----------------------------------------------------------------
    def child(self, name: str, create: bool = False) -> Dir:
        """The sub-folder ``name`` (refused if a link; made if ``create``);
        the caller closes it."""
        try:
            return self._child(name)
        except FileNotFoundError:
            if not create:
                raise
        with contextlib.suppress(FileExistsError):
            self._mkdir(name)
        return self._child(name)

    # -- reads ------------------------------------------------------------------
    def stat(self, name: str) -> os.stat_result:
        """``lstat`` of the regular file ``name``: a link is refused, anything
        else that is not a regular file is :class:`FileNotFoundError`."""
        st = self._lstat(name)
        if is_link(st):
            raise refused(name)
        if not stat.S_ISREG(st.st_mode):
            raise FileNotFoundError(errno.ENOENT, "not a file", name)
        return st

    def open_read(self, name: str) -> IO[bytes]:
        """A binary reader of the regular file ``name`` (the caller closes it)."""
        fd = self._open(name, os.O_RDONLY | O_NONBLOCK)
        try:
            _must_be_regular(fd, name)
            if O_NONBLOCK:
                os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return os.fdopen(fd, "rb")

    def read(self, name: str) -> bytes:
        with self.open_read(name) as f:
            return f.read()

    def files(self) -> list[tuple[str, os.stat_result]]:
        """``(name, lstat)`` of the regular files in the folder."""
        return [(n, st) for n, st in self._entries() if stat.S_ISREG(st.st_mode) and not is_link(st)]

    def folders(self) -> list[str]:
        """Names of the sub-folders that are not links."""
        return [n for n, st in self._entries() if stat.S_ISDIR(st.st_mode) and not is_link(st)]

    def touch(self, name: str) -> None:
        """Set the modification time of ``name`` to now (a link is left alone)."""
        self.stat(name)
        self._utime(name)

    # -- writes -----------------------------------------------------------------
    @contextlib.contextmanager
    def writer(self, name: str, *, mode: int = 0o666, fsync: bool = False) -> Iterator[IO[bytes]]:
        """Stream into a temporary file that replaces ``name`` when the block
        ends without error (the commit point: one rename); removed on error.
        ``mode`` is filtered by the umask, as for any new file."""
        self._refuse_link(name)
        tmp = f"{name}.{uuid.uuid4().hex}{TEMP_SUFFIX}"
        fd = self._open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            with os.fdopen(fd, "wb") as f:
                yield f
                f.flush()
                if fsync:
                    os.fsync(f.fileno())
            self._rename(tmp, name)
        except BaseException:
            with contextlib.suppress(OSError):
                self._unlink(tmp)
            raise

    def write(self, name: str, data: bytes, *, mode: int = 0o666, fsync: bool = False) -> None:
        """Replace ``name`` whole (temporary file, then rename)."""
        with self.writer(name, mode=mode, fsync=fsync) as f:
            f.write(data)

    def create(self, name: str, data: bytes, *, mode: int = 0o666) -> None:
        """Write ``name`` only if nothing is there: :class:`FileExistsError`
        otherwise. Readers see nothing or the whole file.

        With hard links: a complete temporary file is linked to ``name`` (the
        link fails if the name exists). Without (FAT, some shares): under the
        side lock of ``name``, a check that it is absent and a rename.
        """
        if self.folder.links and self._create_by_link(name, data, mode):
            return
        with self.lock(name):
            if self._exists(name):
                raise FileExistsError(errno.EEXIST, "exists already", name)
            self.write(name, data, mode=mode)

    def _exists(self, name: str) -> bool:
        """Whether anything (file, folder, link) is at ``name``."""
        try:
            self._lstat(name)
        except FileNotFoundError:
            return False
        return True

    def _create_by_link(self, name: str, data: bytes, mode: int) -> bool:
        tmp = f"{name}.{uuid.uuid4().hex}{TEMP_SUFFIX}"
        fd = self._open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            self._link(tmp, name)
            return True
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in _NO_LINK_ERRNOS and getattr(exc, "winerror", None) not in _NO_LINK_WINERRORS:
                raise
            self.folder.links = False  # this file system has no hard links
            return False
        finally:
            with contextlib.suppress(OSError):
                self._unlink(tmp)

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """Hold the exclusive lock of the side file ``.<name>.lock`` (made if
        absent; refused if it is a link). The side file stays afterwards:
        removing it while another writer waits on it would let a third lock
        a new file at the same time."""
        lock_name = f".{name}.lock"
        fd = self._open(lock_name, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _must_be_regular(fd, lock_name)
            self._lock_fd(fd)
            try:
                yield
            finally:
                self._unlock_fd(fd)
        finally:
            os.close(fd)

    def unlink(self, name: str) -> None:
        """Remove the file (or link) ``name``; absent is not an error."""
        with contextlib.suppress(FileNotFoundError):
            self._unlink(name)

    def remove(self, name: str) -> None:
        """Remove ``name`` whatever it is: a link (never what it points to), a
        folder with everything below it, or a file. Absent is not an error."""
        try:
            st = self._lstat(name)
        except FileNotFoundError:
            return
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISDIR(st.st_mode) and not is_link(st):
                self._rmtree(name)
            else:
                self._unlink(name)

    def _refuse_link(self, name: str) -> None:
        try:
            st = self._lstat(name)
        except FileNotFoundError:
            return
        if is_link(st):
            raise refused(name)


def scan(folder: int | str) -> list[tuple[str, os.stat_result]]:
    """``(name, lstat)`` of the entries of a folder (descriptor or path);
    entries that vanish meanwhile are left out."""
    out = []
    with os.scandir(folder) as it:
        for entry in it:
            with contextlib.suppress(FileNotFoundError):
                out.append((entry.name, entry.stat(follow_symlinks=False)))
    return out


def _must_be_regular(fd: int, name: str) -> None:
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        raise FileNotFoundError(errno.ENOENT, "not a file", name)
