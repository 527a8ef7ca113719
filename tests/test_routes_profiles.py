"""Profile and store routes over real HTTP on every backend: create, list (ETag),
rename, delete, duplicate, seed, adopt, export -> import round trip, copy and
move between stores, the store list without secrets."""

from __future__ import annotations

import io
import json
import zipfile

import aiohttp
import pytest

from api_support import error_of, image_form, make_app, mask_form, snapshot
from poolstore import StoreSet
from support import Raw, deleted_cleanly, png_bytes

RED, GREEN = png_bytes(color=(255, 0, 0)), png_bytes(color=(0, 255, 0))
MASK = png_bytes(color=(255, 0, 0), mode="L")


@pytest.fixture
async def client(store, tmp_path, aiohttp_client):
    return await aiohttp_client(make_app(StoreSet(store), tmp_path))


async def _ok(resp):
    body = await resp.json()
    assert resp.status == 200, body
    return body


async def _create(client, name, **extra):
    return (await _ok(await client.post("/grid_pool/profiles/create", json={"name": name, **extra})))["profile"]


async def _fill(client, pool_id):
    """Two images, a mask on the second, labels, the second active."""
    await _ok(await client.post("/grid_pool/add", data=image_form(pool_id, RED, GREEN, labels=["r", "g"])))
    await _ok(await client.post("/grid_pool/set_mask", data=mask_form(pool_id, MASK, index=1)))
    return await _ok(await client.post("/grid_pool/active", json={"pool_id": pool_id, "index": 1}))


def _registry(raw):
    return json.loads(raw.read("profiles.json"))["profiles"]


async def test_create_and_list_with_etag(client, raw):
    entry = await _create(client, "characters A")
    assert entry["name"] == "characters A" and entry["store"] == "default"
    assert len(entry["id"]) == 32 and isinstance(entry["created"], int)
    assert [e["id"] for e in _registry(raw)] == [entry["id"]]
    resp = await client.get("/grid_pool/profiles/list")
    assert await _ok(resp) == {"store": "default", "profiles": [entry]}
    same = await client.get("/grid_pool/profiles/list", headers={"If-None-Match": resp.headers["ETag"]})
    assert same.status == 304
    await _create(client, "B")
    changed = await client.get("/grid_pool/profiles/list", headers={"If-None-Match": resp.headers["ETag"]})
    assert changed.status == 200 and len((await changed.json())["profiles"]) == 2


async def test_create_and_rename_refuse_a_taken_name(client, raw):
    a = await _create(client, "A")
    await _create(client, "B")
    before = snapshot(raw)
    assert (await error_of(await client.post("/grid_pool/profiles/create", json={"name": "a"}), 409))["code"] == "name_taken"
    resp = await client.post("/grid_pool/profiles/rename", json={"id": a["id"], "name": "B"})
    assert (await error_of(resp, 409))["code"] == "name_taken"
    assert snapshot(raw) == before
    renamed = (await _ok(await client.post("/grid_pool/profiles/rename", json={"id": a["id"], "name": "A2"})))["profile"]
    assert renamed == {**a, "name": "A2"}
    assert [e["name"] for e in _registry(raw)] == ["A2", "B"]


async def test_delete_removes_entry_and_data(client, raw):
    a = await _create(client, "A")
    await _fill(client, a["id"])
    assert any(k.startswith(a["id"] + "/img_") for k in raw.keys())
    assert await _ok(await client.post("/grid_pool/profiles/delete", json={"id": a["id"]})) == {"deleted": a["id"]}
    assert _registry(raw) == []
    assert deleted_cleanly(raw, a["id"])


async def test_duplicate_copies_images_masks_labels(client, raw):
    a = await _create(client, "A")
    await _fill(client, a["id"])
    dup = (await _ok(await client.post("/grid_pool/profiles/duplicate", json={"id": a["id"]})))["profile"]
    assert dup["name"] == "A (2)" and dup["id"] != a["id"]
    src, dst = json.loads(raw.read(f"{a['id']}/manifest.json")), json.loads(raw.read(f"{dup['id']}/manifest.json"))
    assert dst["slots"] == src["slots"] and dst["active"] == 1
    for s in src["slots"]:
        for name in filter(None, (s["image"], s["mask"])):
            assert raw.read(f"{dup['id']}/{name}") == raw.read(f"{a['id']}/{name}")


async def test_seed_fills_an_empty_profile_once(client, raw):
    await _fill(client, "nodepool1")
    a = await _create(client, "A")
    doc = await _ok(await client.post("/grid_pool/profiles/seed", json={"from": "nodepool1", "id": a["id"]}))
    assert doc["pool_id"] == a["id"] and doc["count"] == 2 and doc["slots"][1]["mask"]
    assert raw.read(f"{a['id']}/{doc['slots'][0]['image']}") == RED
    before = snapshot(raw)
    resp = await client.post("/grid_pool/profiles/seed", json={"from": "nodepool1", "id": a["id"]})
    assert (await error_of(resp, 409))["code"] == "conflict"
    assert snapshot(raw) == before


async def test_seeding_a_profile_from_itself_is_invalid(client, raw):
    a = await _create(client, "A")
    before = snapshot(raw)
    resp = await client.post("/grid_pool/profiles/seed", json={"from": a["id"], "id": a["id"]})
    assert (await error_of(resp, 400))["code"] == "invalid"
    assert snapshot(raw) == before


async def test_adopt_registers_an_existing_pool(client, raw):
    await _fill(client, "nodepool1")
    entry = (await _ok(await client.post("/grid_pool/profiles/adopt", json={"pool_id": "nodepool1", "name": "Kept"})))[
        "profile"
    ]
    assert entry["id"] == "nodepool1" and entry["name"] == "Kept"
    assert [e["id"] for e in _registry(raw)] == ["nodepool1"]
    resp = await client.post("/grid_pool/profiles/adopt", json={"pool_id": "nopool", "name": "X"})
    assert (await error_of(resp, 404))["code"] == "not_found"


async def test_export_streams_a_zip_that_imports_back_byte_identical(client, raw):
    a = await _create(client, "Ünïcode \"name\"")
    await _fill(client, a["id"])
    resp = await client.get("/grid_pool/profiles/export", params={"id": a["id"]})
    assert resp.status == 200 and resp.content_type == "application/zip"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="') and "filename*=UTF-8''" in disposition
    assert '\\"' not in disposition and disposition.count('"') == 2
    assert resp.headers.get("Transfer-Encoding") == "chunked"  # streamed, no length known up front
    data = await resp.read()
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    form = aiohttp.FormData()
    form.add_field("file", data, filename="export.zip", content_type="application/zip")
    form.add_field("name", "Imported")
    entry = (await _ok(await client.post("/grid_pool/profiles/import", data=form)))["profile"]
    assert entry["name"] == "Imported" and entry["id"] != a["id"]
    src, dst = json.loads(raw.read(f"{a['id']}/manifest.json")), json.loads(raw.read(f"{entry['id']}/manifest.json"))
    assert [(s["image"], s["mask"], s["label"]) for s in dst["slots"]] == [
        (s["image"], s["mask"], s["label"]) for s in src["slots"]
    ]
    assert dst["active"] == src["active"] == 1
    for s in src["slots"]:
        for name in filter(None, (s["image"], s["mask"])):
            assert raw.read(f"{entry['id']}/{name}") == raw.read(f"{a['id']}/{name}")


async def test_import_keeps_the_archive_name_and_suffixes_collisions(client, raw):
    a = await _create(client, "Same")
    await _fill(client, a["id"])
    data = await (await client.get("/grid_pool/profiles/export", params={"id": a["id"]})).read()
    form = aiohttp.FormData()
    form.add_field("file", data, filename="x.zip", content_type="application/zip")
    entry = (await _ok(await client.post("/grid_pool/profiles/import", data=form)))["profile"]
    assert entry["name"] == "Same (2)"
    assert [e["name"] for e in _registry(raw)] == ["Same", "Same (2)"]


@pytest.mark.parametrize("move", [False, True])
async def test_copy_and_move_to_a_named_store(store, raw, store_factory, tmp_path, aiohttp_client, move):
    team = store_factory("s3" if store.kind != "s3" else "local")
    client = await aiohttp_client(make_app(StoreSet(store, {"team": team}), tmp_path))
    a = await _create(client, "A")
    await _fill(client, a["id"])
    body = {"id": a["id"], "to_store": "team", "move": move}
    entry = (await _ok(await client.post("/grid_pool/profiles/copy", json=body)))["profile"]
    assert entry["store"] == "team" and entry["id"].startswith("team:") and entry["name"] == "A"
    team_raw = Raw(team, getattr(team, "_test_server", None))
    new = entry["id"].split(":", 1)[1]
    assert team_raw.read(f"{new}/img_0002.png") == GREEN
    listed = await _ok(await client.get("/grid_pool/profiles/list", params={"store": "team"}))
    assert [p["id"] for p in listed["profiles"]] == [entry["id"]]
    pool = await _ok(await client.get("/grid_pool/list", params={"pool_id": entry["id"]}))
    assert pool["count"] == 2 and pool["active"] == 1 and pool["slots"][1]["mask"]
    assert (_registry(raw) == []) is move
    assert deleted_cleanly(raw, a["id"]) is move


async def test_team_qualified_ids_in_every_profile_route(store, store_factory, tmp_path, aiohttp_client):
    team = store_factory("memory")
    client = await aiohttp_client(make_app(StoreSet(store, {"team": team}), tmp_path))
    t = await _create(client, "T", store="team")
    assert t["id"].startswith("team:") and t["store"] == "team"
    await _fill(client, t["id"])
    renamed = (await _ok(await client.post("/grid_pool/profiles/rename", json={"id": t["id"], "name": "T2"})))["profile"]
    assert renamed["id"] == t["id"]
    dup = (await _ok(await client.post("/grid_pool/profiles/duplicate", json={"id": t["id"], "name": "T3"})))["profile"]
    assert dup["id"].startswith("team:")
    local = await _create(client, "L")
    seeded = await _ok(await client.post("/grid_pool/profiles/seed", json={"from": t["id"], "id": local["id"]}))
    assert seeded["count"] == 2
    zipped = await client.get("/grid_pool/profiles/export", params={"id": t["id"]})
    assert zipped.status == 200 and len(await zipped.read()) > 0
    assert (await _ok(await client.post("/grid_pool/profiles/delete", json={"id": dup["id"]})))["deleted"] == dup["id"]
    default_list = await _ok(await client.get("/grid_pool/profiles/list"))
    assert [p["name"] for p in default_list["profiles"]] == ["L"]


async def test_stores_lists_capabilities_without_secrets(store, s3_server, tmp_path, aiohttp_client):
    import backends

    options = {**s3_server.storage_options(), "secret": "sEcReT-vAlUe-42"}
    team = backends.open_store(f"s3://{s3_server.new_bucket()}/pools", options)
    client = await aiohttp_client(make_app(StoreSet(store, {"team": team}), tmp_path))
    resp = await client.get("/grid_pool/stores")
    text = await resp.text()
    assert "sEcReT" not in text and "testing" not in text
    stores = json.loads(text)["stores"]
    assert [s["name"] for s in stores] == ["default", "team"]
    assert stores[0]["default"] is True and stores[0]["kind"] == store.kind
    assert stores[1] == {
        "name": "team",
        "kind": "s3",
        "url": team.url,
        "default": False,
        "capabilities": {"conditional_write": True, "server_side_copy": True, "atomic_replace": True},
        "concurrent_writes_safe": True,
    }
    team.close()
