"""Bounded work on untrusted uploads: heavy decoding cannot starve the light
routes, uploads wait on disk rather than in memory, and every request is
bounded in images and bytes."""

from __future__ import annotations

import concurrent.futures as cf
import os
import threading
import time
from pathlib import Path

import aiohttp
import pytest
import requests
from aiohttp import web

from api_support import error_of, image_form, make_app, snapshot
from browser_support import Server
from image_support import bomb_png
from support import png_bytes

import backends
from comfy_nodes import params
from poolstore import Pool, StoreSet
from poolstore.images import DECODE_SLOTS, DECODING, DecodeSlots, decoded

BOMBS = 8


def _upload(url: str, data: bytes) -> int:
    files = [("image", ("bomb.png", data, "image/png"))]
    return requests.post(f"{url}grid_pool/add", data={"pool_id": "bombs"}, files=files, timeout=300).status_code


def _peak_rss_mib(pid: int) -> float | None:
    """The process's peak resident memory (Linux only; a reported figure, not asserted)."""
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        return None
    for line in status.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


@pytest.mark.slow
def test_list_answers_within_a_second_while_bomb_uploads_are_decoded(tmp_path, record_figures):
    """8 decompression-bomb PNGs (8192x8192 RGBA, within the pixel limit, about
    260 KB each) uploaded at once to a real ``poolstore serve``: the pool
    list keeps answering within 1 s on loopback while they are decoded."""
    root = tmp_path / "store"
    Pool(backends.open_store(str(root)), "p1").add([png_bytes()])
    bomb = bomb_png(8192, 8192, "RGBA")
    server = Server(str(root), env={"POOLSTORE_CACHE_DIR": str(tmp_path / "cache")})
    list_url = f"{server.url}grid_pool/list?pool_id=p1"
    try:
        assert requests.get(list_url, timeout=30).status_code == 200
        with cf.ThreadPoolExecutor(BOMBS) as pool:
            started = time.monotonic()
            uploads = [pool.submit(_upload, server.url, bomb) for _ in range(BOMBS)]
            time.sleep(0.5)  # the bodies are sent and decoding has begun
            latencies = []
            while not all(u.done() for u in uploads):
                begin = time.monotonic()
                assert requests.get(list_url, timeout=120).status_code == 200
                latencies.append(time.monotonic() - begin)
                time.sleep(0.05)
            statuses = [u.result() for u in uploads]
            took = time.monotonic() - started
        peak = _peak_rss_mib(server.proc.pid)
    finally:
        server.stop()
    record_figures({
        "bomb uploads": BOMBS,
        "list requests while decoding": len(latencies),
        "slowest list (s)": round(max(latencies, default=0.0), 3),
        "all uploads done (s)": round(took, 1),
        "serve peak RSS (MiB)": peak,
    })
    assert statuses == [200] * BOMBS
    assert len(latencies) >= 3, "the uploads finished before the list could be measured"
    assert max(latencies) < 1.0



@pytest.fixture
def two_slots(monkeypatch):
    """The process-wide decode slots, at 2 whatever this machine's default."""
    import poolstore.images

    slots = DecodeSlots(2)
    monkeypatch.setattr(poolstore.images, "DECODING", slots)
    return slots


def test_the_default_leaves_a_core_free():
    cores = os.cpu_count() or 2
    assert DECODE_SLOTS == DECODING.limit == (1 if cores <= 2 else 2)


def test_decoding_holds_at_most_the_process_wide_slots(two_slots):
    """Threads decoding at once (here 6) share the decode slots."""
    bomb = bomb_png(2048, 2048, "RGBA")
    inside, most = [0], [0]
    lock = threading.Lock()

    def decode() -> None:
        with decoded(bomb):
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.2)
            with lock:
                inside[0] -= 1

    with cf.ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda _i: decode(), range(6)))
    assert most[0] == 2 == two_slots.peak
    assert two_slots.busy == 0


def test_a_thread_decoding_an_image_and_its_mask_takes_one_slot(two_slots):
    """Nested decoding in one thread does not wait for a second slot: with every
    slot held by a thread that decodes two images, none of them is stuck."""
    barrier = threading.Barrier(2)

    def both() -> tuple[int, int]:
        with decoded(png_bytes()) as image:
            barrier.wait(timeout=10)
            with decoded(png_bytes(mode="L")) as mask:
                return image.size, mask.size

    pool = cf.ThreadPoolExecutor(2)
    futures = [pool.submit(both) for _ in range(2)]
    results = [f.result(timeout=30) for f in futures]
    pool.shutdown()
    assert results == [((8, 6), (8, 6))] * 2


async def test_add_takes_at_most_64_images_per_request(store, raw, tmp_path, aiohttp_client):
    client = await aiohttp_client(make_app(StoreSet(store), tmp_path))
    before = snapshot(raw)
    err = await error_of(await client.post("/grid_pool/add", data=image_form("p1", *[png_bytes()] * 65)), 413)
    assert "64" in err["message"]
    assert snapshot(raw) == before
    resp = await client.post("/grid_pool/add", data=image_form("p1", *[png_bytes()] * 64))
    assert resp.status == 200 and len((await resp.json())["added"]) == 64


async def test_add_and_set_mask_limits_are_configurable(store, raw, tmp_path, aiohttp_client):
    client = await aiohttp_client(make_app(StoreSet(store), tmp_path, max_add_images=2))
    before = snapshot(raw)
    await error_of(await client.post("/grid_pool/add", data=image_form("p1", *[png_bytes()] * 3)), 413)
    form = aiohttp.FormData()
    form.add_field("pool_id", "p1")
    form.add_field("index", "0")
    for _ in range(2):
        form.add_field("mask", png_bytes(mode="L"), filename="m.png", content_type="image/png")
    await error_of(await client.post("/grid_pool/set_mask", data=form), 413)
    assert snapshot(raw) == before


async def test_uploaded_files_are_spooled_to_disk_and_removed_after(tmp_path, aiohttp_client):
    """The parsed form holds files on disk (in the spool folder), not bytes;
    closing it removes them."""
    spool = tmp_path / "spool"
    spool.mkdir()
    seen = {}

    async def handler(request: web.Request) -> web.Response:
        form = await params.read_form(request, max_file=1 << 20, max_total=4 << 20, spool_dir=str(spool))
        with form:
            upload = form.files["image"][0]
            seen["on disk"] = os.fstat(upload.fileno()).st_size
            seen["head"] = upload.read(8)
        seen["closed"] = upload.closed
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/up", handler)
    client = await aiohttp_client(app)
    data = png_bytes() + b"\1" * 300_000
    assert (await client.post("/up", data=image_form("p1", data))).status == 200
    assert seen["on disk"] == len(data) and seen["head"] == data[:8]
    assert seen["closed"] and os.listdir(spool) == []
