"""Files below a local folder, reached without following links.

A :class:`LocalFolder` reaches what lies below its root one name at a time and
never follows a symbolic link (nor, on Windows, a junction) below the root:
an object, a folder, a side lock or a temporary file that is a link is refused,
and nothing is ever read, written or created through one. The root itself is
configuration: it may be a link.

Two implementations share everything above the few calls that differ (the
shared logic is :class:`~backends._localdir.Dir`; the implementations are in
:mod:`backends._localdir_posix` and :mod:`backends._localdir_portable`):

``posix`` (Linux, macOS, the BSDs)
    Every name is opened relative to a descriptor of its folder (``dir_fd``)
    with ``O_NOFOLLOW``, and renames, links, deletes and listings are made
    relative to that descriptor. The kernel refuses a link at the moment of
    the open, so swapping a name for a link between any check and its use
    cannot redirect it. Side locks are ``flock``-ed.

``portable`` (Windows; can be forced elsewhere, see :func:`open_folder`)
    Plain paths, with a check around every open: each name on the way is
    ``lstat``-ed (a link or junction is refused), the file is opened, and the
    open file must be the one the ``lstat`` saw (device and inode; on Windows
    volume serial and file index), and every folder on the way must still be
    the folder checked before. New files are made with ``O_EXCL``, which
    never follows a link at the name. Side locks use ``filelock`` on the
    descriptor (``LockFileEx`` on Windows). A busy target of a rename or
    delete on Windows is retried for about a second.

    What the portable checks do *not* guarantee: a folder on the way that is
    swapped for a link *and back* between the checks before and after one
    open is not detected; a folder created on the way (``mkdir``) while its
    parent is swapped for a link is created at the link's target. On Windows
    making links needs a privilege (or developer mode) that junctions do not.

Both implementations refuse names that are not plain file names; the portable
one also refuses Windows device names (``NUL``, ``COM1``...), names with a
``:`` (alternate data streams) and names ending in a dot or a space.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence

from ._errors import InvalidKeyError, StoreConfigError
from ._localdir import TEMP_SUFFIX, Dir, check_name
from ._localdir_portable import PortableDir, retry_busy
from ._localdir_posix import POSIX_READY, PosixDir

__all__ = ["LocalFolder", "Dir", "open_folder", "retry_busy", "IMPL_ENV", "TEMP_SUFFIX"]

IMPL_ENV = "POOLSTORE_LOCAL_IMPL"
"""Environment switch read when a folder is opened: ``posix``, ``portable`` or empty (by platform)."""


def open_folder(root: str, portable: bool | None = None) -> LocalFolder:
    """The files below ``root``, reached without following links.

    Parameters
    ----------
    root
        An absolute folder path (made on the first write if missing).
    portable
        ``True`` forces the portable implementation (what runs on Windows),
        ``False`` the POSIX one; ``None`` reads :data:`IMPL_ENV` and falls back
        to what the platform offers.
    """
    if portable is None:
        choice = os.environ.get(IMPL_ENV, "").strip().lower()
        if choice not in ("", "posix", "portable"):
            raise StoreConfigError(f"{IMPL_ENV} must be 'posix' or 'portable', not {choice!r}")
        portable = choice == "portable" or not POSIX_READY
    if not portable and not POSIX_READY:
        raise StoreConfigError("this platform lacks the calls of the POSIX implementation")
    return LocalFolder(root, portable=portable)


class LocalFolder:
    """The files below ``root``; use :func:`open_folder` to make one.

    Attributes
    ----------
    portable
        Which implementation runs (see the module docstring).
    links
        Whether create-only writes use hard links; turned off for good when
        the file system refuses them (then they run under the side lock).
    """

    def __init__(self, root: str, *, portable: bool) -> None:
        self.root = root
        self.portable = portable
        self.links = hasattr(os, "link")

    def __repr__(self) -> str:
        return f"<LocalFolder {self.root} {'portable' if self.portable else 'posix'}>"

    @contextlib.contextmanager
    def open_dir(self, parts: Sequence[str], create: bool = False) -> Iterator[Dir]:
        """The folder ``root/parts...``, reached name by name (made if ``create``)."""
        for name in parts:
            check_name(name, self.portable)
        if create:
            os.makedirs(self.root, exist_ok=True)
        cls = PortableDir if self.portable else PosixDir
        d: Dir = cls.at_root(self)
        try:
            for name in parts:
                child = d.child(name, create)
                d.close()
                d = child
            yield d
        finally:
            d.close()

    def walk(self, parts: Sequence[str]) -> list[tuple[str, os.stat_result]]:
        """``(key, lstat)`` of every regular file below ``parts``, keys relative
        to the root; folders that are links or start with ``.`` are skipped."""
        out: list[tuple[str, os.stat_result]] = []
        with self.open_dir(parts) as d:
            self._walk(d, "/".join(parts), out)
        return out

    def _walk(self, d: Dir, prefix: str, out: list[tuple[str, os.stat_result]]) -> None:
        below = f"{prefix}/" if prefix else ""
        out.extend((below + name, st) for name, st in d.files())
        for sub in d.folders():
            if sub.startswith("."):
                continue
            try:
                child = d.child(sub, False)
            except (FileNotFoundError, NotADirectoryError, InvalidKeyError):
                continue  # removed, or swapped for a link, since the listing
            try:
                self._walk(child, below + sub, out)
            finally:
                child.close()
