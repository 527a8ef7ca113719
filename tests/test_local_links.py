"""Links inside a local store are never followed: not by reads (even while an
object is swapped for a link by another thread), writes, side locks, listings
or deletes. Every hostile link points into the test's ``sentinel`` folder,
which must survive unchanged."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from api_support import error_of, make_app
from poolstore import Pool, Registry, StoreSet
from support import Raw, png_bytes, stop_process

from backends import InvalidKeyError, KeyNotFoundError, StoreError

INSIDE = b"inside the store"
SECRET = b"keep me"  # the sentinel file's content (see the sentinel fixture)
RACE_READS = 20_000
RACE_MET = 10  # refusals that show the swapper really raced the reads
RACE_SECONDS = 60.0


# The swapper runs in its own process, so it races the reads truly in parallel.
_SWAP_OBJECT = """
import os, sys
target, inside, outside = sys.argv[1:4]
tmp = os.path.join(os.path.dirname(target), ".swap")
while True:
    os.link(inside, tmp)
    os.replace(tmp, target)
    os.symlink(outside, tmp)
    os.replace(tmp, target)
"""
_SWAP_FOLDER = """
import os, sys
target, outside = sys.argv[1:3]
aside = os.path.join(os.path.dirname(target), ".aside")
while True:
    os.rename(target, aside)
    os.symlink(outside, target, target_is_directory=True)
    os.unlink(target)
    os.rename(aside, target)
"""


def _race(store, key: str, script: str, *args: Path) -> dict[str, int]:
    """Read ``key`` while ``script`` swaps it; count reads, leaks, refusals."""
    proc = subprocess.Popen([sys.executable, "-c", script, *map(str, args)])
    counts = {"reads": 0, "leaks": 0, "refused": 0}
    deadline = time.monotonic() + RACE_SECONDS
    try:
        while (counts["reads"] < RACE_READS or counts["refused"] < RACE_MET) and time.monotonic() < deadline:
            counts["reads"] += 1
            try:
                data = store.read(key)
            except StoreError:  # refused, or not there at that instant
                counts["refused"] += 1
                continue
            if data == SECRET:
                counts["leaks"] += 1
            else:
                assert data == INSIDE
    finally:
        stop_process(proc)
    assert proc.returncode is not None
    return counts


def test_an_object_swapped_for_a_link_never_leaks_the_outside_file(local_store, sentinel, record_figures):
    root = Path(local_store.root)
    local_store.write("p1/inside.png", INSIDE)
    local_store.write("p1/img.png", INSIDE)
    target, inside = root / "p1" / "img.png", root / "p1" / "inside.png"
    counts = _race(local_store, "p1/img.png", _SWAP_OBJECT, target, inside, sentinel / "keep.txt")
    record_figures({"race": "object swapped for a link", "store": local_store._test_kind, **counts})
    assert counts["refused"] >= RACE_MET  # the race ran and was met
    assert counts["leaks"] == 0, counts
    assert (sentinel / "keep.txt").read_bytes() == SECRET


def test_a_folder_swapped_for_a_link_never_leaks_on_posix(tmp_path, sentinel, record_figures):
    store = _posix_store(tmp_path)
    root = Path(store.root)
    store.write("p2/keep.txt", INSIDE)
    counts = _race(store, "p2/keep.txt", _SWAP_FOLDER, root / "p2", sentinel)
    record_figures({"race": "folder swapped for a link", "store": "local", **counts})
    assert counts["refused"] >= RACE_MET
    assert counts["leaks"] == 0, counts
    assert sorted(p.name for p in sentinel.iterdir()) == ["keep.txt"]


def _posix_store(tmp_path):
    import backends

    return backends.open_store(str(tmp_path / "store"))


def test_a_side_lock_that_is_a_link_is_refused_and_creates_nothing(local_store, sentinel):
    raw = Raw(local_store)
    root = Path(local_store.root)
    local_store.write("p1/manifest.json", b"{}")
    os.symlink(sentinel / "created.lock", root / "p1" / ".manifest.json.lock")
    _, version = local_store.read_versioned("p1/manifest.json")
    with pytest.raises(InvalidKeyError):
        local_store.write_if("p1/manifest.json", b"[]", version)
    assert raw.read("p1/manifest.json") == b"{}"
    assert sorted(p.name for p in sentinel.iterdir()) == ["keep.txt"]


async def test_a_pool_route_behind_a_linked_lock_answers_400_and_creates_nothing(
    local_store, sentinel, tmp_path, aiohttp_client
):
    raw = Raw(local_store)
    Pool(local_store, "p1").add([png_bytes(), png_bytes(color=(0, 0, 255))])
    os.symlink(sentinel / "created.lock", Path(local_store.root) / "p1" / ".manifest.json.lock")
    before = raw.read("p1/manifest.json")
    client = await aiohttp_client(make_app(StoreSet(local_store), tmp_path))
    await error_of(await client.post("/grid_pool/active", json={"pool_id": "p1", "index": 1}), 400)
    assert raw.read("p1/manifest.json") == before
    assert sorted(p.name for p in sentinel.iterdir()) == ["keep.txt"]


@pytest.mark.parametrize("op", ["write", "create", "open_write", "copy"])
def test_writes_through_a_linked_folder_are_refused(local_store, sentinel, op):
    local_store.write("p1/a", b"x")
    os.symlink(sentinel, Path(local_store.root) / "link", target_is_directory=True)
    with pytest.raises(InvalidKeyError):
        if op == "write":
            local_store.write("link/new.txt", b"evil")
        elif op == "create":
            local_store.create("link/new.txt", b"evil")
        elif op == "open_write":
            with local_store.open_write("link/new.txt") as f:
                f.write(b"evil")
        else:
            local_store.copy("p1/a", "link/new.txt")
    assert sorted(p.name for p in sentinel.iterdir()) == ["keep.txt"]


def test_links_inside_the_root_are_not_followed_either(local_store):
    root = Path(local_store.root)
    local_store.write("p1/a.png", INSIDE)
    os.symlink(root / "p1", root / "alias")
    os.symlink(root / "p1" / "a.png", root / "p1" / "b.png")
    for key in ("alias/a.png", "p1/b.png"):
        with pytest.raises(InvalidKeyError):
            local_store.read(key)
        with pytest.raises(InvalidKeyError):
            local_store.open_read(key)
        with pytest.raises(InvalidKeyError):
            local_store.read_head(key, 4)
        with pytest.raises(InvalidKeyError):
            local_store.size(key)
    assert not local_store.exists("p1/b.png")
    assert local_store.list("alias") == []
    assert [o.key for o in local_store.list()] == ["p1/a.png"]
    assert local_store.list_dirs() == ["p1"]


@pytest.mark.timeout(60)
def test_a_fifo_is_no_object_and_does_not_block_a_read(local_store):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    local_store.write("p1/a", b"x")
    os.mkfifo(Path(local_store.root) / "p1" / "pipe.png")
    with pytest.raises((KeyNotFoundError, InvalidKeyError)):
        local_store.read("p1/pipe.png")
    assert [o.key for o in local_store.list()] == ["p1/a"]


def test_deleting_a_profile_whose_folder_is_a_link_removes_only_the_link(local_store, sentinel):
    registry = Registry(local_store)
    entry = registry.create("0123456789abcdef0123456789abcdef", "linked")
    shutil.rmtree(Path(local_store.root) / entry["id"])
    os.symlink(sentinel, Path(local_store.root) / entry["id"], target_is_directory=True)
    registry.delete(entry["id"])  # no error after the commit
    assert registry.list() == []
    assert not os.path.lexists(Path(local_store.root) / entry["id"])
    assert sorted(p.name for p in sentinel.iterdir()) == ["keep.txt"]
    assert (sentinel / "keep.txt").read_bytes() == SECRET


async def test_the_delete_route_on_a_linked_profile_folder_answers_200(local_store, sentinel, tmp_path, aiohttp_client):
    entry = Registry(local_store).create("0123456789abcdef0123456789abcdef", "linked")
    shutil.rmtree(Path(local_store.root) / entry["id"])
    os.symlink(sentinel, Path(local_store.root) / entry["id"], target_is_directory=True)
    client = await aiohttp_client(make_app(StoreSet(local_store), tmp_path))
    resp = await client.post("/grid_pool/profiles/delete", json={"id": entry["id"]})
    assert resp.status == 200, await resp.text()
    assert Registry(local_store).list() == []
    assert sorted(p.name for p in sentinel.iterdir()) == ["keep.txt"]


def test_delete_prefix_through_a_linked_parent_is_refused(local_store, sentinel):
    local_store.write("p1/a", b"x")
    os.symlink(sentinel, Path(local_store.root) / "link", target_is_directory=True)
    (sentinel / "sub").mkdir()
    with pytest.raises(StoreError):
        local_store.delete_prefix("link/sub")
    with pytest.raises(StoreError):
        local_store.delete("link/keep.txt")
    assert sorted(p.name for p in sentinel.iterdir()) == ["keep.txt", "sub"]
