"""The ComfyUI entry point (the repo-root ``__init__.py``), imported with
stand-in ``server`` and ``folder_paths`` modules (ComfyUI is absent here):
node mappings, routes on PromptServer, no I/O at import, lazy store config."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
from aiohttp import web

from comfy_nodes import config
from support import png_bytes

PACK_DIR = Path(__file__).resolve().parent.parent
API_PATHS = {
    "/grid_pool/list", "/grid_pool/add", "/grid_pool/remove", "/grid_pool/active", "/grid_pool/label",
    "/grid_pool/reorder", "/grid_pool/set_mask", "/grid_pool/image", "/grid_pool/thumb", "/grid_pool/stage",
    "/grid_pool/profiles/list", "/grid_pool/profiles/create", "/grid_pool/profiles/rename",
    "/grid_pool/profiles/delete", "/grid_pool/profiles/duplicate", "/grid_pool/profiles/seed",
    "/grid_pool/profiles/adopt", "/grid_pool/profiles/export", "/grid_pool/profiles/import",
    "/grid_pool/profiles/copy", "/grid_pool/stores",
}


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


def _load_pack(name: str = "poolstore_pack_under_test"):
    spec = importlib.util.spec_from_file_location(name, PACK_DIR / "__init__.py", submodule_search_locations=[str(PACK_DIR)])
    module = importlib.util.module_from_spec(spec)
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


def test_pack_dir_is_put_on_sys_path_when_not_installed(tmp_path):
    """As ComfyUI loads it: a package named after its folder, with the pack's
    own packages not importable by name (no editable install, no PYTHONPATH)."""
    script = f"""
import importlib.util, sys, types
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in (getattr(f, "__name__", "") + type(f).__name__).lower()]
sys.path[:] = [p for p in sys.path if p not in ("", {str(PACK_DIR)!r})]
try:
    import comfy_nodes
    raise SystemExit("comfy_nodes importable before the pack was loaded")
except ImportError:
    pass
spec = importlib.util.spec_from_file_location("somefolder", {str(PACK_DIR / "__init__.py")!r},
                                              submodule_search_locations=[{str(PACK_DIR)!r}])
pack = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pack)
print(sorted(pack.NODE_CLASS_MAPPINGS))
"""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['GridImagePool', 'PoolProfile']"
