"""``poolstore serve``: the HTTP API and the standalone pool page, without ComfyUI.

``GET /`` answers the standalone page (:data:`STANDALONE_PAGE` under the web
folder), ``/web/...`` the files of the web folder, ``/grid_pool/...`` the
API of docs/API.md. It listens on 127.0.0.1:8190 by default.

Every route runs behind one :class:`~comfy_nodes.guard.Guard` (host rule,
origin rule, access token, ``--read-only``) and every answer carries the
security headers; connections are bounded by a
:class:`~comfy_nodes.connections.ConnectionGuard`. Listening on an address
other than loopback needs an access token (``$POOLSTORE_TOKEN`` or ``[http]
token``; never an argument, which other local users could read); with one,
every route needs it: ``Authorization: Bearer <token>``, or the session
cookie that ``/login`` sets.

This module is the ``serve`` command of ``poolstore`` (the entry point group
``poolstore.commands`` in pyproject.toml; see :mod:`poolstore._cli_contributed`):
:data:`HELP`, :func:`add_arguments` and :func:`run`.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import importlib
import ipaddress
import os
import socket
import sys
from pathlib import Path

from aiohttp import web

from ._layers import StoreConfigError, StoreSet, poolstore
from .config import PACK_DIR, StoreSpec, open_stores
from .connections import ConnectionGuard
from .guard import SESSION_COOKIE, Guard, add_security_headers, page_csp, session_value
from .http_settings import HttpSettings, load_http_settings
from .routes import build_routes

__all__ = ["HELP", "add_arguments", "run", "create_app", "main", "STANDALONE_PAGE", "WEB_DIR"]

_INSTALLED_WEB = Path(__file__).resolve().parent / "web"
WEB_DIR = _INSTALLED_WEB if _INSTALLED_WEB.is_dir() else PACK_DIR / "web"
"""The web folder: shipped inside the package when pip-installed, else the pack's."""
STANDALONE_PAGE = "standalone/index.html"
"""The page ``GET /`` answers, relative to the web folder."""
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8190
HELP = "run the standalone pool browser (web page)"
"""The ``serve`` command's line in ``poolstore --help``."""
CONNECTIONS = web.AppKey("connections", ConnectionGuard)
"""Where :func:`create_app` keeps the app's connection guard (for :func:`run`)."""


def create_app(
    stores: StoreSet,
    *,
    web_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    settings: HttpSettings | None = None,
    read_only: bool = False,
) -> web.Application:
    """The standalone app: the API routes for ``stores``, the page and the web files.

    ``settings`` default to :func:`~comfy_nodes.http_settings.load_http_settings`;
    with a token in them, every route needs it. The app does not own
    ``stores``: the caller closes them.
    """
    settings = settings if settings is not None else load_http_settings()
    folder = Path(web_dir) if web_dir is not None else WEB_DIR
    guard = Guard(settings, token_required=True, read_only=read_only, strict_hosts=True, login_path="/login")
    connections = ConnectionGuard(settings)
    app = web.Application(middlewares=[connections.middleware(), guard.middleware()])
    app[CONNECTIONS] = connections
    app.on_response_prepare.append(_secure_answer)
    app.add_routes(build_routes(stores, cache_dir=cache_dir, guard=guard))

    async def index(request: web.Request) -> web.StreamResponse:
        page = folder / STANDALONE_PAGE
        if not page.is_file():
            return web.Response(status=404, text=f"the standalone page ({STANDALONE_PAGE}) is not installed\n")
        text = page.read_text(encoding="utf-8")
        headers = {"Cache-Control": "no-cache", "Content-Security-Policy": page_csp(text)}
        return web.Response(text=text, content_type="text/html", headers=headers)

    app.router.add_get("/", index)
    if settings.token:
        _add_login(app, settings.token)
    if folder.is_dir():
        app.router.add_static("/web/", folder, follow_symlinks=False)
    return app


async def _secure_answer(request: web.Request, response: web.StreamResponse) -> None:
    add_security_headers(response)


_LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>poolstore — log in</title></head>
<body><h1>poolstore</h1><p>{message}</p>
<form method="post" action="/login"><label>Access token
<input type="password" name="token" autocomplete="current-password" autofocus></label>
<button type="submit">Log in</button></form></body></html>
"""


_LOGIN_CSP = "default-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"


def _add_login(app: web.Application, token: str) -> None:
    """``GET /login`` (a form) and ``POST /login`` (sets the session cookie:
    HttpOnly, SameSite=Strict; Secure when the request came over HTTPS)."""

    def page(message: str, status: int = 200) -> web.Response:
        return web.Response(text=_LOGIN_PAGE.format(message=html.escape(message)), content_type="text/html",
                            status=status, headers={"Content-Security-Policy": _LOGIN_CSP})

    async def login_form(request: web.Request) -> web.Response:
        return page("This server needs its access token.")

    async def login(request: web.Request) -> web.StreamResponse:
        form = await request.post() if request.content_type == "application/x-www-form-urlencoded" else {}
        given = form.get("token", "")
        if not isinstance(given, str) or not Guard.token_matches(given, token):
            return page("That token is not right.", status=401)
        response = web.HTTPSeeOther("/")
        response.set_cookie(SESSION_COOKIE, session_value(token), httponly=True, samesite="Strict",
                            secure=request.secure, path="/")
        return response

    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``serve`` itself to ``parser``; the common ones (``--store``,
    ``--storage-option``, ``--debug``...) come from :mod:`poolstore.cli`."""
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any free)")
    parser.add_argument("--cache-dir", default=None, help="thumbnail cache folder")
    parser.add_argument(
        "--read-only", action="store_true",
        help="serve the page and the read routes only; every change is refused (403)",
    )
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
        settings = load_http_settings()
        _check_listen(args.host, settings)
        stores = open_stores(default)
    except ValueError as exc:
        print(f"poolstore serve: {exc}", file=sys.stderr)
        return 2
    try:
        app = create_app(stores, web_dir=args.web_dir, cache_dir=args.cache_dir, settings=settings,
                         read_only=args.read_only)
        asyncio.run(_serve(app, args.host, args.port, stores))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"poolstore serve: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    finally:
        stores.close()
    return 0


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) is a loopback address."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_listen(host: str, settings: HttpSettings) -> None:
    if not is_loopback(host) and not settings.token:
        raise StoreConfigError(
            f"listening on {host} (beyond this machine) needs an access token: set POOLSTORE_TOKEN or "
            "token in the [http] table of the config file (at least 16 characters)"
        )


async def _serve(app: web.Application, host: str, port: int, stores: StoreSet) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family)
    connections = app[CONNECTIONS]
    runner = web.AppRunner(app, keepalive_timeout=connections.settings.idle_timeout)
    await runner.setup()
    handler = runner.server
    assert handler is not None  # made by setup()
    server = None
    try:
        server = await asyncio.get_running_loop().create_server(connections.protocol_factory(handler), sock=sock)
        connections.start()
        bound = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        print(f"poolstore serve: http://{shown}:{bound}/  (store: {stores.default.url})", flush=True)
        await asyncio.Event().wait()
    finally:
        await connections.stop()
        if server is not None:
            server.close()
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    """``python -m comfy_nodes.serve [options]``: the same as ``poolstore serve [options]``."""
    cli = importlib.import_module(f"{poolstore.__name__}.cli")
    return cli.main(["serve", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
