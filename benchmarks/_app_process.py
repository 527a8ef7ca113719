"""poolstore's HTTP app for the benchmarks, on 127.0.0.1 and a free port.

Run as ``python -m benchmarks._app_process '<stores JSON>'`` where the JSON
maps store names to ``{"url", "storage_options"}`` (``default`` required).
Prints ``{"port": N}`` once it serves, and serves until standard input closes.

Besides poolstore's own routes it mounts one baseline route,
``GET /bench/naive_export?store=&id=``: a naive export that deflates the
profile into a temporary zip and sends that file when it is complete.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import web

from backends import open_store
from poolstore import StoreSet

from .baselines import naive_export_to_temp
from .servers import ROOT


def open_stores(config: dict[str, dict[str, Any]]) -> StoreSet:
    """The configured stores (``default`` plus named ones)."""
    opened = {name: open_store(c["url"], c.get("storage_options")) for name, c in config.items()}
    default = opened.pop("default")
    return StoreSet(default, opened)


def naive_export_route(stores: StoreSet) -> web.RouteDef:
    """The deflate-to-temp-then-send baseline as a route."""

    async def handler(request: web.Request) -> web.StreamResponse:
        store = stores.get(request.query.get("store") or None)
        tmp = Path(tempfile.mkstemp(suffix=".zip")[1])
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, naive_export_to_temp, store, request.query["id"], tmp)
        response = web.StreamResponse(headers={"Content-Type": "application/zip"})
        response.content_length = tmp.stat().st_size
        await response.prepare(request)
        try:
            with open(tmp, "rb") as f:
                while chunk := await loop.run_in_executor(None, f.read, 1 << 20):
                    await response.write(chunk)
        finally:
            tmp.unlink(missing_ok=True)
        await response.write_eof()
        return response

    return web.get("/bench/naive_export", handler)


def build_app(stores: StoreSet) -> web.Application:
    """poolstore's standalone app plus the baseline route."""
    from comfy_nodes.serve import create_app

    cache = os.environ.get("POOLSTORE_CACHE_DIR")
    app = create_app(stores, web_dir=ROOT / "web", cache_dir=os.path.join(cache, "thumbs") if cache else None)
    app.router.add_routes([naive_export_route(stores)])
    return app


async def serve(config: dict[str, dict[str, Any]]) -> None:
    stores = open_stores(config)
    runner = web.AppRunner(build_app(stores), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print(json.dumps({"port": port}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    await runner.cleanup()
    stores.close()


if __name__ == "__main__":
    asyncio.run(serve(json.loads(sys.argv[1])))
