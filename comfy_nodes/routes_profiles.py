"""Profile routes (list, create, rename, delete, duplicate, seed, adopt, export,
import, copy) and the store list.

The handlers are top-level functions ``profiles_<route>(api, request)`` (and
``stores_list``), declared in the route table (:data:`comfy_nodes.routes.ROUTES`),
which mounts them behind the guard and answers their errors.

Commit points are those of :mod:`poolstore.registry`, :mod:`poolstore.archive`
and :mod:`poolstore.transfer`: the registry entry is written last. New profile
ids are made here (uuid4 hex) and passed down.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import tempfile
from collections.abc import Callable
from typing import IO, Any
from urllib.parse import quote

from aiohttp import web

from . import params
from ._layers import (
    InvalidInputError,
    Registry,
    adopt_pool,
    copy_profile,
    export_profile,
    import_profile,
    new_id,
    safe_zip_filename,
    seed_profile,
)
from .answers import json_with_etag, profile_entry, pool_document
from .context import Api
from .errors import StreamAborted
from .guard import secure
from .streaming import ClientStalled, stream_from_thread
from .workers import run_heavy

__all__ = [
    "profiles_list", "profiles_create", "profiles_rename", "profiles_delete", "profiles_duplicate", "profiles_seed",
    "profiles_adopt", "profiles_export", "profiles_import", "profiles_copy", "stores_list", "content_disposition",
]

log = logging.getLogger("poolstore.http")


def content_disposition(filename: str) -> str:
    """``attachment`` naming ``filename`` (made by
    :func:`poolstore.archive.safe_zip_filename`): its UTF-8 form in
    ``filename*``, and for clients that read only ``filename`` the same with
    ``_`` for each character outside printable ASCII, quotes and backslashes
    (which keeps a name valid on Windows valid)."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def _json_action(
    api: Api, request: web.Request, action: Callable[[Api, dict[str, Any]], dict[str, Any]]
) -> web.Response:
    """Run ``action(api, body)`` on the JSON body in a worker thread; answer its result."""
    body = await params.read_json(request)
    return web.json_response(await asyncio.to_thread(action, api, body))


def _create(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    store_name = params.optional_text(body, "store") or None
    name = params.text(body, "name")
    store = api.store_set().get(store_name)
    entry = Registry(store).create(new_id(), name)
    return {"profile": profile_entry(store_name or "default", entry)}


def _rename(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    store_name, reg, ident = api.registry(body.get("id"))
    return {"profile": profile_entry(store_name, reg.rename(ident, params.text(body, "name")))}


def _delete(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    store_name, reg, ident = api.registry(body.get("id"))
    reg.delete(ident)
    return {"deleted": profile_entry(store_name, {"id": ident, "name": ""})["id"]}


def _duplicate(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    store_name, reg, ident = api.registry(body.get("id"))
    entry = copy_profile(reg.store, ident, reg.store, new_id=new_id(), name=params.optional_text(body, "name"))
    return {"profile": profile_entry(store_name, entry)}


def _seed(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    """Copy pool ``from`` (any store) into the empty profile ``id``."""
    store_name, reg, ident = api.registry(body.get("id"))
    _src_name, source = api.pool(params.text(body, "from"))
    return pool_document(store_name, ident, seed_profile(source.store, source.id, reg.store, ident))


def _adopt(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    store_name, reg, ident = api.registry(body.get("pool_id"), "pool_id")
    return {"profile": profile_entry(store_name, adopt_pool(reg.store, ident, params.text(body, "name")))}


def _copy(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    store_name, reg, ident = api.registry(body.get("id"))
    to_name = params.text(body, "to_store")
    move = body.get("move", False)
    if not isinstance(move, bool):
        raise InvalidInputError("'move' must be true or false")
    target = api.store_set().get(to_name)
    name = params.optional_text(body, "name")
    entry = copy_profile(reg.store, ident, target, new_id=new_id(), name=name, move=move)
    return {"profile": profile_entry(to_name, entry)}


def _store_info(name: str, store: Any, default: bool) -> dict[str, Any]:
    return {
        "name": name,
        "kind": store.kind,
        "url": store.url,
        "default": default,
        "capabilities": dataclasses.asdict(store.capabilities),
        "concurrent_writes_safe": store.concurrent_writes_safe,
    }


async def profiles_list(api: Api, request: web.Request) -> web.Response:
    """``GET /grid_pool/profiles/list?store=``: the store's profiles."""
    store_name = request.query.get("store") or "default"

    def work() -> dict[str, Any]:
        entries = Registry(api.store_set().get(store_name)).list()
        return {"store": store_name, "profiles": [profile_entry(store_name, e) for e in entries]}

    return json_with_etag(request, await asyncio.to_thread(work))


async def profiles_create(api: Api, request: web.Request) -> web.Response:
    """``POST /grid_pool/profiles/create {name, store?}``."""
    return await _json_action(api, request, _create)


async def profiles_rename(api: Api, request: web.Request) -> web.Response:
    """``POST /grid_pool/profiles/rename {id, name}``."""
    return await _json_action(api, request, _rename)


async def profiles_delete(api: Api, request: web.Request) -> web.Response:
    """``POST /grid_pool/profiles/delete {id}``."""
    return await _json_action(api, request, _delete)


async def profiles_duplicate(api: Api, request: web.Request) -> web.Response:
    """``POST /grid_pool/profiles/duplicate {id, name?}``."""
    return await _json_action(api, request, _duplicate)


async def profiles_seed(api: Api, request: web.Request) -> web.Response:
    """``POST /grid_pool/profiles/seed {from, id}``."""
    return await _json_action(api, request, _seed)


async def profiles_adopt(api: Api, request: web.Request) -> web.Response:
    """``POST /grid_pool/profiles/adopt {pool_id, name}``."""
    return await _json_action(api, request, _adopt)


async def profiles_copy(api: Api, request: web.Request) -> web.Response:
    """``POST /grid_pool/profiles/copy {id, to_store, name?, move?}``."""
    return await _json_action(api, request, _copy)


async def profiles_export(api: Api, request: web.Request) -> web.StreamResponse:
    """``GET /grid_pool/profiles/export?id=``: the profile's zip, streamed."""

    def locate() -> tuple[Registry, str, str]:
        _name, reg, ident = api.registry(request.query.get("id"))
        return reg, ident, reg.get(ident)["name"]

    reg, ident, name = await asyncio.to_thread(locate)
    disposition = content_disposition(safe_zip_filename(name))
    with api.streams.slot() as executor:
        response = secure(web.StreamResponse(
            headers={"Content-Type": "application/zip", "Content-Disposition": disposition}
        ))
        await response.prepare(request)
        try:
            await stream_from_thread(
                response, lambda sink: export_profile(reg.store, ident, sink),
                executor=executor, write_timeout=api.streams.write_timeout,
            )
            await asyncio.wait_for(response.write_eof(), api.streams.write_timeout)
        except Exception as exc:
            log.warning("poolstore: export of %s stopped: %s", ident, type(exc).__name__)
            if isinstance(exc, (ClientStalled, asyncio.TimeoutError)) and request.transport is not None:
                request.transport.abort()  # a close would wait for the client to read first
            raise StreamAborted("export stopped after the answer started") from exc
    return response


async def profiles_import(api: Api, request: web.Request) -> web.Response:
    """``POST /grid_pool/profiles/import`` (multipart ``file``, ``name?``, ``store?``)."""
    with tempfile.TemporaryFile(dir=api.spool_dir) as spool:
        sink = _single_file_sink(spool)
        form = await params.read_form(
            request, max_file=api.max_import_bytes, max_total=api.max_import_bytes + params.MAX_FIELD, sink=sink
        )
        if "file" not in form.files:
            raise InvalidInputError("no 'file' (a profile zip) in the upload")
        name = form.first("name") or None
        store_name = form.first("store") or "default"
        result = await run_heavy(_import, api, spool, store_name, name)
    return web.json_response({"profile": profile_entry(store_name, result)})


async def stores_list(api: Api, request: web.Request) -> web.Response:
    """``GET /grid_pool/stores``: the configured stores (names, kinds, capabilities; no secrets)."""

    def work() -> dict[str, Any]:
        return {"stores": [_store_info(n, s, n == "default") for n, s in api.store_set()]}

    return web.json_response(await asyncio.to_thread(work))


def _single_file_sink(spool: IO[bytes]) -> Callable[[str], IO[bytes]]:
    used: list[str] = []

    def sink(field: str) -> IO[bytes]:
        if field != "file" or used:
            raise InvalidInputError("the upload takes one 'file' field (a profile zip)")
        used.append(field)
        return spool

    return sink


def _import(api: Api, spool: IO[bytes], store_name: str, name: str | None) -> dict[str, Any]:
    store = api.store_set().get(store_name)
    spool.seek(0)
    return import_profile(store, spool, new_id=new_id(), name=name)
