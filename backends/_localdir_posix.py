"""The POSIX implementation of a local folder: descriptors, ``O_NOFOLLOW``.

Every name is opened relative to a descriptor of its folder (``dir_fd``) with
``O_NOFOLLOW``, and renames, links, deletes and listings are made relative to
that descriptor, so the kernel refuses a link at the moment of use. Side locks
are ``flock``-ed. :data:`POSIX_READY` says whether the platform has every call.
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
from typing import TYPE_CHECKING

from ._localdir import Dir, check_name, is_link, refused, scan

if TYPE_CHECKING:
    from ._localfs import LocalFolder

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["PosixDir", "POSIX_READY"]

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
# An O_NOFOLLOW open of a link fails with ELOOP (Linux, macOS), EMLINK
# (FreeBSD) or EFTYPE (NetBSD).
_LINK_ERRNOS = {errno.ELOOP, errno.EMLINK, getattr(errno, "EFTYPE", errno.ELOOP)}

POSIX_READY = (
    os.name == "posix"
    and fcntl is not None
    and bool(_O_NOFOLLOW and _O_DIRECTORY)
    and {os.open, os.stat, os.mkdir, os.rename, os.unlink, os.link, os.utime} <= os.supports_dir_fd
    and os.scandir in os.supports_fd
)


class PosixDir(Dir):
    """A folder held open by a descriptor; every call is relative to it."""

    _DIR_FLAGS = os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC

    def __init__(self, folder: LocalFolder, fd: int, path: str) -> None:
        self.folder, self.fd, self.path = folder, fd, path

    @classmethod
    def at_root(cls, folder: LocalFolder) -> Dir:
        return cls(folder, os.open(folder.root, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC), folder.root)

    def _child(self, name: str) -> Dir:
        return PosixDir(self.folder, self._open_dir(name), os.path.join(self.path, name))

    def _mkdir(self, name: str) -> None:
        os.mkdir(check_name(name, False), dir_fd=self.fd)

    def _open_dir(self, name: str) -> int:
        try:
            return os.open(check_name(name, False), self._DIR_FLAGS, dir_fd=self.fd)
        except OSError as exc:
            # Linux answers ENOTDIR for a link opened with O_DIRECTORY|O_NOFOLLOW.
            if exc.errno in _LINK_ERRNOS or (exc.errno == errno.ENOTDIR and self._names_a_link(name)):
                raise refused(name) from exc
            raise

    def _names_a_link(self, name: str) -> bool:
        try:
            return is_link(self._lstat(name))
        except OSError:
            return False

    def close(self) -> None:
        os.close(self.fd)

    def _open(self, name: str, flags: int, mode: int = 0o666) -> int:
        try:
            return os.open(check_name(name, False), flags | _O_NOFOLLOW | _O_CLOEXEC, mode, dir_fd=self.fd)
        except OSError as exc:
            if exc.errno in _LINK_ERRNOS:
                raise refused(name) from exc
            raise

    def _lstat(self, name: str) -> os.stat_result:
        return os.stat(check_name(name, False), dir_fd=self.fd, follow_symlinks=False)

    def _rename(self, src: str, dst: str) -> None:
        os.replace(check_name(src, False), check_name(dst, False), src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def _link(self, src: str, dst: str) -> None:
        os.link(check_name(src, False), check_name(dst, False), src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def _unlink(self, name: str) -> None:
        os.unlink(check_name(name, False), dir_fd=self.fd)

    def _rmtree(self, name: str) -> None:
        if sys.version_info >= (3, 11):
            shutil.rmtree(check_name(name, False), dir_fd=self.fd)  # descriptor-based: never follows a link
        else:  # Python 3.10: by path below this folder, still link-safe below ``name``
            shutil.rmtree(os.path.join(self.path, name))

    def _entries(self) -> list[tuple[str, os.stat_result]]:
        return scan(self.fd)

    def _utime(self, name: str) -> None:
        os.utime(check_name(name, False), dir_fd=self.fd, follow_symlinks=False)

    def _lock_fd(self, fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _unlock_fd(self, fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
