"""The ComfyUI entry point (the repo-root ``__init__.py``), imported with
stand-in ``server`` and ``folder_paths`` modules (ComfyUI is absent here):
node mappings, routes on PromptServer, no I/O at import, lazy store config."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest
from aiohttp import web

from comfy_nodes import config
from pack_support import API_PATHS, PACK_DIR, assert_pack_works, load_in_comfyui_order
from support import png_bytes



def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def comfy(tmp_path, monkeypatch):
    """Stand-ins for ComfyUI's ``server`` and ``folder_paths``, only in this test."""
    base = tmp_path / "ComfyUI"
    (base / "input").mkdir(parents=True)
    (base / "user").mkdir()
    folder_paths = types.ModuleType("folder_paths")
    folder_paths.get_input_directory = lambda: str(base / "input")
    folder_paths.get_user_directory = lambda: str(base / "user")
    server = types.ModuleType("server")
    server.PromptServer = type("PromptServer", (), {"instance": types.SimpleNamespace(routes=web.RouteTableDef())})
    monkeypatch.setitem(sys.modules, "folder_paths", folder_paths)
    monkeypatch.setitem(sys.modules, "server", server)
    for name in ("POOLSTORE_URL", "POOLSTORE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("POOLSTORE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    config.use_stores(None)
    yield base, server.PromptServer.instance.routes
    previous = config.use_stores(None)
    if previous is not None:
        previous.close()


_loaded = iter(range(1_000_000))


def _load_pack():
    """Import the entry as ComfyUI does: a package under a name of its own,
    registered in ``sys.modules`` before it runs (a new name each time, so
    each test gets fresh copies of the pack's modules)."""
    name = f"poolstore_pack_under_test_{next(_loaded)}"
    spec = importlib.util.spec_from_file_location(name, PACK_DIR / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_entry_point_registers_nodes_and_routes_without_io(comfy, tmp_path):
    base, routes = comfy
    before = _files(tmp_path)
    pack = _load_pack()
    assert set(pack.NODE_CLASS_MAPPINGS) == {"GridImagePool", "PoolProfile"}
    assert pack.NODE_DISPLAY_NAME_MAPPINGS == {"GridImagePool": "Image Pool (Grid)", "PoolProfile": "Pool Profile"}
    assert pack.WEB_DIRECTORY == "./web"
    assert {r.path for r in routes} == API_PATHS
    assert _files(tmp_path) == before  # no folder, no cache, no config read into existence


async def test_registered_routes_use_comfyui_input_folder_lazily(comfy, tmp_path, aiohttp_client):
    base, routes = comfy
    _load_pack()
    app = web.Application()
    app.add_routes(routes)
    client = await aiohttp_client(app)
    form = __import__("aiohttp").FormData()
    form.add_field("pool_id", "p1")
    form.add_field("image", png_bytes(), filename="a.png", content_type="image/png")
    assert (await client.post("/grid_pool/add", data=form)).status == 200
    assert (base / "input" / "grid_pool" / "p1" / "img_0001.png").read_bytes() == png_bytes()
    resp = await client.post("/grid_pool/stage", json={"pool_id": "p1", "image": "img_0001.png"})
    ref = await resp.json()
    assert ref["type"] == "input" and ref["subfolder"] == "grid_pool_stage"
    assert (base / "input" / "grid_pool_stage" / ref["filename"]).is_file()
    assert not (tmp_path / "grid_pool").exists()


async def test_named_stores_from_the_comfyui_user_config(comfy, tmp_path, aiohttp_client):
    base, routes = comfy
    (base / "user" / "poolstore.toml").write_text(
        '[stores.team]\nurl = "memory://entry-team"\n[stores.other]\nurl = "%s"\n' % (tmp_path / "other").as_posix()
    )
    _load_pack()
    app = web.Application()
    app.add_routes(routes)
    client = await aiohttp_client(app)
    stores = (await (await client.get("/grid_pool/stores")).json())["stores"]
    assert [(s["name"], s["kind"]) for s in stores] == [("default", "local"), ("other", "local"), ("team", "memory")]
    assert stores[0]["url"] == str(base / "input" / "grid_pool")


# -- beside other packs that ship modules of the same names -----------------------------
FOREIGN_PACK = '''\
"""A custom node pack that puts its folder on sys.path and imports its own
top-level backends, comfy_nodes and utils, as packs in the wild do."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import backends
import comfy_nodes
import utils

AT_IMPORT = [backends.OWNER, comfy_nodes.OWNER, utils.OWNER]


def report():
    import backends, comfy_nodes, utils  # at call time, through sys.modules

    return {"at_import": AT_IMPORT, "now": [backends.OWNER, comfy_nodes.OWNER, utils.OWNER]}


class {owner}Node:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {}}


NODE_CLASS_MAPPINGS = {"{owner}Node": {owner}Node}
'''


def _foreign_pack(custom_nodes: Path, owner: str) -> Path:
    """A pack named ``owner`` whose backends (a package), comfy_nodes and utils
    (modules) say they are ``owner``'s."""
    folder = custom_nodes / owner
    (folder / "backends").mkdir(parents=True)
    (folder / "__init__.py").write_text(FOREIGN_PACK.replace("{owner}", owner))
    (folder / "backends" / "__init__.py").write_text(f"OWNER = {owner!r}\n")
    for name in ("comfy_nodes", "utils"):
        (folder / f"{name}.py").write_text(f"OWNER = {owner!r}\n")
    return folder


@pytest.mark.parametrize("basename_names", [False, True], ids=["path-name", "folder-name"])
def test_a_pack_loaded_before_keeps_its_modules_and_ours_use_their_own(tmp_path, basename_names):
    """A pack loaded first owns the top-level backends, comfy_nodes and utils;
    the poolstore pack loads beside it (under the module name ComfyUI gives
    it today, or the folder name older versions gave), without taking them
    and without using them, at import or later."""
    before = _foreign_pack(tmp_path / "custom_nodes", "Alpha")
    report = load_in_comfyui_order(tmp_path, [before, PACK_DIR], basename_names=basename_names)
    assert report["foreign"]["Alpha"] == {"at_import": ["Alpha"] * 3, "now": ["Alpha"] * 3}
    modules = assert_pack_works(report, tmp_path)
    assert modules["top_level"]["backends"] == str(before / "backends" / "__init__.py")
    assert modules["top_level"]["comfy_nodes"] == str(before / "comfy_nodes.py")


def test_a_pack_loaded_after_gets_its_own_modules_not_ours(tmp_path):
    after = _foreign_pack(tmp_path / "custom_nodes", "Omega")
    report = load_in_comfyui_order(tmp_path, [PACK_DIR, after])
    assert report["foreign"]["Omega"] == {"at_import": ["Omega"] * 3, "now": ["Omega"] * 3}
    assert_pack_works(report, tmp_path)
