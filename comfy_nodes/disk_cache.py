"""Size bounds for local cache folders: least-recently-used eviction on disk.

A cache folder holds entries at ``<folder>/<2 hex>/<64 hex>``. Recency is the
entry's modification time, refreshed on every hit (:func:`touch`), so several
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
two-hex-digit subfolders of the cache folder that are not symlinks. Files
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

__all__ = ["SizeBound", "SweepResult", "sweep", "touch", "LOW_WATER", "SWEEP_EVERY", "TEMP_SUFFIX"]

LOW_WATER = 0.9
"""A sweep evicts down to this fraction of the bound."""
SWEEP_EVERY = 256
"""Writes between sweeps, at most, even while the running total is under the bound."""
TEMP_SUFFIX = ".partial"
"""Suffix of temporary files written before the rename into place."""
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


def touch(path: Path) -> None:
    """Mark ``path`` as just used (best effort: a vanished file is ignored)."""
    try:
        os.utime(path)
    except OSError:
        pass


def _shards(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as it:
            return [e for e in it if _SHARD.fullmatch(e.name) and e.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return []


def _entries(shard: os.DirEntry[str]) -> list[tuple[float, int, str, bool]]:
    """``(mtime, size, path, is_temp)`` of the cache files in one shard folder."""
    found = []
    try:
        with os.scandir(shard.path) as it:
            for e in it:
                temp = e.name.endswith(TEMP_SUFFIX)
                if not (temp or _TOKEN.fullmatch(e.name)) or not e.is_file(follow_symlinks=False):
                    continue
                try:
                    st = e.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                found.append((st.st_mtime, st.st_size, e.path, temp))
    except (FileNotFoundError, NotADirectoryError):
        pass
    return found


def _remove(path: str) -> bool:
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return True  # another sweep got there first
    except OSError:
        return False  # e.g. open elsewhere on Windows: keep it


def sweep(folder: str | os.PathLike[str], max_bytes: int, target: int | None = None) -> SweepResult:
    """Remove the least recently used entries of ``folder`` until at most
    ``target`` bytes remain (default: :data:`LOW_WATER` of ``max_bytes``),
    but only when it holds more than ``max_bytes``.

    Stale temporary files are removed in any case. Each removal is one
    ``unlink``; readers that lose an entry fetch it again.
    """
    target = int(max_bytes * LOW_WATER) if target is None else target
    stale_before = time.time() - STALE_TEMP_SECONDS
    entries, removed = [], 0
    for shard in _shards(Path(folder)):
        for mtime, size, path, temp in _entries(shard):
            if not temp:
                entries.append((mtime, size, path))
            elif mtime < stale_before:
                removed += _remove(path)
    total, kept = sum(size for _m, size, _p in entries), len(entries)
    if total > max_bytes:
        for _mtime, size, path in sorted(entries):
            if total <= target:
                break
            if _remove(path):
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
