"""Bad and hostile requests on every route and backend: each gets the documented
4xx JSON error and changes nothing (the store read raw before and after, and
a sentinel folder beside a local store's root that traversal would reach)."""

from __future__ import annotations

import json

import aiohttp
import pytest

from api_support import error_of, image_form, make_app, mask_form, snapshot
from poolstore import StoreSet
from support import png_bytes

RED = png_bytes(color=(255, 0, 0))


@pytest.fixture
def sentinel(sentinel):
    """The shared sentinel, made to look like a pool as well."""
    (sentinel / "manifest.json").write_bytes(b'{"slots": []}')
    return sentinel


def _sentinel_state(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
async def setup(store, raw, tmp_path, sentinel, aiohttp_client):
    """A pool p1 with one image and a mask, a profile A, and the stage folder."""
    stage = tmp_path / "input" / "grid_pool_stage"
    client = await aiohttp_client(
        make_app(StoreSet(store), tmp_path, stage_dir=stage, max_add_bytes=200_000, max_import_bytes=20_000)
    )
    assert (await client.post("/grid_pool/add", data=image_form("p1", RED))).status == 200
    assert (await client.post("/grid_pool/set_mask", data=mask_form("p1", png_bytes(mode="L"), index=0))).status == 200
    resp = await client.post("/grid_pool/profiles/create", json={"name": "A"})
    profile = (await resp.json())["profile"]["id"]
    return client, profile


def _traversal_ids(tmp_path):
    return [
        "../sentinel",
        "..",
        ".",
        "p1/../../sentinel",
        "..\\sentinel",
        str(tmp_path / "sentinel"),
        "default:../sentinel",
        "default:" + str(tmp_path / "sentinel"),
        "team:../sentinel",
        "../sentinel:p1",
        "p1\x00",
        "a" * 65,
        "",
    ]


_BAD_IMAGE_NAMES = ["../../sentinel/keep.txt", "../manifest.json", "manifest.json", "/etc-like/abs.png", "img_0001.png/..", ".hidden.png", "x.txt"]


def _id_requests(profile):
    """(method, path, how, fields) where "{X}" marks the field under attack."""
    return [
        ("GET", "/grid_pool/list", "query", {"pool_id": "{X}"}),
        ("POST", "/grid_pool/add", "images", {"pool_id": "{X}"}),
        ("POST", "/grid_pool/remove", "json", {"pool_id": "{X}", "index": 0}),
        ("POST", "/grid_pool/active", "json", {"pool_id": "{X}", "index": 0}),
        ("POST", "/grid_pool/label", "json", {"pool_id": "{X}", "index": 0, "label": "x"}),
        ("POST", "/grid_pool/reorder", "json", {"pool_id": "{X}", "order": [0]}),
        ("POST", "/grid_pool/set_mask", "mask", {"pool_id": "{X}", "index": "0"}),
        ("GET", "/grid_pool/image", "query", {"pool_id": "{X}", "image": "img_0001.png"}),
        ("GET", "/grid_pool/thumb", "query", {"pool_id": "{X}", "image": "img_0001.png"}),
        ("POST", "/grid_pool/stage", "json", {"pool_id": "{X}", "image": "img_0001.png"}),
        ("POST", "/grid_pool/profiles/rename", "json", {"id": "{X}", "name": "N"}),
        ("POST", "/grid_pool/profiles/delete", "json", {"id": "{X}"}),
        ("POST", "/grid_pool/profiles/duplicate", "json", {"id": "{X}"}),
        ("POST", "/grid_pool/profiles/seed", "json", {"from": "{X}", "id": profile}),
        ("POST", "/grid_pool/profiles/seed", "json", {"from": "p1", "id": "{X}"}),
        ("POST", "/grid_pool/profiles/adopt", "json", {"pool_id": "{X}", "name": "N"}),
        ("GET", "/grid_pool/profiles/export", "query", {"id": "{X}"}),
        ("POST", "/grid_pool/profiles/copy", "json", {"id": "{X}", "to_store": "default"}),
    ]


async def _send(client, method, path, how, fields):
    if how == "query":
        return await client.request(method, path, params=fields)
    if how == "json":
        return await client.post(path, json=fields)
    form = aiohttp.FormData()
    for k, v in fields.items():
        form.add_field(k, v)
    if how == "images":
        form.add_field("image", RED, filename="a.png", content_type="image/png")
    else:
        form.add_field("mask", png_bytes(mode="L"), filename="m.png", content_type="image/png")
    return await client.post(path, data=form)


def _with(fields, value):
    return {k: (value if v == "{X}" else v) for k, v in fields.items()}


def _unchanged(raw, before, sentinel, sentinel_before, tmp_path):
    assert snapshot(raw) == before
    assert _sentinel_state(sentinel) == sentinel_before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name not in {"store", "thumb-cache", "input"}) == ["sentinel"]


async def test_traversal_in_every_id_field_is_refused(setup, raw, tmp_path, sentinel):
    client, profile = setup
    before, sentinel_before = snapshot(raw), _sentinel_state(sentinel)
    for method, path, how, fields in _id_requests(profile):
        for bad in _traversal_ids(tmp_path):
            if "\x00" in bad and how in ("images", "mask"):
                continue  # a NUL cannot travel in a multipart header value
            resp = await _send(client, method, path, how, _with(fields, bad))
            err = await error_of(resp, 400)
            assert err["code"] == "invalid", (path, bad)
    _unchanged(raw, before, sentinel, sentinel_before, tmp_path)


async def test_traversal_in_store_fields_is_refused(setup, raw, tmp_path, sentinel):
    client, profile = setup
    before, sentinel_before = snapshot(raw), _sentinel_state(sentinel)
    for bad in ["../sentinel", str(tmp_path / "sentinel"), "Team", "..", "a/b"]:
        await error_of(await client.get("/grid_pool/profiles/list", params={"store": bad}), 400)
        await error_of(await client.post("/grid_pool/profiles/create", json={"name": "N", "store": bad}), 400)
        body = {"id": profile, "to_store": bad}
        await error_of(await client.post("/grid_pool/profiles/copy", json=body), 400)
        form = aiohttp.FormData()
        form.add_field("file", b"PK\x05\x06" + b"\0" * 18, filename="a.zip")
        form.add_field("store", bad)
        await error_of(await client.post("/grid_pool/profiles/import", data=form), 400)
    _unchanged(raw, before, sentinel, sentinel_before, tmp_path)


async def test_traversal_in_image_names_is_refused(setup, raw, tmp_path, sentinel):
    client, _profile = setup
    before, sentinel_before = snapshot(raw), _sentinel_state(sentinel)
    for bad in _BAD_IMAGE_NAMES:
        for path in ("/grid_pool/image", "/grid_pool/thumb"):
            await error_of(await client.get(path, params={"pool_id": "p1", "image": bad}), 400)
            await error_of(await client.get(path, params={"pool_id": "p1", "image": bad, "kind": "mask"}), 400)
        await error_of(await client.post("/grid_pool/stage", json={"pool_id": "p1", "image": bad}), 400)
        for path in ("/grid_pool/remove", "/grid_pool/active"):
            await error_of(await client.post(path, json={"pool_id": "p1", "image": bad}), 404)
        await error_of(await client.post("/grid_pool/label", json={"pool_id": "p1", "image": bad, "label": "x"}), 404)
        await error_of(await client.post("/grid_pool/reorder", json={"pool_id": "p1", "order": [bad]}), 404)
        await error_of(await client.post("/grid_pool/set_mask", data=mask_form("p1", png_bytes(mode="L"), image=bad)), 404)
    _unchanged(raw, before, sentinel, sentinel_before, tmp_path)
    assert not (tmp_path / "input" / "grid_pool_stage").exists()


async def test_missing_fields_and_wrong_types(setup, raw):
    client, profile = setup
    before = snapshot(raw)
    json_cases = {
        "/grid_pool/remove": [{}, {"pool_id": "p1"}, {"pool_id": 7, "index": 0}, {"pool_id": "p1", "index": "x"},
                              {"pool_id": "p1", "index": True}, {"pool_id": "p1", "image": 3}, {"pool_id": "p1", "index": 1.5}],
        "/grid_pool/active": [{}, {"pool_id": ["p1"], "index": 0}, {"pool_id": "p1", "index": None}],
        "/grid_pool/label": [{"pool_id": "p1", "index": 0}, {"pool_id": "p1", "index": 0, "label": 5},
                             {"pool_id": "p1", "index": 0, "label": "bad\x01"}, {"pool_id": "p1", "index": 0, "label": "x" * 501}],
        "/grid_pool/reorder": [{"pool_id": "p1"}, {"pool_id": "p1", "order": "0"}, {"pool_id": "p1", "order": [0, 0]},
                               {"pool_id": "p1", "order": []}, {"pool_id": "p1", "order": [{"a": 1}]}],
        "/grid_pool/stage": [{"pool_id": "p1"}, {"image": "img_0001.png"}, {"pool_id": "p1", "image": 1}],
        "/grid_pool/profiles/create": [{}, {"name": ""}, {"name": "   "}, {"name": 5}, {"name": "a\nb"}, {"name": "x" * 121},
                                       {"name": "N", "store": 3}],
        "/grid_pool/profiles/rename": [{"id": profile}, {"name": "N"}, {"id": profile, "name": None}, {"id": 1, "name": "N"}],
        "/grid_pool/profiles/delete": [{}, {"id": None}, {"id": 12}],
        "/grid_pool/profiles/duplicate": [{}, {"id": profile, "name": 4}],
        "/grid_pool/profiles/seed": [{}, {"id": profile}, {"from": "p1"}, {"from": 1, "id": profile}],
        "/grid_pool/profiles/adopt": [{}, {"pool_id": "p1"}, {"name": "N"}, {"pool_id": "p1", "name": ""}],
        "/grid_pool/profiles/copy": [{}, {"id": profile}, {"to_store": "default"}, {"id": profile, "to_store": "default", "move": "yes"},
                                     {"id": profile, "to_store": 1}],
    }
    for path, bodies in json_cases.items():
        for body in bodies:
            err = await error_of(await client.post(path, json=body), 400)
            assert err["code"] == "invalid", (path, body)
    for path, params in [
        ("/grid_pool/list", {}),
        ("/grid_pool/image", {"pool_id": "p1"}),
        ("/grid_pool/image", {"pool_id": "p1", "image": "img_0001.png", "kind": "other"}),
        ("/grid_pool/thumb", {"pool_id": "p1", "image": "img_0001.png", "size": "x"}),
        ("/grid_pool/thumb", {"pool_id": "p1", "image": "img_0001.png", "size": "31"}),
        ("/grid_pool/thumb", {"pool_id": "p1", "image": "img_0001.png", "size": "513"}),
        ("/grid_pool/thumb", {"pool_id": "p1", "image": "img_0001.png", "size": "1e3"}),
        ("/grid_pool/profiles/export", {}),
    ]:
        await error_of(await client.get(path, params=params), 400)
    form = aiohttp.FormData()
    form.add_field("pool_id", "p1")
    form.add_field("label", "no image")
    await error_of(await client.post("/grid_pool/add", data=form), 400)
    await error_of(await client.post("/grid_pool/add", data=image_form(None, RED)), 400)
    await error_of(await client.post("/grid_pool/set_mask", data=mask_form("p1", png_bytes(mode="L"))), 400)
    await error_of(await client.post("/grid_pool/set_mask", data=mask_form("p1", png_bytes(mode="L"), index="x")), 400)
    form = aiohttp.FormData()
    form.add_field("name", "no file")
    form.add_field("other", b"x", filename="x.bin")
    await error_of(await client.post("/grid_pool/profiles/import", data=form), 400)
    assert snapshot(raw) == before


async def test_unknown_ids_are_not_found(setup, raw):
    client, profile = setup
    before = snapshot(raw)
    ghost = "0" * 32
    for path, body in [
        ("/grid_pool/remove", {"pool_id": "p1", "index": 1}),
        ("/grid_pool/remove", {"pool_id": "p1", "index": -1}),
        ("/grid_pool/active", {"pool_id": "p1", "image": "img_0009.png"}),
        ("/grid_pool/label", {"pool_id": "p1", "index": 4, "label": "x"}),
        ("/grid_pool/reorder", {"pool_id": "p1", "order": [3]}),
        ("/grid_pool/stage", {"pool_id": "p1", "image": "img_0009.png"}),
        ("/grid_pool/remove", {"pool_id": "nostore:p1", "index": 0}),
        ("/grid_pool/profiles/rename", {"id": ghost, "name": "N"}),
        ("/grid_pool/profiles/delete", {"id": ghost}),
        ("/grid_pool/profiles/duplicate", {"id": ghost}),
        ("/grid_pool/profiles/seed", {"from": "p1", "id": ghost}),
        ("/grid_pool/profiles/adopt", {"pool_id": ghost, "name": "N"}),
        ("/grid_pool/profiles/copy", {"id": ghost, "to_store": "default"}),
        ("/grid_pool/profiles/copy", {"id": profile, "to_store": "nostore"}),
        ("/grid_pool/profiles/create", {"name": "N", "store": "nostore"}),
    ]:
        err = await error_of(await client.post(path, json=body), 404)
        assert err["code"] == "not_found", (path, body)
    for path, params in [
        ("/grid_pool/image", {"pool_id": "p1", "image": "img_0009.png"}),
        ("/grid_pool/image", {"pool_id": "p2", "image": "img_0001.png", "kind": "mask"}),
        ("/grid_pool/thumb", {"pool_id": "p1", "image": "img_0009.png"}),
        ("/grid_pool/profiles/export", {"id": ghost}),
        ("/grid_pool/profiles/list", {"store": "nostore"}),
        ("/grid_pool/list", {"pool_id": "nostore:p1"}),
    ]:
        await error_of(await client.get(path, params=params), 404)
    await error_of(await client.post("/grid_pool/set_mask", data=mask_form("p1", None, index=3)), 404)
    assert snapshot(raw) == before


async def test_non_images_are_refused(setup, raw):
    client, _profile = setup
    before = snapshot(raw)
    truncated = RED[: len(RED) // 2]
    for data in [b"not an image", b"", truncated, b"%PDF-1.4\n", b"<svg xmlns='http://www.w3.org/2000/svg'/>"]:
        err = await error_of(await client.post("/grid_pool/add", data=image_form("p1", RED, data)), 400)
        assert err["code"] == "invalid"
        if data:
            await error_of(await client.post("/grid_pool/set_mask", data=mask_form("p1", data, index=0)), 400)
    form = aiohttp.FormData()
    form.add_field("file", b"this is not a zip", filename="x.zip")
    await error_of(await client.post("/grid_pool/profiles/import", data=form), 400)
    assert snapshot(raw) == before


async def test_oversize_uploads_are_too_large(setup, raw):
    client, _profile = setup
    before = snapshot(raw)
    big = png_bytes(size=(600, 600)) + b"\0" * 300_000  # past max_add_bytes=200_000
    err = await error_of(await client.post("/grid_pool/add", data=image_form("p1", big)), 413)
    assert err["code"] == "too_large"
    many = image_form("p1", *[RED] * 3, labels=["x" * 60_000] * 4)  # text fields count too
    await error_of(await client.post("/grid_pool/add", data=many), 413)
    form = aiohttp.FormData()
    form.add_field("file", b"PK" + b"\0" * 30_000, filename="x.zip")  # past max_import_bytes=20_000
    await error_of(await client.post("/grid_pool/profiles/import", data=form), 413)
    huge = b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    resp = await client.post("/grid_pool/profiles/create", data=huge, headers={"Content-Type": "application/json"})
    await error_of(resp, 413)
    assert snapshot(raw) == before


async def test_malformed_json_and_multipart(setup, raw):
    client, profile = setup
    before = snapshot(raw)
    for body in [b"{not json", b"[1, 2]", b"", b'"text"', b"\xff\xfe", b"null", b'{"pool_id": "p1", "index": 0'] :
        for path in ("/grid_pool/remove", "/grid_pool/profiles/create", "/grid_pool/stage"):
            resp = await client.post(path, data=body, headers={"Content-Type": "application/json"})
            assert (await error_of(resp, 400))["code"] == "invalid", (path, body)
    bad_multipart = [
        ("multipart/form-data", b"--x\r\n"),
        ("multipart/form-data; boundary=xyz", b"garbage without any boundary"),
        ("multipart/form-data; boundary=xyz", b'--xyz\r\nContent-Disposition: form-data; name="pool_id"\r\n\r\np1\r\n--xyz\r\n'
         b'Content-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n' + RED[:40]),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nNo-Headers-Here\r\n\r\nx\r\n--xyz--\r\n"),
    ]
    not_a_form = [("application/json", json.dumps({"pool_id": "p1"}).encode()), ("text/plain", b"pool_id=p1")]
    for ctype, body in bad_multipart + not_a_form:
        for path in ("/grid_pool/add", "/grid_pool/set_mask", "/grid_pool/profiles/import"):
            resp = await client.post(path, data=body, headers={"Content-Type": ctype})
            status, code = (400, "invalid") if ctype.startswith("multipart/") else (415, "unsupported_media_type")
            assert (await error_of(resp, status))["code"] == code, (path, ctype, body[:30])
    for path in ("/grid_pool/remove", "/grid_pool/profiles/rename"):
        resp = await client.post(path, data=image_form("p1", RED))
        assert (await error_of(resp, 415))["code"] == "unsupported_media_type"
    assert snapshot(raw) == before


async def test_unexpected_errors_are_generic_500_without_details(tmp_path, aiohttp_client, caplog):
    from aiohttp import web

    from comfy_nodes.routes import build_routes

    def broken_stores():
        raise RuntimeError("boom token=very-secret-value")

    app = web.Application()
    app.add_routes(build_routes(broken_stores, cache_dir=tmp_path / "c"))
    client = await aiohttp_client(app)
    resp = await client.get("/grid_pool/list", params={"pool_id": "p1"})
    text = await resp.text()
    assert resp.status == 500 and json.loads(text) == {"error": {"code": "internal", "message": "internal error; see the server log"}}
    assert "very-secret" not in text and "Traceback" not in text
    assert "boom" in caplog.text  # logged for the operator


async def test_unreachable_store_is_a_storage_error(tmp_path, aiohttp_client):
    import backends

    dead = backends.open_store("s3://no-such-bucket/pools", {"endpoint_url": "http://127.0.0.1:9", "key": "k", "secret": "s3cr3t-xyz",
                                                            "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 1}})
    client = await aiohttp_client(make_app(StoreSet(dead), tmp_path))
    resp = await client.get("/grid_pool/list", params={"pool_id": "p1"})
    text = await resp.text()
    assert resp.status == 502 and json.loads(text)["error"]["code"] == "storage_error"
    assert "s3cr3t" not in text
    dead.close()
