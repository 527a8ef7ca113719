"""Progress reporting for long operations (export, import, copy, duplicate, seed).

A progress callback (:data:`Progress`) is called as ``progress(files_done,
files_total, bytes_done, bytes_total)``: once with nothing done before the
first file, then after each file. It runs in the thread that started the
operation; an exception it raises aborts the operation, which then cleans up
like any other failure.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import IO

__all__ = ["Progress", "Tracker", "TerminalBar", "format_bytes"]

Progress = Callable[[int, int, int, int], None]
"""``progress(files_done, files_total, bytes_done, bytes_total)``."""


class Tracker:
    """Counts files and bytes done and forwards them to an optional callback.

    Parameters
    ----------
    progress
        The callback, or ``None`` to only count.
    files_total, bytes_total
        The totals announced with every call.
    """

    def __init__(self, progress: Progress | None, files_total: int, bytes_total: int) -> None:
        self.progress = progress
        self.files_total = files_total
        self.bytes_total = bytes_total
        self.files_done = 0
        self.bytes_done = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        """Announce the totals before any work (``0`` of each done)."""
        self._emit()

    def file_done(self, size: int) -> None:
        """Count one finished file of ``size`` bytes and report."""
        with self._lock:
            self.files_done += 1
            self.bytes_done += size
        self._emit()

    def _emit(self) -> None:
        if self.progress is not None:
            self.progress(self.files_done, self.files_total, self.bytes_done, self.bytes_total)


def format_bytes(n: float) -> str:
    """``n`` bytes as a short human-readable size (``1.5 MB``)."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover - loop always returns


class TerminalBar:
    """A one-line progress bar on a terminal stream; a progress callback.

    Redraws at most ten times a second and once more at the end. Use it only
    when the output is a terminal; :meth:`close` ends the line.
    """

    def __init__(self, label: str, stream: IO[str] | None = None, width: int = 28) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self._last = 0.0
        self._drawn = False

    def __call__(self, files_done: int, files_total: int, bytes_done: int, bytes_total: int) -> None:
        now = time.monotonic()
        final = files_done >= files_total
        if not final and now - self._last < 0.1:
            return
        self._last = now
        frac = bytes_done / bytes_total if bytes_total else (files_done / files_total if files_total else 1.0)
        fill = int(self.width * min(max(frac, 0.0), 1.0))
        bar = "#" * fill + "-" * (self.width - fill)
        text = f"\r{self.label} [{bar}] {files_done}/{files_total} files, "
        text += f"{format_bytes(bytes_done)} of {format_bytes(bytes_total)}"
        self.stream.write(text)
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """End the bar's line (if anything was drawn)."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
