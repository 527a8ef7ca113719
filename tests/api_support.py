"""Helpers for the HTTP route tests: an app on given stores, form builders,
and snapshots of what a store holds (read raw, around the store)."""

from __future__ import annotations

import io
from typing import Any

import aiohttp
from aiohttp import web
from PIL import Image

from comfy_nodes.routes import build_routes
from poolstore import StoreSet
from support import Raw


def make_app(stores: StoreSet, tmp_path: Any, **kwargs: Any) -> web.Application:
    """A plain aiohttp app with the API routes (no ComfyUI)."""
    kwargs.setdefault("cache_dir", tmp_path / "thumb-cache")
    app = web.Application()
    app.add_routes(build_routes(stores, **kwargs))
    return app


def image_form(pool_id: str | None, *images: bytes, labels: list[str] | None = None) -> aiohttp.FormData:
    form = aiohttp.FormData()
    if pool_id is not None:
        form.add_field("pool_id", pool_id)
    for i, data in enumerate(images):
        form.add_field("image", data, filename=f"up{i}.png", content_type="image/png")
    for label in labels or []:
        form.add_field("label", label)
    return form


def mask_form(pool_id: str, mask: bytes | None, *, image: str | None = None, index: int | None = None) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("pool_id", pool_id)
    if image is not None:
        form.add_field("image", image)
    if index is not None:
        form.add_field("index", str(index))
    if mask is not None:
        form.add_field("mask", mask, filename="mask.png", content_type="image/png")
    return form


def snapshot(raw: Raw) -> dict[str, bytes]:
    """Every key of the store with its bytes."""
    return {k: raw.read(k) for k in sorted(raw.keys())}


def noisy_png(size: tuple[int, int] = (640, 480), seed: int = 1) -> bytes:
    """A PNG that does not compress well (so a thumbnail must be much smaller)."""
    import random

    rnd = random.Random(seed)
    img = Image.frombytes("RGB", size, rnd.randbytes(size[0] * size[1] * 3))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


async def error_of(resp: aiohttp.ClientResponse, status: int) -> dict[str, str]:
    """Assert the documented error answer; return its ``error`` object."""
    body = await resp.json()
    assert resp.status == status, body
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert "Traceback" not in body["error"]["message"]
    return body["error"]
