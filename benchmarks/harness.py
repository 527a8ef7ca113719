"""Measuring: interleaved runs of contenders, medians, peak memory of a process.

Every figure in the report is the median of several runs. Contenders that are
compared run side by side: run ``i`` starts with a different contender each
time, so a slow phase of a loaded machine touches all of them alike.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Series", "interleave", "ProcMemory", "Stopwatch"]

Contender = Callable[[], "dict[str, Any] | None"]
"""One run of a contender. It may return measures of its own; a ``seconds``
entry replaces the wall time of the whole call (for runs with untimed setup)."""


@dataclass
class Series:
    """The samples of one contender."""

    name: str
    samples: list[dict[str, Any]] = field(default_factory=list)

    def values(self, key: str = "seconds") -> list[float]:
        """Every sample's ``key``, for the samples that have it."""
        return [float(s[key]) for s in self.samples if s.get(key) is not None]

    def median(self, key: str = "seconds") -> float | None:
        """Median of ``key`` over the runs (``None`` when never measured)."""
        vals = self.values(key)
        return statistics.median(vals) if vals else None

    def spread(self, key: str = "seconds") -> tuple[float, float] | None:
        """(min, max) of ``key``."""
        vals = self.values(key)
        return (min(vals), max(vals)) if vals else None


class Stopwatch:
    """Times the part of a run inside ``with watch:``; the rest is setup."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self) -> "Stopwatch":
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds += time.perf_counter() - self._start


def interleave(runs: int, contenders: dict[str, Contender]) -> dict[str, Series]:
    """Run every contender ``runs`` times, rotating which one goes first.

    Before each run the page cache's dirty data is written out (``sync``),
    so one run's disk writes are not paid for by the next one.
    """
    names = list(contenders)
    out = {n: Series(n) for n in names}
    for i in range(runs):
        k = i % len(names)
        for name in names[k:] + names[:k]:
            os.sync()
            start = time.perf_counter()
            extra = contenders[name]() or {}
            sample = {"seconds": time.perf_counter() - start, **extra}
            out[name].samples.append(sample)
    return out


class ProcMemory:
    """Resident memory of a process, read from ``/proc/<pid>/status``.

    The peak (``VmHWM``) can be reset by writing ``5`` to
    ``/proc/<pid>/clear_refs`` (Linux 4.0+), so the growth during one
    operation is measurable in a long-lived server process.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def _field_kb(self, name: str) -> int:
        with open(f"/proc/{self.pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(name + ":"):
                    return int(line.split()[1])
        raise RuntimeError(f"no {name} in /proc/{self.pid}/status")

    def rss_mb(self) -> float:
        """Current resident set size in MiB."""
        return self._field_kb("VmRSS") / 1024

    def peak_mb(self) -> float:
        """Peak resident set size in MiB since start or the last reset."""
        return self._field_kb("VmHWM") / 1024

    def reset_peak(self) -> bool:
        """Reset the peak to the current RSS; ``False`` where the kernel refuses."""
        try:
            with open(f"/proc/{self.pid}/clear_refs", "w", encoding="ascii") as f:
                f.write("5")
            return True
        except OSError:
            return False

    @contextlib.contextmanager
    def growth(self, into: dict[str, Any], key: str = "peak_growth_mb") -> Iterator[None]:
        """Record in ``into[key]`` how far the peak rose above the RSS at entry."""
        before = self.rss_mb()
        reset = self.reset_peak()
        yield
        peak = self.peak_mb()
        into[key] = max(peak - before, 0.0) if reset else None
        into["peak_mb"] = peak
        into["rss_before_mb"] = before
