"""Size bounds for local cache folders: least-recently-used eviction on disk.

A cache folder holds entries at ``<folder>/<2 hex>/<64 hex>``. Recency is the
entry's modification time, refreshed on every hit, so several
processes sharing a folder share one notion of recency without an index.

The common path is cheap: a hit is one ``utime``; a write adds its size to
an in-process running total. The folder is scanned (a *sweep*) only on a
process's first write to it, when the running total passes the bound, or
every :data:`SWEEP_EVERY` writes (to see what other processes added). A
sweep removes the oldest entries until the folder holds at most
:data:`LOW_WATER` of the bound, so sweeps are rare even when the cache is full.

Safety
------
A sweep only removes regular files (never symlinks, never folders) whose
names are cache tokens or this module's temporary files, found directly in
two-hex-digit subfolders of the cache folder that are not symlinks; every
folder is reached without following links (:mod:`backends._localfs`), so a
shard swapped for a link during a sweep is skipped, not followed. Files
that vanish while a sweep runs (another process's sweep) are skipped.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ._layers import TEMP_SUFFIX, InvalidKeyError, LocalFolder, open_folder

__all__ = ["SizeBound", "SweepResult", "sweep", "LOW_WATER", "SWEEP_EVERY", "TEMP_SUFFIX"]

LOW_WATER = 0.9
"""A sweep evicts down to this fraction of the bound."""
SWEEP_EVERY = 256
"""Writes between sweeps, at most, even while the running total is under the bound."""
STALE_TEMP_SECONDS = 3600.0
"""A temporary file older than this is the leftover of a crashed writer."""

_SHARD = re.compile(r"[0-9a-f]{2}")
_TOKEN = re.compile(r"[0-9a-f]{64}")

Limit = Callable[[], int]


@dataclass(frozen=True)
class SweepResult:
    """What a sweep found and did: bytes and entries left, entries removed."""

    kept_bytes: int
    kept: int
    removed: int


def _shards(folder: LocalFolder) -> list[str]:
    """Names of the two-hex-digit sub-folders that are folders, not links."""
    try:
        with folder.open_dir([]) as d:
            return [name for name in d.folders() if _SHARD.fullmatch(name)]
    except FileNotFoundError:
        return []


def _entries(folder: LocalFolder, shard: str) -> list[tuple[float, int, str, bool]]:
    """``(mtime, size, name, is_temp)`` of the cache files in one shard folder."""
    try:
        with folder.open_dir([shard]) as d:
            files = d.files()
    except (FileNotFoundError, NotADirectoryError, InvalidKeyError):
        return []  # removed, or swapped for a link, since the listing
    found = []
    for name, st in files:
        temp = name.endswith(TEMP_SUFFIX)
        if temp or _TOKEN.fullmatch(name):
            found.append((st.st_mtime, st.st_size, name, temp))
    return found


def _remove(folder: LocalFolder, shard: str, name: str) -> bool:
    try:
        with folder.open_dir([shard]) as d:
            d.unlink(name)
        return True  # removed, or another sweep got there first
    except FileNotFoundError:
        return True
    except (OSError, InvalidKeyError):
        return False  # e.g. open elsewhere on Windows, or the shard is now a link: keep it


def sweep(folder: str | os.PathLike[str], max_bytes: int, target: int | None = None) -> SweepResult:
    """Remove the least recently used entries of ``folder`` until at most
    ``target`` bytes remain (default: :data:`LOW_WATER` of ``max_bytes``),
    but only when it holds more than ``max_bytes``.

    Stale temporary files are removed in any case. Each removal is one
    ``unlink``; readers that lose an entry fetch it again.
    """
    target = int(max_bytes * LOW_WATER) if target is None else target
    stale_before = time.time() - STALE_TEMP_SECONDS
    files = open_folder(os.fspath(folder))
    entries, removed = [], 0
    for shard in _shards(files):
        for mtime, size, name, temp in _entries(files, shard):
            if not temp:
                entries.append((mtime, size, shard, name))
            elif mtime < stale_before:
                removed += _remove(files, shard, name)
    total, kept = sum(e[1] for e in entries), len(entries)
    if total > max_bytes:
        for _mtime, size, shard, name in sorted(entries):
            if total <= target:
                break
            if _remove(files, shard, name):
                total, kept, removed = total - size, kept - 1, removed + 1
    return SweepResult(total, kept, removed)


class _FolderState:
    """The running total of one folder in this process (shared by every
    :class:`SizeBound` on it)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sweeping = threading.Lock()
        self.total: int | None = None  # unknown until the first sweep
        self.writes = 0


_states: dict[str, _FolderState] = {}
_states_lock = threading.Lock()


def _state(folder: Path) -> _FolderState:
    key = os.path.abspath(folder)
    with _states_lock:
        return _states.setdefault(key, _FolderState())


class SizeBound:
    """Keeps a cache folder under a size bound.

    Parameters
    ----------
    folder
        The cache folder (entries at ``<folder>/<2 hex>/<token>``).
    max_bytes
        The bound in bytes, or a zero-argument callable giving it (called
        once, on first use, so a configuration is read lazily). ``0`` means
        "cache nothing".
    """

    def __init__(self, folder: str | os.PathLike[str], max_bytes: int | Limit) -> None:
        self.folder = Path(folder)
        self._limit = max_bytes
        self._state = _state(self.folder)

    @property
    def max_bytes(self) -> int:
        """The bound in bytes (resolved on first use)."""
        if callable(self._limit):
            self._limit = int(self._limit())
        return self._limit

    def admits(self, size: int) -> bool:
        """Whether an entry of ``size`` bytes is worth writing (it fits the bound)."""
        limit = self.max_bytes
        return limit > 0 and size <= limit * LOW_WATER

    def added(self, size: int) -> None:
        """Account for a new entry of ``size`` bytes; sweeps the folder when the
        running total passes the bound or every :data:`SWEEP_EVERY` writes."""
        state = self._state
        with state.lock:
            state.writes += 1
            if state.total is not None:
                state.total += size
            due = state.total is None or state.total > self.max_bytes or state.writes >= SWEEP_EVERY
        if due:
            self.sweep()

    def sweep(self) -> SweepResult | None:
        """Sweep now, unless another thread of this process is sweeping this
        folder (then ``None``)."""
        state = self._state
        if not state.sweeping.acquire(blocking=False):
            return None
        try:
            result = sweep(self.folder, self.max_bytes)
            with state.lock:
                state.total, state.writes = result.kept_bytes, 0
            return result
        finally:
            state.sweeping.release()
