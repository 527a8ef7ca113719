"""``build_routes``: every HTTP route of docs/API.md for a set of stores.

ComfyUI mounts the table on ``PromptServer.instance.routes`` (so the routes
also answer under ``/api``); ``poolstore serve`` and the tests mount it on a
plain ``aiohttp.web.Application``. Every handler of the table runs behind a
:class:`~comfy_nodes.guard.Guard` (host, origin and content-type rules,
security headers), wherever it is mounted.
"""

from __future__ import annotations

import os
from pathlib import Path

from aiohttp import web

from ._layers import StoreSet
from .cache import DiskCache, default_cache_dir
from .config import StoreProvider, thumbs_cache_bytes
from .context import MAX_ADD_BYTES, MAX_ADD_IMAGES, MAX_IMPORT_BYTES, Api
from .guard import Guard, RouteKind
from .http_settings import http_settings
from .routes_pool import add_pool_routes
from .routes_profiles import add_profile_routes
from .streaming import Streams
from .thumbs import Thumbnails

__all__ = ["build_routes", "FORM_ROUTES"]

FORM_ROUTES = frozenset({"/grid_pool/add", "/grid_pool/set_mask", "/grid_pool/profiles/import"})
"""The routes that take a multipart (or urlencoded) form; every other POST takes JSON."""


def build_routes(
    stores: StoreSet | StoreProvider,
    *,
    stage_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    max_add_bytes: int = MAX_ADD_BYTES,
    max_import_bytes: int = MAX_IMPORT_BYTES,
    spool_dir: str | None = None,
    max_add_images: int = MAX_ADD_IMAGES,
    guard: Guard | None = None,
) -> web.RouteTableDef:
    """The route table for ``stores``.

    Parameters
    ----------
    stores
        A :class:`StoreSet`, or a callable giving one (called in a worker
        thread on each request, so it may open the stores lazily).
    stage_dir
        Folder for images staged for ComfyUI's MaskEditor (inside ComfyUI's
        ``input`` folder; its name is the ``subfolder`` answered). ``None``:
        ``/grid_pool/stage`` answers 501.
    cache_dir
        Thumbnail cache folder (default: ``thumbs`` under
        :func:`~comfy_nodes.cache.default_cache_dir`); made on first use,
        kept under the configured size bound (see
        :func:`~comfy_nodes.config.cache_limits`).
    max_add_bytes, max_import_bytes
        Upload limits of ``/grid_pool/add`` and ``/grid_pool/profiles/import``.
    spool_dir
        Where uploads are spooled (default: the system temp folder).
    max_add_images
        Images in one ``/grid_pool/add`` request.
    guard
        The trust rules every handler runs behind (default: the rules for
        ComfyUI, from :func:`~comfy_nodes.http_settings.http_settings`, read
        on the first request); its settings also bound export streams.

    Returns
    -------
    aiohttp.web.RouteTableDef
        The handlers do not own the stores; closing them is the caller's job.
    """
    guard = guard if guard is not None else Guard(http_settings)
    provider = stores if callable(stores) else (lambda: stores)
    thumbs_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir() / "thumbs"
    api = Api(
        stores=provider,
        thumbs=Thumbnails(DiskCache(thumbs_dir, thumbs_cache_bytes)),
        stage_dir=Path(stage_dir) if stage_dir is not None else None,
        max_add_bytes=max_add_bytes,
        max_import_bytes=max_import_bytes,
        spool_dir=spool_dir,
        max_add_images=max_add_images,
        streams=Streams(lambda: guard.settings),
    )
    routes = web.RouteTableDef()
    add_pool_routes(routes, api)
    add_profile_routes(routes, api)
    guarded = web.RouteTableDef()
    for route in routes:
        guarded.route(route.method, route.path, **route.kwargs)(guard.wrap(route.handler, _kind(route)))
    return guarded


def _kind(route: web.RouteDef) -> RouteKind:
    if route.method in ("GET", "HEAD"):
        return "read"
    return "form" if route.path in FORM_ROUTES else "json"
