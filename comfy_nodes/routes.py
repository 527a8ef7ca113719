"""``build_routes``: every HTTP route of docs/API.md for a set of stores.

:data:`ROUTES` is the one place a route is declared: a table of (method, path,
handler, body) rows whose handlers are top-level functions ``handler(api,
request)`` (:mod:`comfy_nodes.routes_pool`, :mod:`comfy_nodes.routes_profiles`).
:func:`build_routes` binds each handler to the routes' shared
:class:`~comfy_nodes.context.Api`, turns its errors into JSON answers
(:func:`~comfy_nodes.errors.json_errors`) and puts it behind a
:class:`~comfy_nodes.guard.Guard` (host, origin and content-type rules,
security headers), so no route is mounted without them, wherever it is
mounted: ComfyUI adds them to ``PromptServer.instance.routes`` (so they also
answer under ``/api``); ``poolstore serve`` and the tests to a plain
``aiohttp.web.Application``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from aiohttp import web

from ._layers import StoreSet
from .cache import DiskCache, default_cache_dir
from .config import StoreProvider, thumbs_cache_bytes
from .context import MAX_ADD_BYTES, MAX_ADD_IMAGES, MAX_IMPORT_BYTES, Api
from .errors import Handler, json_errors
from .guard import Guard, RouteKind
from .http_settings import http_settings
from .routes_pool import (
    pool_active,
    pool_add,
    pool_image,
    pool_label,
    pool_list,
    pool_remove,
    pool_reorder,
    pool_set_mask,
    pool_stage,
    pool_thumb,
)
from .routes_profiles import (
    profiles_adopt,
    profiles_copy,
    profiles_create,
    profiles_delete,
    profiles_duplicate,
    profiles_export,
    profiles_import,
    profiles_list,
    profiles_rename,
    profiles_seed,
    stores_list,
)
from .streaming import Streams
from .thumbs import Thumbnails

__all__ = ["build_routes", "Route", "ROUTES", "FORM_ROUTES", "ApiHandler"]

ApiHandler = Callable[[Api, web.Request], Awaitable[web.StreamResponse]]
"""A route handler: the routes' shared context and the request."""


@dataclass(frozen=True)
class Route:
    """One row of the route table.

    Attributes
    ----------
    method, path
        What the route answers: ``GET`` (reads) or ``POST`` (changes).
    handler
        A top-level ``async`` function ``handler(api, request)``.
    body
        What the route reads: ``"read"`` (a ``GET``: the query only), ``"json"``
        (a JSON body, ``application/json`` only) or ``"form"`` (a multipart
        form); the guard refuses other content types before the handler runs.
    """

    method: Literal["GET", "POST"]
    path: str
    handler: ApiHandler
    body: RouteKind = "read"

    def __post_init__(self) -> None:
        if (self.method == "GET") != (self.body == "read"):
            raise ValueError(f"{self.method} {self.path}: a GET reads no body, a POST reads one")


ROUTES: tuple[Route, ...] = (
    Route("GET", "/grid_pool/list", pool_list),
    Route("POST", "/grid_pool/add", pool_add, "form"),
    Route("POST", "/grid_pool/remove", pool_remove, "json"),
    Route("POST", "/grid_pool/active", pool_active, "json"),
    Route("POST", "/grid_pool/label", pool_label, "json"),
    Route("POST", "/grid_pool/reorder", pool_reorder, "json"),
    Route("POST", "/grid_pool/set_mask", pool_set_mask, "form"),
    Route("GET", "/grid_pool/image", pool_image),
    Route("GET", "/grid_pool/thumb", pool_thumb),
    Route("POST", "/grid_pool/stage", pool_stage, "json"),
    Route("GET", "/grid_pool/profiles/list", profiles_list),
    Route("POST", "/grid_pool/profiles/create", profiles_create, "json"),
    Route("POST", "/grid_pool/profiles/rename", profiles_rename, "json"),
    Route("POST", "/grid_pool/profiles/delete", profiles_delete, "json"),
    Route("POST", "/grid_pool/profiles/duplicate", profiles_duplicate, "json"),
    Route("POST", "/grid_pool/profiles/seed", profiles_seed, "json"),
    Route("POST", "/grid_pool/profiles/adopt", profiles_adopt, "json"),
    Route("GET", "/grid_pool/profiles/export", profiles_export),
    Route("POST", "/grid_pool/profiles/import", profiles_import, "form"),
    Route("POST", "/grid_pool/profiles/copy", profiles_copy, "json"),
    Route("GET", "/grid_pool/stores", stores_list),
)
"""Every route of the API (docs/API.md), in the order of its documentation."""

FORM_ROUTES = frozenset(route.path for route in ROUTES if route.body == "form")
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
) -> list[web.RouteDef]:
    """The routes of :data:`ROUTES` for ``stores``, each behind ``guard``.

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
    list of aiohttp.web.RouteDef
        For ``app.add_routes`` or ``PromptServer.instance.routes``. The
        handlers do not own the stores; closing them is the caller's job.
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
    return [web.RouteDef(route.method, route.path, _mounted(route, api, guard), {}) for route in ROUTES]


def _mounted(route: Route, api: Api, guard: Guard) -> Handler:
    """``route``'s handler given ``api``, its errors answered as JSON, behind ``guard``."""
    return guard.wrap(json_errors(functools.partial(route.handler, api)), route.body)
