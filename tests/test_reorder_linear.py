"""Reorder costs time linear in the pool's size, not quadratic.

Proved without timing: the slot lookups a reorder makes are counted, at two
sizes; a quadratic reorder makes n²/2 of them. Plus the case of the report:
a reorder of a 100,000-slot pool by image name must finish well inside a
generous timeout that the quadratic version (minutes) cannot meet. Real
figures belong in the benchmarks.
"""

from __future__ import annotations

import json
import time

import pytest

import backends
from poolstore import Pool


class _CountingSlot(dict):
    """A slot that counts how often its fields are read (shared counter)."""

    reads = 0

    def __getitem__(self, key):
        type(self).reads += 1
        return super().__getitem__(key)


def _manifest(n: int) -> dict:
    slots = [{"image": f"img_{i:06d}.png", "mask": None, "label": "", "added": 1} for i in range(1, n + 1)]
    return {"active": n // 2, "next_seq": n + 1, "slots": slots}


@pytest.fixture
def memory_store():
    store = backends.open_store(f"memory://reorder-{time.monotonic_ns()}")
    yield store
    for folder in store.list_dirs():
        store.delete_prefix(folder)


def _slot_reads_of_a_reorder(store, n: int, monkeypatch) -> int:
    pool = Pool(store, f"p{n}")
    store.write(pool.manifest_key, json.dumps(_manifest(n)).encode())
    real_load = pool._load

    def counting_load(raw):
        m = real_load(raw)
        return {**m, "slots": [_CountingSlot(s) for s in m["slots"]]}

    monkeypatch.setattr(pool, "_load", counting_load)
    order = [f"img_{i:06d}.png" for i in range(n, 0, -1)]
    _CountingSlot.reads = 0
    done = pool.reorder(order)
    assert [s["image"] for s in done["slots"]] == order
    return _CountingSlot.reads


def test_reorder_reads_each_slot_a_bounded_number_of_times(memory_store, monkeypatch):
    small = _slot_reads_of_a_reorder(memory_store, 1000, monkeypatch)
    large = _slot_reads_of_a_reorder(memory_store, 4000, monkeypatch)
    assert large <= 10 * 4000, f"{large} slot reads for 4,000 slots"
    assert large / small < 6, f"4x the slots cost {large / small:.1f}x the reads (quadratic: 16x)"


@pytest.mark.timeout(60)
def test_reorder_of_100k_slots_by_name_finishes(memory_store, record_figures):
    n = 100_000
    pool = Pool(memory_store, "big")
    memory_store.write(pool.manifest_key, json.dumps(_manifest(n)).encode())
    order = [f"img_{i:06d}.png" for i in range(n, 0, -1)]
    assert len(json.dumps(order)) > 1_000_000
    started = time.perf_counter()
    done = pool.reorder(order)
    record_figures({"test": "reorder 100k slots by name (memory)", "seconds": round(time.perf_counter() - started, 2)})
    assert done["slots"][0]["image"] == order[0] and done["slots"][-1]["image"] == order[-1]
    assert done["slots"][done["active"]]["image"] == f"img_{n // 2 + 1:06d}.png"
