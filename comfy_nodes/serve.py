"""``poolstore serve``: the HTTP API and the standalone pool page, without ComfyUI.

``GET /`` answers the standalone page (:data:`STANDALONE_PAGE` under the web
folder), ``/web/...`` the files of the web folder, ``/grid_pool/...`` the
API of docs/API.md. It listens on 127.0.0.1:8190 by default.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import socket
import sys
from pathlib import Path

from aiohttp import web

from ._layers import StoreSet, poolstore
from .config import PACK_DIR, StoreSpec, open_stores
from .routes import build_routes

__all__ = ["add_arguments", "run", "create_app", "main", "STANDALONE_PAGE", "WEB_DIR"]

_INSTALLED_WEB = Path(__file__).resolve().parent / "web"
WEB_DIR = _INSTALLED_WEB if _INSTALLED_WEB.is_dir() else PACK_DIR / "web"
"""The web folder: shipped inside the package when pip-installed, else the pack's."""
STANDALONE_PAGE = "standalone/index.html"
"""The page ``GET /`` answers, relative to the web folder."""
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8190


def create_app(
    stores: StoreSet,
    *,
    web_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> web.Application:
    """The standalone app: the API routes for ``stores``, the page and the web files.

    The app does not own ``stores``: the caller closes them.
    """
    folder = Path(web_dir) if web_dir is not None else WEB_DIR
    app = web.Application()
    app.add_routes(build_routes(stores, cache_dir=cache_dir))

    async def index(request: web.Request) -> web.StreamResponse:
        page = folder / STANDALONE_PAGE
        if not page.is_file():
            return web.Response(status=404, text=f"the standalone page ({STANDALONE_PAGE}) is not installed\n")
        return web.FileResponse(page, headers={"Cache-Control": "no-cache"})

    app.router.add_get("/", index)
    if folder.is_dir():
        app.router.add_static("/web/", folder, follow_symlinks=False)
    return app


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``serve`` itself to ``parser``; the common ones (``--store``,
    ``--storage-option``, ``--debug``...) come from :mod:`poolstore.cli`."""
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any free)")
    parser.add_argument("--cache-dir", default=None, help="thumbnail cache folder")
    parser.add_argument("--web-dir", default=None, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; returns the exit code.

    ``args`` are those of ``poolstore serve``: the options of :func:`add_arguments`
    and the common ``store`` (``None`` when not given) and ``storage_options``
    (parsed) of :mod:`poolstore.cli`. Without ``--store`` the stores come from
    the configuration (``$POOLSTORE_URL``, the config file, ``./grid_pool``).
    """
    try:
        options = args.storage_options
        url = args.store or (os.environ.get("POOLSTORE_URL") if options else None)
        if options and not url:
            raise ValueError("--storage-option needs --store (or $POOLSTORE_URL)")
        default = StoreSpec("default", url, options) if url else None
        stores = open_stores(default)
    except ValueError as exc:
        print(f"poolstore serve: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(create_app(stores, web_dir=args.web_dir, cache_dir=args.cache_dir), args.host, args.port, stores))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"poolstore serve: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    finally:
        stores.close()
    return 0


async def _serve(app: web.Application, host: str, port: int, stores: StoreSet) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
        bound = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        print(f"poolstore serve: http://{shown}:{bound}/  (store: {stores.default.url})", flush=True)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    """``python -m comfy_nodes.serve [options]``: the same as ``poolstore serve [options]``."""
    cli = importlib.import_module(f"{poolstore.__name__}.cli")
    return cli.main(["serve", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
