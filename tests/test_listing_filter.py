"""One listing filter for every store: housekeeping keys (a segment starting
with ``.``) and the temporary files of writes in progress (``….partial``)
are never listed, on the dedicated backends and on a generic fsspec store."""

from __future__ import annotations

import pytest
from generic_support import open_generic

LEFT_OUT = ["p1/.manifest.json.lock", "p1/img_0001.png.0a1b2c.partial", ".probe/x", "p2/.hidden/y.png"]


def _check(store, raw):
    for key in LEFT_OUT:
        raw.write(key, b"x")
    raw.write("p1/img_0001.png", b"png")
    raw.write("p2/img_0002.png", b"png")
    assert [o.key for o in store.list()] == ["p1/img_0001.png", "p2/img_0002.png"]
    assert [o.key for o in store.list("p1")] == ["p1/img_0001.png"]
    assert store.list_dirs() == ["p1", "p2"]


def test_listings_leave_out_housekeeping_and_writes_in_progress(store, raw):
    _check(store, raw)


@pytest.mark.parametrize("target", ["file", "memory"])
def test_a_generic_store_lists_the_same(tmp_path, target):
    store, raw, _options = open_generic(target, tmp_path)
    try:
        _check(store, raw)
    finally:
        store.close()
        raw.forget()
