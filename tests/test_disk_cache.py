"""Size-bounded local caches: the bound holds, least recently used entries go
first, a hit refreshes recency, sweeps survive files vanishing under them and
concurrent writers in other processes, nothing outside the cache is touched,
bounds come from the environment or the config file; the image read cache
(on every backend) and the thumbnail route stay under their bounds."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from api_support import make_app, noisy_png
from backends import StoreConfigError
from comfy_nodes import config, disk_cache
from comfy_nodes.cache import ENTRY_OVERHEAD, DiskCache, ReadCache, cache_token
from comfy_nodes.config import GIB, MIB, cache_limits, parse_size
from poolstore import Pool, StoreSet

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def no_config(monkeypatch, tmp_path):
    for name in ("POOLSTORE_CONFIG", "POOLSTORE_CACHE_IMAGES_MAX", "POOLSTORE_CACHE_THUMBS_MAX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(config, "PACK_DIR", tmp_path / "pack")  # no pack-folder config file


def tok(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def on_disk(folder: Path) -> dict[str, int]:
    """Name -> size of every regular file under ``folder`` but the cache's
    secret (entries, temporaries, strangers), read raw."""
    return {
        p.name: p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink() and p.name != ".key"
    }


def payload(size: int, fill: int = 120) -> bytes:
    """Bytes whose cache entry takes exactly ``size`` bytes on disk."""
    return bytes([fill]) * (size - ENTRY_OVERHEAD)


def age(cache: DiskCache, tokens: list[str]) -> None:
    """Give the entries distinct old modification times, oldest first."""
    base = time.time() - 10_000
    for n, token in enumerate(tokens):
        os.utime(cache.folder / token[:2] / token, (base + n, base + n))  # the entry's file


def filled(tmp_path: Path, count: int = 10, size: int = 1000, bound: int = 10_000) -> DiskCache:
    cache = DiskCache(tmp_path / "cache", bound)
    for i in range(count):
        cache.put(tok(i), payload(size, i))
    age(cache, [tok(i) for i in range(count)])
    return cache


def test_the_bound_holds_after_many_inserts(tmp_path):
    cache = DiskCache(tmp_path / "cache", 10_000)
    sizes = [200 + (i * 397) % 1800 for i in range(300)]
    for i, size in enumerate(sizes):
        cache.put(tok(i), b"x" * size)
        assert sum(on_disk(tmp_path / "cache").values()) <= 10_000
    assert cache.get(tok(299)) == b"x" * sizes[-1]  # the newest entry is kept
    assert cache.get(tok(0)) is None  # the oldest went long ago
    assert not any(name.endswith(".partial") for name in on_disk(tmp_path / "cache"))


def test_the_most_recently_used_entries_survive(tmp_path):
    cache = filled(tmp_path)
    cache.put(tok(10), payload(1000))  # 11,000 bytes > 10,000: evict down to 9,000
    survivors = {t for t in on_disk(tmp_path / "cache")}
    assert survivors == {tok(i) for i in range(2, 11)}


def test_a_hit_refreshes_recency(tmp_path):
    cache = filled(tmp_path)
    assert cache.get(tok(0)) == payload(1000, 0)  # the oldest entry, used now
    cache.put(tok(10), payload(1000))
    survivors = set(on_disk(tmp_path / "cache"))
    assert tok(0) in survivors
    assert tok(1) not in survivors and tok(2) not in survivors
    assert len(survivors) == 9


def test_the_common_path_does_not_scan_the_folder(tmp_path, monkeypatch):
    sweeps = []
    real = disk_cache.sweep
    monkeypatch.setattr(disk_cache, "sweep", lambda *a, **k: sweeps.append(a) or real(*a, **k))
    cache = DiskCache(tmp_path / "cache", 1 << 20)
    for i in range(100):
        cache.put(tok(i), b"x" * 1000)
        assert cache.get(tok(i)) is not None
    assert len(sweeps) == 1  # the process's first write measures the folder once
    for i in range(100, 250):  # passing the bound sweeps, then not again for 10 % of it
        cache.put(tok(i), b"x" * 10_000)
    assert 2 <= len(sweeps) <= 1 + 150 // 10
    assert sum(on_disk(tmp_path / "cache").values()) <= 1 << 20


def test_entries_larger_than_the_bound_or_a_zero_bound_keep_nothing(tmp_path):
    cache = DiskCache(tmp_path / "small", 1000)
    cache.put(tok(1), b"x" * 5000)
    assert cache.get(tok(1)) is None and not (tmp_path / "small").exists()
    off = DiskCache(tmp_path / "off", 0)
    off.put(tok(1), b"x")
    assert off.get(tok(1)) is None and not (tmp_path / "off").exists()


def test_a_sweep_tolerates_files_and_folders_vanishing_under_it(tmp_path, monkeypatch):
    cache = filled(tmp_path, count=40, size=500, bound=100_000)
    real_shards, real_entries = disk_cache._shards, disk_cache._entries

    def shards_then_drop_one(folder):
        found = real_shards(folder)
        shutil.rmtree(Path(folder.root) / found[0])  # another process's sweep emptied and removed it
        return found

    def entries_then_remove(folder, shard):
        found = real_entries(folder, shard)
        for _mtime, _size, name, _temp in found[::2]:
            os.unlink(Path(folder.root) / shard / name)  # listed, then removed by someone else before the unlink
        return found

    monkeypatch.setattr(disk_cache, "_shards", shards_then_drop_one)
    monkeypatch.setattr(disk_cache, "_entries", entries_then_remove)
    result = disk_cache.sweep(cache.folder, 0)
    assert result.kept == 0 and result.kept_bytes == 0
    assert on_disk(tmp_path / "cache") == {}


def test_concurrent_writers_in_several_processes_share_the_bound(tmp_path):
    folder = tmp_path / "cache"
    script = (
        "import sys, hashlib\n"
        "from comfy_nodes.cache import DiskCache\n"
        "c = DiskCache(sys.argv[1], 20000)\n"
        "w = int(sys.argv[2])\n"
        "for i in range(150):\n"
        "    t = hashlib.sha256(f'{i % 60}'.encode()).hexdigest()\n"
        "    if c.get(t) is None:\n"
        "        c.put(t, bytes([w]) * (600 + 7 * i))\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(folder), str(w)], cwd=REPO) for w in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    disk_cache.sweep(folder, 20_000)
    files = on_disk(folder)
    assert 0 < sum(files.values()) <= 20_000
    assert not any(name.endswith(".partial") for name in files)
    reader = DiskCache(folder)
    for name in files:  # every entry is whole and sealed: one writer's bytes, its full length
        data = reader.get(name)
        assert data is not None and len(set(data)) == 1


def test_nothing_outside_the_cache_entries_is_removed(tmp_path):
    sentinel = tmp_path / "sentinel"
    (sentinel / "deep").mkdir(parents=True)
    (sentinel / tok(900)).write_bytes(b"k" * 4000)
    (sentinel / "deep" / "keep.txt").write_bytes(b"k" * 4000)
    cache = filled(tmp_path, count=5)
    folder = cache.folder
    (folder / "ab").symlink_to(sentinel, target_is_directory=True)  # a shard name, but a link
    shard = folder / tok(0)[:2]
    (shard / tok(901)).symlink_to(sentinel / tok(900))  # a token name, but a link
    (shard / "notes.txt").write_bytes(b"mine")
    (shard / tok(902)).mkdir()  # a token name, but a folder
    (folder / tok(903)).write_bytes(b"not in a shard")
    (folder / "zz").mkdir()
    (folder / "zz" / tok(904)).write_bytes(b"not a hex shard")
    old = time.time() - 100_000
    for path in [sentinel / tok(900), sentinel / "deep" / "keep.txt", shard / "notes.txt", folder / tok(903)]:
        os.utime(path, (old, old))  # older than every entry: first in line if it were seen

    disk_cache.sweep(folder, 0)

    left = sorted(p.relative_to(sentinel).as_posix() for p in sentinel.rglob("*"))
    assert left == sorted(["deep", "deep/keep.txt", tok(900)])
    assert (sentinel / tok(900)).read_bytes() == b"k" * 4000
    assert (shard / tok(901)).is_symlink() and (shard / "notes.txt").read_bytes() == b"mine"
    assert (shard / tok(902)).is_dir() and (folder / tok(903)).exists() and (folder / "zz" / tok(904)).exists()
    assert not any((folder / tok(i)[:2] / tok(i)).exists() for i in range(5))


def test_stale_temporary_files_are_swept_and_fresh_ones_kept(tmp_path):
    cache = filled(tmp_path, count=2)
    shard = cache.folder / tok(0)[:2]
    (shard / "tmpold.partial").write_bytes(b"crashed")
    (shard / "tmpnew.partial").write_bytes(b"in flight")
    old = time.time() - 2 * disk_cache.STALE_TEMP_SECONDS
    os.utime(shard / "tmpold.partial", (old, old))
    disk_cache.sweep(cache.folder, 10_000)
    assert not (shard / "tmpold.partial").exists() and (shard / "tmpnew.partial").exists()
    assert cache.get(tok(0)) is not None  # under the bound: entries stay


# --- configuration ------------------------------------------------------------


def test_default_bounds():
    assert cache_limits() == config.CacheLimits(images=2 * GIB, thumbs=256 * MIB)


def test_bounds_from_the_config_file_and_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "poolstore.toml"
    path.write_text('[cache]\nimages_max = "500 MB"\nthumbs_max = 1048576\n')
    monkeypatch.setenv("POOLSTORE_CONFIG", str(path))
    assert cache_limits() == config.CacheLimits(images=500 * 10**6, thumbs=MIB)
    monkeypatch.setenv("POOLSTORE_CACHE_THUMBS_MAX", "1.5GiB")
    monkeypatch.setenv("POOLSTORE_CACHE_IMAGES_MAX", "0")
    assert cache_limits() == config.CacheLimits(images=0, thumbs=3 * GIB // 2)


@pytest.mark.parametrize("value", ['"lots"', '"-1 GB"', '"2 XB"', "true", "-5", '""'])
def test_a_bad_size_in_the_config_file_is_a_clear_error(tmp_path, monkeypatch, value):
    path = tmp_path / "poolstore.toml"
    path.write_text(f"[cache]\nthumbs_max = {value}\n")
    monkeypatch.setenv("POOLSTORE_CONFIG", str(path))
    with pytest.raises(StoreConfigError, match=r"\[cache\] thumbs_max.*not a size"):
        cache_limits()


def test_a_bad_size_in_the_environment_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("POOLSTORE_CACHE_IMAGES_MAX", "2 gigs")
    with pytest.raises(StoreConfigError, match="POOLSTORE_CACHE_IMAGES_MAX: '2 gigs' is not a size"):
        cache_limits()


def test_size_units():
    assert [parse_size(v) for v in ("0", "10", "1k", "1KB", "1KiB", "2M", "2MB", "1g", "1 TiB")] == [
        0, 10, 1024, 1000, 1024, 2 * MIB, 2 * 10**6, GIB, 1 << 40]


# --- the caches in use ----------------------------------------------------------


def test_the_read_cache_keeps_remote_images_under_its_bound(store, tmp_path, monkeypatch):
    images = [noisy_png((40, 30), seed=i) for i in range(8)]
    pool = Pool(store, "p1")
    pool.add(images)
    keys = [pool.key(slot["image"]) for slot in pool.read()["slots"]]
    bound = 3 * max(map(len, images)) + 100
    monkeypatch.setenv("POOLSTORE_CACHE_IMAGES_MAX", str(bound))
    folder = tmp_path / "cache"
    for key in keys:
        assert ReadCache(DiskCache(folder, config.images_cache_bytes)).read(store, key) == store.read(key)
    if store.kind in ("local", "memory"):
        assert not folder.exists()  # local reads are not copied
        return
    assert 0 < sum(on_disk(folder).values()) <= bound
    reads = store.stats["read"]
    ReadCache(DiskCache(folder, config.images_cache_bytes)).read(store, keys[-1])
    assert store.stats["read"] == reads  # the most recent image is still local
    ReadCache(DiskCache(folder, config.images_cache_bytes)).read(store, keys[0])
    assert store.stats["read"] == reads + 1  # the oldest was evicted: downloaded again


async def test_the_thumbnail_cache_stays_under_its_bound(store, tmp_path, monkeypatch, aiohttp_client):
    pool = Pool(store, "p1")
    pool.add([noisy_png((120, 90), seed=i) for i in range(8)])
    monkeypatch.setenv("POOLSTORE_CACHE_THUMBS_MAX", "12000")
    client = await aiohttp_client(make_app(StoreSet(store), tmp_path))
    names = [slot["image"] for slot in pool.read()["slots"]]
    for name in names:
        resp = await client.get("/grid_pool/thumb", params={"pool_id": "p1", "image": name, "size": "64"})
        assert resp.status == 200
        await resp.read()
    files = on_disk(tmp_path / "thumb-cache")
    assert 0 < sum(files.values()) <= 12_000 and len(files) < len(names)
    assert cache_token(store, pool.key(names[-1]), "thumb64") in files
    assert cache_token(store, pool.key(names[0]), "thumb64") not in files
