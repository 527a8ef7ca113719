"""Item 1, rule by rule: the origin and content-type rules on the route table
as ComfyUI mounts it (``build_routes`` on a plain aiohttp app with no
middleware of ours, so nothing depends on how ComfyUI was started), over real
HTTP, on every backend. A refused request changes nothing in the store."""

from __future__ import annotations

import json

import pytest

ORIGIN_CASES = [
    # (headers, expected status) for a JSON create, as a browser or a client would send it
    ({"Origin": "http://evil.example"}, 403),
    ({"Origin": "null"}, 403),
    ({"Origin": "http://127.0.0.1:1"}, 403),  # same site, another port: another origin
    ({"Sec-Fetch-Site": "cross-site"}, 403),
    ({"Sec-Fetch-Site": "same-site"}, 403),
    ({"Origin": "https://allowed.example"}, 200),  # in the allowlist
    ({"Sec-Fetch-Site": "same-origin"}, 200),
    ({}, 200),  # not a web page (curl, scripts): allowed
]


@pytest.fixture
async def comfy_mounted(store, tmp_path, aiohttp_client):
    """The routes as ``comfy_nodes.register.register_routes`` mounts them (a plain
    app, no middleware of ours), with one allowed origin."""
    from aiohttp import web

    from comfy_nodes.guard import Guard
    from comfy_nodes.http_settings import HttpSettings
    from comfy_nodes.routes import build_routes
    from poolstore import StoreSet

    guard = Guard(HttpSettings(allowed_origins=frozenset({"https://allowed.example"})))
    app = web.Application()
    for route in build_routes(StoreSet(store), cache_dir=tmp_path / "thumbs", guard=guard):
        app.router.add_route(route.method, route.path, route.handler, **route.kwargs)
    return await aiohttp_client(app)


@pytest.mark.parametrize("headers,status", ORIGIN_CASES)
async def test_route_table_applies_the_origin_rule(comfy_mounted, raw, headers, status):
    client = comfy_mounted
    before = {k: raw.read(k) for k in raw.keys()}
    resp = await client.post("/grid_pool/profiles/create", json={"name": "made"}, headers=headers)
    body = await resp.json()
    assert resp.status == status, body
    if status == 403:
        assert body["error"]["code"] == "cross_origin"
        assert {k: raw.read(k) for k in raw.keys()} == before


async def test_route_table_accepts_its_own_origin_and_refuses_simple_content_types(comfy_mounted, raw):
    client = comfy_mounted
    own = str(client.make_url("")).rstrip("/")
    resp = await client.post("/grid_pool/profiles/create", json={"name": "own"}, headers={"Origin": own})
    assert resp.status == 200, await resp.text()
    before = {k: raw.read(k) for k in raw.keys()}
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None):
        headers = {"Content-Type": ctype} if ctype else {}
        resp = await client.post("/grid_pool/profiles/create", data=json.dumps({"name": "x"}).encode(), headers=headers)
        body = await resp.json()
        assert resp.status == 415 and body["error"]["code"] == "unsupported_media_type", (ctype, body)
    resp = await client.post("/grid_pool/add", data=b"pool_id=p", headers={"Content-Type": "text/plain"})
    assert resp.status == 415
    assert {k: raw.read(k) for k in raw.keys()} == before
