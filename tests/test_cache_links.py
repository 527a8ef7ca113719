"""The local caches (thumbnails, downloaded images) and staged files: no link
is followed, an entry the cache did not write is never served, and staged
files get the permissions of a normally created file. Hostile links point into
the test's ``sentinel`` folder, which must survive unchanged."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from api_support import make_app
from backends import InvalidKeyError
from comfy_nodes.cache import DiskCache, cache_token, write_atomic
from poolstore import Pool, StoreSet
from support import png_bytes

TOKEN = "ab" + "0" * 62
SECRET = b"keep me"


def _sentinel_unchanged(sentinel: Path) -> None:
    assert sorted(p.name for p in sentinel.iterdir()) == ["keep.txt"]
    assert (sentinel / "keep.txt").read_bytes() == SECRET


@pytest.mark.parametrize("bound", [None, 1 << 20])
def test_a_shard_that_is_a_link_is_refused_and_nothing_is_written_outside(tmp_path, sentinel, bound):
    cache = DiskCache(tmp_path / "cache", bound)
    cache.put("cd" + "0" * 62, b"a real entry")  # the cache folder exists
    os.symlink(sentinel, tmp_path / "cache" / "ab", target_is_directory=True)
    cache.put(TOKEN, b"thumbnail bytes")
    assert cache.get(TOKEN) is None
    _sentinel_unchanged(sentinel)
    assert cache.get("cd" + "0" * 62) == b"a real entry"


def test_an_entry_that_is_a_link_is_not_served(tmp_path, sentinel):
    cache = DiskCache(tmp_path / "cache")
    cache.put(TOKEN, b"mine")
    entry = tmp_path / "cache" / "ab" / TOKEN
    entry.unlink()
    os.symlink(sentinel / "keep.txt", entry)
    assert cache.get(TOKEN) is None
    _sentinel_unchanged(sentinel)


@pytest.mark.parametrize("planted", [b"planted bytes", b"", png_bytes()], ids=["text", "empty", "png"])
def test_a_planted_entry_is_not_served(tmp_path, planted):
    cache = DiskCache(tmp_path / "cache")
    cache.put("cd" + "0" * 62, b"a real entry")
    (tmp_path / "cache" / "ab").mkdir()
    (tmp_path / "cache" / "ab" / TOKEN).write_bytes(planted)
    assert cache.get(TOKEN) is None


def test_an_entry_copied_under_another_token_is_not_served(tmp_path):
    cache = DiskCache(tmp_path / "cache")
    other = "ab" + "1" * 62
    cache.put(other, b"the thumbnail of another image")
    os.link(tmp_path / "cache" / "ab" / other, tmp_path / "cache" / "ab" / TOKEN)
    assert cache.get(TOKEN) is None
    assert cache.get(other) == b"the thumbnail of another image"


def test_entries_survive_a_new_cache_object_on_the_same_folder(tmp_path):
    DiskCache(tmp_path / "cache").put(TOKEN, b"kept")
    assert DiskCache(tmp_path / "cache", 1 << 20).get(TOKEN) == b"kept"


def test_a_cache_folder_deleted_while_in_use_gets_one_shared_secret(tmp_path):
    first, second = DiskCache(tmp_path / "cache"), DiskCache(tmp_path / "cache")
    first.put(TOKEN, b"old")
    shutil.rmtree(tmp_path / "cache")
    assert first.get(TOKEN) is None
    first.put(TOKEN, b"new")
    assert second.get(TOKEN) == b"new"


def test_a_secret_of_the_wrong_size_is_replaced(tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / ".key").write_bytes(b"short")
    cache = DiskCache(tmp_path / "cache")
    cache.put(TOKEN, b"kept")
    assert cache.get(TOKEN) == b"kept"
    assert len((tmp_path / "cache" / ".key").read_bytes()) == 32
    if os.name == "posix":
        assert stat.S_IMODE(os.stat(tmp_path / "cache" / ".key").st_mode) == 0o600


async def test_a_planted_thumbnail_is_not_served(store, tmp_path, aiohttp_client):
    pool = Pool(store, "p1")
    name = pool.add([png_bytes((40, 30))])[0]
    client = await aiohttp_client(make_app(StoreSet(store), tmp_path))
    params = {"pool_id": "p1", "image": name, "size": "64"}
    real = await (await client.get("/grid_pool/thumb", params=params)).read()
    token = cache_token(store, pool.key(name), "thumb64")
    entry = tmp_path / "thumb-cache" / token[:2] / token
    entry.write_bytes(b"<html>planted</html>")
    resp = await client.get("/grid_pool/thumb", params=params)
    assert resp.status == 200
    assert await resp.read() == real


def test_staged_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "stage" / "a.png", b"x")
    finally:
        os.umask(old)
    mode = stat.S_IMODE(os.stat(tmp_path / "stage" / "a.png").st_mode)
    if os.name == "posix":
        assert mode == 0o644
    assert (tmp_path / "stage" / "a.png").read_bytes() == b"x"


def test_staging_over_a_link_is_refused_and_its_target_untouched(tmp_path, sentinel):
    (tmp_path / "stage").mkdir()
    os.symlink(sentinel / "keep.txt", tmp_path / "stage" / "a.png")
    with pytest.raises(InvalidKeyError):
        write_atomic(tmp_path / "stage" / "a.png", b"staged")
    _sentinel_unchanged(sentinel)


async def test_a_link_planted_at_a_staged_name_is_not_handed_to_the_editor(tmp_path, sentinel, aiohttp_client):
    # ComfyUI's /view would serve whatever the staged name points at: a link
    # there must never be answered as the staged image.
    import backends

    store = backends.open_store(str(tmp_path / "store"))
    Pool(store, "p1").add([png_bytes()])
    stage = tmp_path / "input" / "grid_pool_stage"
    stage.mkdir(parents=True)
    name = cache_token(store, "p1/img_0001.png")[:32] + ".png"
    os.symlink(sentinel / "keep.txt", stage / name)
    client = await aiohttp_client(make_app(StoreSet(store), tmp_path, stage_dir=stage))
    resp = await client.post("/grid_pool/stage", json={"pool_id": "p1", "image": "img_0001.png"})
    assert resp.status == 400
    assert (stage / name).is_symlink()
    _sentinel_unchanged(sentinel)
