"""Pool routes over real HTTP on every backend: list, add, remove, active,
label, reorder, set_mask, image, thumb, stage; store-qualified ids."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from api_support import error_of, image_form, make_app, mask_form, noisy_png
from poolstore import StoreSet
from support import Raw, png_bytes

RED, GREEN, BLUE = png_bytes(color=(255, 0, 0)), png_bytes(color=(0, 255, 0)), png_bytes(color=(0, 0, 255))


@pytest.fixture
async def client(store, tmp_path, aiohttp_client):
    return await aiohttp_client(make_app(StoreSet(store), tmp_path))


async def _add(client, pool_id, *images, labels=None):
    resp = await client.post("/grid_pool/add", data=image_form(pool_id, *images, labels=labels))
    assert resp.status == 200, await resp.text()
    return await resp.json()


def _manifest(raw, pool_id="p1"):
    return json.loads(raw.read(f"{pool_id}/manifest.json"))


async def test_list_of_a_new_pool_is_empty(client, raw):
    resp = await client.get("/grid_pool/list", params={"pool_id": "p1"})
    assert resp.status == 200
    doc = await resp.json()
    assert doc == {"pool_id": "p1", "store": "default", "active": 0, "next_seq": 1, "count": 0, "slots": []}
    assert raw.visible_keys() == set()


async def test_add_several_images_with_labels(client, raw):
    doc = await _add(client, "p1", RED, GREEN, labels=["red", "green"])
    assert doc["added"] == ["img_0001.png", "img_0002.png"]
    assert doc["count"] == 2
    assert [(s["index"], s["image"], s["label"], s["mask"]) for s in doc["slots"]] == [
        (0, "img_0001.png", "red", None),
        (1, "img_0002.png", "green", None),
    ]
    assert raw.read("p1/img_0001.png") == RED and raw.read("p1/img_0002.png") == GREEN
    assert [s["label"] for s in _manifest(raw)["slots"]] == ["red", "green"]


async def test_list_etag_and_not_modified(client):
    first = await client.get("/grid_pool/list", params={"pool_id": "p1"})
    etag = first.headers["ETag"]
    again = await client.get("/grid_pool/list", params={"pool_id": "p1"}, headers={"If-None-Match": etag})
    assert again.status == 304
    await _add(client, "p1", RED)
    changed = await client.get("/grid_pool/list", params={"pool_id": "p1"}, headers={"If-None-Match": etag})
    assert changed.status == 200
    assert changed.headers["ETag"] != etag
    assert (await changed.json())["count"] == 1


async def test_remove_by_index_and_by_name_deletes_objects(client, raw):
    await _add(client, "p1", RED, GREEN, BLUE)
    resp = await client.post("/grid_pool/remove", json={"pool_id": "p1", "index": 0})
    assert [s["image"] for s in (await resp.json())["slots"]] == ["img_0002.png", "img_0003.png"]
    resp = await client.post("/grid_pool/remove", json={"pool_id": "p1", "image": "img_0003.png"})
    assert (await resp.json())["count"] == 1
    assert raw.visible_keys() == {"p1/manifest.json", "p1/img_0002.png"}


async def test_active_label_and_reorder(client, raw):
    await _add(client, "p1", RED, GREEN, BLUE)
    resp = await client.post("/grid_pool/active", json={"pool_id": "p1", "image": "img_0002.png"})
    assert (await resp.json())["active"] == 1
    resp = await client.post("/grid_pool/label", json={"pool_id": "p1", "index": 2, "label": "blue one"})
    assert (await resp.json())["slots"][2]["label"] == "blue one"
    resp = await client.post("/grid_pool/reorder", json={"pool_id": "p1", "order": ["img_0003.png", 1, 0]})
    doc = await resp.json()
    assert [s["image"] for s in doc["slots"]] == ["img_0003.png", "img_0002.png", "img_0001.png"]
    assert doc["active"] == 1  # still img_0002
    stored = _manifest(raw)
    assert [s["image"] for s in stored["slots"]] == ["img_0003.png", "img_0002.png", "img_0001.png"]
    assert stored["slots"][0]["label"] == "blue one" and stored["active"] == 1


async def test_reorder_that_lost_a_race_is_a_conflict(client, raw):
    """The grid's order predates a teammate's add: 409, and the manifest is unchanged."""
    await _add(client, "p1", RED, GREEN)
    await _add(client, "p1", BLUE)  # the teammate
    before = raw.read("p1/manifest.json")
    resp = await client.post("/grid_pool/reorder", json={"pool_id": "p1", "order": ["img_0002.png", "img_0001.png"]})
    assert (await error_of(resp, 409))["code"] == "conflict"
    assert raw.read("p1/manifest.json") == before


async def test_set_mask_then_clear(client, raw):
    await _add(client, "p1", RED)
    mask = png_bytes(color=(255, 0, 0), mode="L")
    resp = await client.post("/grid_pool/set_mask", data=mask_form("p1", mask, image="img_0001.png"))
    assert resp.status == 200, await resp.text()
    name = (await resp.json())["slots"][0]["mask"]
    assert name.startswith("img_0001.mask.") and raw.read(f"p1/{name}") == mask
    served = await client.get("/grid_pool/image", params={"pool_id": "p1", "image": "img_0001.png", "kind": "mask"})
    assert await served.read() == mask
    resp = await client.post("/grid_pool/set_mask", data=mask_form("p1", None, index=0))
    assert (await resp.json())["slots"][0]["mask"] is None
    assert raw.visible_keys() == {"p1/manifest.json", "p1/img_0001.png"}


async def test_set_mask_in_comfyui_alpha_convention_is_stored_white_masked(client, raw):
    await _add(client, "p1", RED)
    editor = Image.new("RGBA", (8, 6), (0, 0, 0, 255))
    editor.putpixel((1, 1), (0, 0, 0, 0))  # transparent = masked in ComfyUI's MaskEditor
    buf = io.BytesIO()
    editor.save(buf, format="PNG")
    resp = await client.post("/grid_pool/set_mask", data=mask_form("p1", buf.getvalue(), index=0))
    name = (await resp.json())["slots"][0]["mask"]
    stored = Image.open(io.BytesIO(raw.read(f"p1/{name}")))
    assert stored.mode == "L"
    assert stored.getpixel((1, 1)) == 255 and stored.getpixel((0, 0)) == 0


async def test_image_bytes_etag_and_cache_headers(client):
    await _add(client, "p1", GREEN)
    resp = await client.get("/grid_pool/image", params={"pool_id": "p1", "image": "img_0001.png"})
    assert resp.status == 200 and await resp.read() == GREEN
    assert resp.content_type == "image/png"
    assert "immutable" in resp.headers["Cache-Control"]
    again = await client.get(
        "/grid_pool/image", params={"pool_id": "p1", "image": "img_0001.png"}, headers={"If-None-Match": resp.headers["ETag"]}
    )
    assert again.status == 304 and await again.read() == b""


async def test_thumbnail_is_small_cached_and_revalidates(client, store, tmp_path):
    big = noisy_png((900, 600))
    await _add(client, "p1", big)
    params = {"pool_id": "p1", "image": "img_0001.png", "size": "128"}
    resp = await client.get("/grid_pool/thumb", params=params)
    assert resp.status == 200
    thumb = await resp.read()
    img = Image.open(io.BytesIO(thumb))
    assert max(img.size) == 128 and img.size == (128, 85)
    assert len(thumb) * 10 < len(big)
    reads = store.stats["read"]
    again = await client.get("/grid_pool/thumb", params=params)
    assert await again.read() == thumb
    assert store.stats["read"] == reads  # served from the local thumbnail cache
    assert any((tmp_path / "thumb-cache").rglob("*"))
    cond = await client.get("/grid_pool/thumb", params=params, headers={"If-None-Match": resp.headers["ETag"]})
    assert cond.status == 304


async def test_thumbnail_applies_exif_orientation(client):
    img = Image.new("RGB", (40, 20), (10, 20, 30))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    await _add(client, "p1", buf.getvalue())
    resp = await client.get("/grid_pool/thumb", params={"pool_id": "p1", "image": "img_0001.jpg", "size": "32"})
    assert Image.open(io.BytesIO(await resp.read())).size == (16, 32)


async def test_stage_is_unsupported_without_comfyui(client):
    await _add(client, "p1", RED)
    resp = await client.post("/grid_pool/stage", json={"pool_id": "p1", "image": "img_0001.png"})
    assert (await error_of(resp, 501))["code"] == "unsupported"


async def test_stage_copies_image_with_mask_as_alpha(store, tmp_path, aiohttp_client):
    stage = tmp_path / "input" / "grid_pool_stage"
    client = await aiohttp_client(make_app(StoreSet(store), tmp_path, stage_dir=stage))
    await _add(client, "p1", png_bytes(size=(8, 6), color=(9, 8, 7)))
    mask = Image.new("L", (8, 6), 0)
    mask.putpixel((2, 3), 255)
    buf = io.BytesIO()
    mask.save(buf, format="PNG")
    await client.post("/grid_pool/set_mask", data=mask_form("p1", buf.getvalue(), index=0))
    resp = await client.post("/grid_pool/stage", json={"pool_id": "p1", "image": "img_0001.png"})
    ref = await resp.json()
    assert ref["subfolder"] == "grid_pool_stage" and ref["type"] == "input"
    staged = Image.open(stage / ref["filename"])
    assert staged.mode == "RGBA" and staged.size == (8, 6)
    assert staged.getpixel((2, 3)) == (9, 8, 7, 0) and staged.getpixel((0, 0)) == (9, 8, 7, 255)


async def test_store_qualified_ids_reach_the_named_store(store, raw, store_factory, tmp_path, aiohttp_client):
    team = store_factory("memory" if store.kind != "memory" else "local")
    client = await aiohttp_client(make_app(StoreSet(store, {"team": team}), tmp_path))
    doc = await _add(client, "team:p9", BLUE)
    assert doc["pool_id"] == "team:p9" and doc["store"] == "team"
    assert Raw(team).read("p9/img_0001.png") == BLUE
    assert raw.visible_keys() == set()
    resp = await client.get("/grid_pool/image", params={"pool_id": "team:p9", "image": "img_0001.png"})
    assert await resp.read() == BLUE
    resp = await client.get("/grid_pool/list", params={"pool_id": "p9"})
    assert (await resp.json())["count"] == 0
