"""Pool routes: list, add, remove, active, label, reorder, set_mask, image, thumb, stage.

The handlers are top-level functions ``pool_<route>(api, request)``, declared
in the route table (:data:`comfy_nodes.routes.ROUTES`), which mounts them
behind the guard and answers their errors. Each handler checks its input on the event loop, then does all store I/O in
one call to a worker thread: asyncio's default executor for the light routes,
the bounded heavy-work pool (:mod:`comfy_nodes.workers`) for those that decode
images (add, set_mask, a thumbnail not yet cached, stage). Uploads are
spooled to disk. The store-side commit point of each change is the pool
manifest update (see :mod:`poolstore.pool`).
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import IO, Any

from aiohttp import web
from PIL import ImageOps

from . import params
from ._layers import MAX_IMAGE_BYTES, InvalidInputError, Pool, SlotNotFoundError, as_mask_png, decoded, read_image_object
from .answers import json_with_etag, not_modified, pool_document, quoted_etag
from .cache import cache_token, write_atomic
from .context import Api, image_name
from .errors import Unsupported
from .masks import canonical_mask_png, mask_levels
from .thumbs import DEFAULT_SIZE, MAX_SIZE, MIN_SIZE
from .workers import run_heavy

__all__ = [
    "pool_list", "pool_add", "pool_remove", "pool_active", "pool_label", "pool_reorder", "pool_set_mask",
    "pool_image", "pool_thumb", "pool_stage",
]

_MEDIA = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}
_IMMUTABLE = "private, max-age=31536000, immutable"


def _document(store_name: str, pool: Pool, manifest: dict[str, Any] | None = None) -> dict[str, Any]:
    return pool_document(store_name, pool.id, manifest if manifest is not None else pool.read())


async def _change(api: Api, request: web.Request, method: str, *arg_names: str) -> web.Response:
    """Apply ``Pool.<method>(*args)`` (args read from the JSON body) and answer the pool document."""
    body = await params.read_json(request)
    args = [_arg(body, name) for name in arg_names]

    def work() -> dict[str, Any]:
        name, pool = api.pool(params.text(body, "pool_id"))
        return _document(name, pool, getattr(pool, method)(*args))

    return web.json_response(await asyncio.to_thread(work))


def _arg(body: dict[str, Any], name: str) -> Any:
    if name == "slot":
        return params.slot(body)
    if name == "label":
        value = body.get("label")
        if not isinstance(value, str):
            raise InvalidInputError("'label' must be text")
        return value
    value = body.get(name)
    if not isinstance(value, list):
        raise InvalidInputError(f"'{name}' must be a list")
    return value


def _resolve_object(api: Api, pool_id: Any, image: Any, kind: str) -> tuple[str, Pool, str]:
    """(store name, pool, key) of a slot's image, or of its mask with ``kind=mask``.
    Blocking only for ``kind=mask`` (one manifest read)."""
    name, pool = api.pool(pool_id)
    image = image_name(image)
    if kind == "image":
        return name, pool, pool.key(image)
    if kind != "mask":
        raise InvalidInputError("'kind' is 'image' or 'mask'")
    manifest = pool.read()
    mask = manifest["slots"][pool.slot_index(manifest, image)].get("mask")
    if not mask:
        raise SlotNotFoundError(f"slot {image!r} has no mask")
    return name, pool, pool.key(mask)


async def pool_list(api: Api, request: web.Request) -> web.Response:
    """``GET /grid_pool/list?pool_id=``: the pool document."""

    def work() -> dict[str, Any]:
        return _document(*api.pool(request.query.get("pool_id")))

    return json_with_etag(request, await asyncio.to_thread(work))


async def pool_add(api: Api, request: web.Request) -> web.Response:
    """``POST /grid_pool/add`` (multipart ``pool_id``, ``image``..., ``label``...)."""
    form = await params.read_form(
        request, max_file=MAX_IMAGE_BYTES, max_total=api.max_add_bytes, max_files=api.max_add_images,
        spool_dir=api.spool_dir,
    )
    with form:
        images = form.files.get("image", [])
        if not images:
            raise InvalidInputError("no 'image' file in the upload")

        def work() -> dict[str, Any]:
            name, pool = api.pool(form.first("pool_id"))
            added = pool.add(images, form.fields.get("label", []))
            return {**_document(name, pool), "added": added}

        return web.json_response(await run_heavy(work))


async def pool_remove(api: Api, request: web.Request) -> web.Response:
    """``POST /grid_pool/remove {pool_id, image | index}``."""
    return await _change(api, request, "remove", "slot")


async def pool_active(api: Api, request: web.Request) -> web.Response:
    """``POST /grid_pool/active {pool_id, image | index}``."""
    return await _change(api, request, "set_active", "slot")


async def pool_label(api: Api, request: web.Request) -> web.Response:
    """``POST /grid_pool/label {pool_id, image | index, label}``."""
    return await _change(api, request, "set_label", "slot", "label")


async def pool_reorder(api: Api, request: web.Request) -> web.Response:
    """``POST /grid_pool/reorder {pool_id, order}``."""
    return await _change(api, request, "reorder", "order")


async def pool_set_mask(api: Api, request: web.Request) -> web.Response:
    """``POST /grid_pool/set_mask`` (multipart ``pool_id``, ``image`` or ``index``, ``mask``)."""
    form = await params.read_form(
        request, max_file=MAX_IMAGE_BYTES, max_total=MAX_IMAGE_BYTES + params.MAX_FIELD, max_files=1,
        spool_dir=api.spool_dir,
    )
    with form:
        target = params.slot({"image": form.first("image"), "index": form.first("index")})
        uploads = form.files.get("mask", [])

        def work() -> dict[str, Any]:
            name, pool = api.pool(form.first("pool_id"))
            data = _upload_bytes(uploads[0]) if uploads else b""
            mask = canonical_mask_png(data) if data else None
            return _document(name, pool, pool.set_mask(target, mask))

        return web.json_response(await run_heavy(work))


async def pool_image(api: Api, request: web.Request) -> web.StreamResponse:
    """``GET /grid_pool/image?pool_id=&image=[&kind=mask]``: the object's bytes."""
    q = request.query
    kind = q.get("kind", "image")

    def locate() -> tuple[str, Pool, str]:
        return _resolve_object(api, q.get("pool_id"), q.get("image"), kind)

    _name, pool, key = await asyncio.to_thread(locate)
    etag = quoted_etag(cache_token(pool.store, key)[:32])
    headers = {"ETag": etag, "Cache-Control": _IMMUTABLE if kind == "image" else "no-cache"}
    if not_modified(request, etag):
        return web.Response(status=304, headers=headers)
    data = await asyncio.to_thread(read_image_object, pool.store, key)
    media = _MEDIA.get(key.rsplit(".", 1)[-1].lower(), "application/octet-stream")
    return web.Response(body=data, content_type=media, headers=headers)


async def pool_thumb(api: Api, request: web.Request) -> web.StreamResponse:
    """``GET /grid_pool/thumb?pool_id=&image=[&size=][&kind=mask]``: a thumbnail."""
    q = request.query
    kind = q.get("kind", "image")
    size = params.integer(q.get("size", str(DEFAULT_SIZE)), "size")
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise InvalidInputError(f"'size' must be {MIN_SIZE}..{MAX_SIZE}")

    def locate() -> tuple[str, Pool, str]:
        return _resolve_object(api, q.get("pool_id"), q.get("image"), kind)

    _name, pool, key = await asyncio.to_thread(locate)
    etag = quoted_etag(api.thumbs.token(pool.store, key, size)[:32])
    headers = {"ETag": etag, "Cache-Control": _IMMUTABLE if kind == "image" else "no-cache"}
    if not_modified(request, etag):
        return web.Response(status=304, headers=headers)
    found = await asyncio.to_thread(api.thumbs.cached, pool.store, key, size)
    if found is None:
        found = await run_heavy(api.thumbs.get, pool.store, key, size)
    data, media = found
    return web.Response(body=data, content_type=media, headers=headers)


async def pool_stage(api: Api, request: web.Request) -> web.Response:
    """``POST /grid_pool/stage {pool_id, image}``: the slot staged for ComfyUI's MaskEditor."""
    body = await params.read_json(request)
    if api.stage_dir is None:
        raise Unsupported("staging images for the mask editor needs ComfyUI")
    pool_id, image = params.text(body, "pool_id"), image_name(params.text(body, "image"))
    filename = await run_heavy(_stage, api, api.stage_dir, pool_id, image)
    return web.json_response({"filename": filename, "subfolder": api.stage_dir.name, "type": "input"})


def _stage(api: Api, stage_dir: Path, pool_id: str, image: str) -> str:
    """Copy a slot's image (EXIF orientation applied) with its mask as alpha
    (transparent = masked, as ComfyUI's MaskEditor reads it) into ``stage_dir``;
    returns the file name. Reads the store; writes only the stage file."""
    _name, pool = api.pool(pool_id)
    manifest = pool.read()
    slot = manifest["slots"][pool.slot_index(manifest, image)]
    keys = [pool.key(image)] + ([pool.key(slot["mask"])] if slot.get("mask") else [])
    filename = cache_token(pool.store, "\0".join(keys))[:32] + ".png"
    path = stage_dir / filename
    if path.is_symlink() or not path.is_file():  # a link is refused by write_atomic
        write_atomic(path, _staged_png(*(read_image_object(pool.store, k) for k in keys)))
    return filename


def _staged_png(image: bytes, mask: bytes | None = None) -> bytes:
    with decoded(image) as img:  # one decode slot for the image and its mask
        rgba = ImageOps.exif_transpose(img).convert("RGBA")
        if mask is not None:
            with decoded(mask) as levels:
                alpha = mask_levels(levels).resize(rgba.size)
            rgba.putalpha(alpha.point(lambda v: 255 - v))
        out = io.BytesIO()
        rgba.save(out, format="PNG")
    return out.getvalue()


def _upload_bytes(upload: IO[bytes]) -> bytes:
    """An uploaded (spooled) file's bytes; the form limited its size."""
    upload.seek(0)
    return upload.read()
