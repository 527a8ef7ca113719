"""The HTTP client side: what a browser or a script does against the routes."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

__all__ = ["download", "post_json", "get_bytes", "get_json", "upload_file", "Fetched", "fetch_all", "HTTPFailure"]

CHUNK = 1 << 20


class HTTPFailure(RuntimeError):
    """A route answered with an error status; the benchmark is not measuring it."""


def _open(req: urllib.request.Request | str, timeout: float = 600) -> Any:
    try:
        return urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        body = exc.read()[:500].decode(errors="replace")
        raise HTTPFailure(f"{exc.code} from {exc.url}: {body}") from None


def download(url: str, dest: Path) -> int:
    """Stream ``url`` into ``dest``; returns the bytes received."""
    total = 0
    with _open(url) as resp, open(dest, "wb") as f:
        while chunk := resp.read(CHUNK):
            f.write(chunk)
            total += len(chunk)
    return total


def get_bytes(url: str) -> bytes:
    with _open(url) as resp:
        return resp.read()


def get_json(url: str) -> Any:
    return json.loads(get_bytes(url))


def post_json(url: str, doc: dict[str, Any]) -> Any:
    req = urllib.request.Request(
        url, data=json.dumps(doc).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with _open(req) as resp:
        return json.loads(resp.read())


def upload_file(url: str, path: Path, fields: dict[str, str] | None = None) -> Any:
    """POST ``path`` as the multipart field ``file`` (streamed from disk)."""

    async def send() -> Any:
        form = aiohttp.FormData()
        for name, value in (fields or {}).items():
            form.add_field(name, value)
        with open(path, "rb") as f:
            form.add_field("file", f, filename=path.name, content_type="application/zip")
            timeout = aiohttp.ClientTimeout(total=1800)
            async with aiohttp.ClientSession(timeout=timeout) as session, session.post(url, data=form) as resp:
                body = await resp.read()
                if resp.status >= 400:
                    raise HTTPFailure(f"{resp.status} from {url}: {body[:500].decode(errors='replace')}")
                return json.loads(body)

    return asyncio.run(send())


@dataclass(frozen=True)
class Fetched:
    """One response of :func:`fetch_all`: when it had fully arrived (seconds
    after the first request went out), its status, body size and ``ETag``."""

    seconds: float
    status: int
    size: int
    etag: str | None


def fetch_all(urls: list[str], connections: int = 6, headers: list[dict[str, str]] | None = None) -> list[Fetched]:
    """GET every URL over at most ``connections`` keep-alive connections at
    once, as a browser loads a page's images; answers in the order of ``urls``."""

    async def run() -> list[Fetched]:
        connector = aiohttp.TCPConnector(limit=connections)
        async with aiohttp.ClientSession(connector=connector) as session:
            start = time.perf_counter()

            async def one(i: int, url: str) -> Fetched:
                async with session.get(url, headers=(headers[i] if headers else None)) as resp:
                    body = await resp.read()
                    return Fetched(time.perf_counter() - start, resp.status, len(body), resp.headers.get("ETag"))

            return list(await asyncio.gather(*(one(i, u) for i, u in enumerate(urls))))

    return asyncio.run(run())
