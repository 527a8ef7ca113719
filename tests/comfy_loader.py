"""Load custom node packs the way ComfyUI does, without ComfyUI, and report.

Run as a script in a fresh interpreter (the tests start it in a subprocess)::

    python comfy_loader.py BASE PACK_DIR... [--poolstore PACK_DIR] [--basename-names]

``BASE`` is the stand-in ComfyUI folder (``input``, ``user`` are made there).
Each pack folder is imported in the order given as ComfyUI's ``load_custom_node``
does: ``spec_from_file_location`` of its ``__init__.py`` under a module name
(the folder path with ``.`` as ``_x_``, as ComfyUI names it today, or with
``--basename-names`` the folder's base name, as older ComfyUI versions did),
registered in ``sys.modules`` before it runs. Stand-ins for ComfyUI's
``server`` and ``folder_paths`` modules come first.

Then it prints one JSON document: for each foreign pack (one that defines
``report()``) what its modules were at import and are now; for the poolstore
pack (``--poolstore`` names which folder it is) its nodes' ``INPUT_TYPES``,
an image added and listed over real HTTP through the registered routes, the
node's output for it (when torch is installed), where its modules were loaded
from, and any of them registered under a top-level name.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import io
import json
import os
import sys
import types

LAYERS = ("backends", "poolstore", "comfy_nodes")


def stand_ins(base: str):
    """ComfyUI's ``server`` and ``folder_paths`` modules, as far as the pack uses them."""
    from aiohttp import web

    for sub in ("input", "user", "temp"):
        os.makedirs(os.path.join(base, sub), exist_ok=True)
    folder_paths = types.ModuleType("folder_paths")
    folder_paths.get_input_directory = lambda: os.path.join(base, "input")
    folder_paths.get_user_directory = lambda: os.path.join(base, "user")
    folder_paths.get_temp_directory = lambda: os.path.join(base, "temp")
    routes = web.RouteTableDef()
    server = types.ModuleType("server")
    server.PromptServer = type("PromptServer", (), {"instance": types.SimpleNamespace(routes=routes)})
    sys.modules["folder_paths"] = folder_paths
    sys.modules["server"] = server
    return routes


def load_custom_node(path: str, basename: bool) -> types.ModuleType:
    """What ComfyUI's ``nodes.load_custom_node`` does for a pack folder."""
    name = os.path.basename(path) if basename else path.replace(".", "_x_")
    spec = importlib.util.spec_from_file_location(name, os.path.join(path, "__init__.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


async def add_and_list(routes) -> dict:
    """Mount the registered routes on a plain aiohttp app; add an image, list the pool."""
    from aiohttp import FormData, web
    from aiohttp.test_utils import TestClient, TestServer

    app = web.Application()
    app.add_routes(routes)
    async with TestClient(TestServer(app)) as client:
        form = FormData()
        form.add_field("pool_id", "p1")
        form.add_field("image", png(), filename="a.png", content_type="image/png")
        added = await client.post("/grid_pool/add", data=form)
        listed = await client.get("/grid_pool/list", params={"pool_id": "p1"})
        return {"add_status": added.status, "list": await listed.json()}


def run_node(mappings: dict) -> list | str:
    try:
        import torch  # noqa: F401
    except ImportError:
        return "no torch"
    image, mask, index, count, label = mappings["GridImagePool"]().run(index=-1, pool_id="p1")
    return [list(image.shape), list(mask.shape), index, count, label]


def our_modules(pack: types.ModuleType, folder: str) -> dict:
    """Where the pack's modules came from, and any of them under a top-level name."""
    folder = os.path.realpath(folder)
    files = {}
    for name, module in list(sys.modules.items()):
        if name in ("__main__", "__mp_main__"):  # this script
            continue
        file = getattr(module, "__file__", None)
        if file and os.path.realpath(file).startswith(folder + os.sep):
            files[name] = file
    prefix = pack.__name__ + "."
    return {
        "outside": sorted(n for n in files if n != pack.__name__ and not n.startswith(prefix)),
        "layers": {layer: sys.modules[prefix + layer].__file__ for layer in LAYERS if prefix + layer in sys.modules},
        "top_level": {layer: getattr(sys.modules.get(layer), "__file__", None) for layer in LAYERS},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("packs", nargs="+")
    parser.add_argument("--poolstore", required=True)
    parser.add_argument("--basename-names", action="store_true")
    args = parser.parse_args()
    routes = stand_ins(args.base)
    loaded = [(path, load_custom_node(path, args.basename_names)) for path in args.packs]
    report: dict = {"foreign": {}}
    for path, module in loaded:
        if hasattr(module, "report"):
            report["foreign"][os.path.basename(path)] = module.report()
        if path == args.poolstore:
            ours = module
    mappings = ours.NODE_CLASS_MAPPINGS
    report["poolstore"] = {
        "name": ours.__name__,
        "nodes": sorted(mappings),
        "input_types": {key: sorted(cls.INPUT_TYPES()) for key, cls in mappings.items()},
        "routes": sorted({r.path for r in routes}),
        "http": asyncio.run(add_and_list(routes)),
        "node": run_node(mappings),
        "modules": our_modules(ours, args.poolstore),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
