"""The route table (comfy_nodes/routes.py ``ROUTES``): the one place a route
is declared. It lists the API of docs/API.md, its handlers are top-level
functions, and every route it mounts runs behind the guard, over real HTTP
on every backend: a request the guard refuses reaches no handler and
changes nothing."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import aiohttp
import pytest

from api_support import make_app, snapshot
from comfy_nodes import routes_pool, routes_profiles
from comfy_nodes.guard import Guard
from comfy_nodes.http_settings import HttpSettings
from comfy_nodes.routes import FORM_ROUTES, ROUTES, Route, build_routes
from poolstore import Pool, Registry, StoreSet
from support import png_bytes

ROOT = Path(__file__).resolve().parent.parent
RED = png_bytes(color=(255, 0, 0))


def test_the_table_is_the_api_of_the_documentation():
    documented = re.findall(r"`(GET|POST) (/grid_pool/[a-z_/]+)", (ROOT / "docs" / "API.md").read_text(encoding="utf-8"))
    declared = [(route.method, route.path) for route in ROUTES]
    assert len(set(declared)) == len(declared)
    assert sorted(declared) == sorted(set(documented))


def test_build_routes_mounts_the_table_and_nothing_else(tmp_path, store):
    mounted = build_routes(StoreSet(store), cache_dir=tmp_path / "thumbs")
    assert [(r.method, r.path) for r in mounted] == [(r.method, r.path) for r in ROUTES]
    assert all(getattr(r.handler, "poolstore_guarded", False) for r in mounted)


def test_handlers_are_top_level_functions_of_the_route_modules():
    for route in ROUTES:
        handler = route.handler
        module = routes_pool if handler.__module__ == routes_pool.__name__ else routes_profiles
        assert getattr(module, handler.__name__) is handler and handler.__qualname__ == handler.__name__
        assert inspect.iscoroutinefunction(handler)
        assert list(inspect.signature(handler).parameters) == ["api", "request"]


def test_a_row_says_what_body_its_route_reads():
    assert FORM_ROUTES == {"/grid_pool/add", "/grid_pool/set_mask", "/grid_pool/profiles/import"}
    with pytest.raises(ValueError):
        Route("GET", "/grid_pool/x", routes_pool.pool_list, "json")
    with pytest.raises(ValueError):
        Route("POST", "/grid_pool/x", routes_pool.pool_remove)


def _form() -> aiohttp.FormData:
    form = aiohttp.FormData()
    for name, value in (("pool_id", "p1"), ("index", "0"), ("name", "x")):
        form.add_field(name, value)
    for name in ("image", "mask", "file"):
        form.add_field(name, RED, filename="up.png", content_type="image/png")
    return form


async def test_every_route_runs_behind_the_guard(store, raw, tmp_path, aiohttp_client):
    """Requests that would change the store if they reached a handler (they name
    a pool with an image and a profile) are refused by the guard on every route:
    a foreign Host name (421), a write from another site (403), a body of the
    wrong type (415)."""
    Pool(store, "p1").add([RED])
    profile = Registry(store).create("a" * 32, "made")["id"]
    app = make_app(StoreSet(store), tmp_path, guard=Guard(HttpSettings()))
    client = await aiohttp_client(app)
    json_body = {"pool_id": "p1", "index": 0, "image": "img_0001.png", "label": "x", "order": [0], "id": profile,
                 "name": "x", "from": "p1", "to_store": "default"}
    before = snapshot(raw)
    for route in ROUTES:
        params = {"pool_id": "p1", "image": "img_0001.png", "id": profile}
        resp = await client.request(route.method, route.path, params=params, json=json_body,
                                    headers={"Host": f"rebound.example:{client.port}"})
        assert (resp.status, (await resp.json())["error"]["code"]) == (421, "misdirected"), route.path
        if route.method == "GET":
            continue
        resp = await client.post(route.path, json=json_body, headers={"Origin": "https://evil.example"})
        assert (resp.status, (await resp.json())["error"]["code"]) == (403, "cross_origin"), route.path
        wrong = {"json": json_body} if route.body == "form" else {"data": _form()}
        resp = await client.post(route.path, **wrong)
        assert (resp.status, (await resp.json())["error"]["code"]) == (415, "unsupported_media_type"), route.path
    assert snapshot(raw) == before
