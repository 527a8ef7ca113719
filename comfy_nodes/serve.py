"""``poolstore serve``: the HTTP API and the standalone pool page, without ComfyUI.

``GET /`` answers the standalone page (:data:`STANDALONE_PAGE` under the web
folder), ``/web/...`` the files of the web folder, ``/grid_pool/...`` the
API of docs/API.md. It listens on 127.0.0.1:8190 by default.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from pathlib import Path

from aiohttp import web

from ._layers import StoreSet
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
    """Add the ``serve`` options to ``parser``."""
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any free)")
    parser.add_argument(
        "--store", metavar="URL", default=None,
        help="the default store (default: $POOLSTORE_URL, else ./grid_pool)",
    )
    parser.add_argument(
        "--storage-option", "-o", metavar="KEY=VALUE", action="append", default=[],
        help="an fsspec storage option for --store (repeatable)",
    )
    parser.add_argument("--cache-dir", default=None, help="thumbnail cache folder")
    parser.add_argument("--web-dir", default=None, help=argparse.SUPPRESS)


def _options(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--storage-option takes KEY=VALUE, got {pair!r}")
        out[key.strip()] = value
    return out


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; returns the exit code."""
    try:
        options = _options(args.storage_option)
        if options and not args.store:
            raise ValueError("--storage-option needs --store")
        default = StoreSpec("default", args.store, options) if args.store else None
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
    """``python -m comfy_nodes.serve [options]``."""
    parser = argparse.ArgumentParser(prog="poolstore serve", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
