"""The JSON documents routes answer with, and ``ETag``/``304`` handling."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aiohttp import web

from ._layers import qualify

__all__ = ["pool_document", "profile_entry", "json_with_etag", "not_modified", "quoted_etag"]


def pool_document(store_name: str, pool_id: str, manifest: dict[str, Any]) -> dict[str, Any]:
    """The pool document of docs/API.md for ``manifest``."""
    slots = [
        {
            "index": i,
            "image": s["image"],
            "mask": s.get("mask"),
            "label": s.get("label", ""),
            "added": s.get("added", 0),
        }
        for i, s in enumerate(manifest["slots"])
    ]
    return {
        "pool_id": qualify(store_name, pool_id),
        "store": store_name,
        "active": manifest["active"],
        "next_seq": manifest["next_seq"],
        "count": len(slots),
        "slots": slots,
    }


def profile_entry(store_name: str, entry: dict[str, Any]) -> dict[str, Any]:
    """A registry entry as the API shows it (store-qualified id)."""
    return {
        "id": qualify(store_name, entry["id"]),
        "name": entry["name"],
        "created": entry.get("created", 0),
        "store": store_name,
    }


def quoted_etag(token: str) -> str:
    """An ``ETag`` header value for ``token``."""
    return f'"{token}"'


def not_modified(request: web.Request, etag: str) -> bool:
    """Whether the request's ``If-None-Match`` already names ``etag``."""
    header = request.headers.get("If-None-Match", "")
    if header.strip() == "*":
        return True
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return etag in tags


def json_with_etag(request: web.Request, payload: Any) -> web.Response:
    """``payload`` as JSON with an ``ETag`` of its content; ``304`` when unchanged."""
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
    etag = quoted_etag(hashlib.sha256(body).hexdigest()[:32])
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if not_modified(request, etag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="application/json", headers=headers)
