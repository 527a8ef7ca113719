"""The S3 stand-in for the benchmarks: the test suite's moto server, in a
process of its own, with a request and byte counter in front of it.

Run as ``python -m benchmarks._s3_process``; it prints one JSON line
``{"endpoint": ...}`` and serves until its standard input closes.

The counter sees every HTTP request the S3 service receives, whoever sends it,
and reads, per kind of request: how many, the request body bytes (uploads) and
the response body bytes (downloads); and separately the body bytes of
image objects (``image.bytes_in``/``image.bytes_out``: GET or PUT of a key
ending in an image extension; part uploads of a multipart upload have no
such key and are counted under ``PUT`` only). ``GET /__bench__/stats`` answers the
counts; ``POST /__bench__/reset`` zeroes them. Those two paths are not counted.
"""

from __future__ import annotations

import collections
import importlib.util
import json
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def _load_support() -> Any:
    """``tests/support.py`` by path: its moto server, without pytest."""
    spec = importlib.util.spec_from_file_location("poolstore_test_support", ROOT / "tests" / "support.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def classify(environ: dict[str, Any]) -> str:
    """The kind of S3 request: GET, PUT, COPY, LIST, HEAD, DELETE, POST, BUCKET."""
    method = environ.get("REQUEST_METHOD", "GET")
    parts = [p for p in environ.get("PATH_INFO", "").split("/") if p]
    if method == "PUT" and environ.get("HTTP_X_AMZ_COPY_SOURCE"):
        return "COPY"
    if len(parts) <= 1:  # path-style: /bucket
        if method == "GET":
            return "LIST"
        if method == "POST":
            return "DELETE" if "delete" in environ.get("QUERY_STRING", "") else "POST"
        return "BUCKET"
    return method


class Counting:
    """WSGI middleware counting requests and body bytes per request kind."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.counts: collections.Counter[str] = collections.Counter()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == "/__bench__/stats":
            return self._answer(start_response, dict(self.counts))
        if path == "/__bench__/reset":
            with self.lock:
                self.counts.clear()
            return self._answer(start_response, {})
        kind = classify(environ)
        sent = _request_length(environ)
        body = list(self.app(environ, start_response))
        received = sum(len(chunk) for chunk in body)
        with self.lock:
            self.counts[f"{kind}.requests"] += 1
            self.counts[f"{kind}.bytes_in"] += sent
            self.counts[f"{kind}.bytes_out"] += received
            if kind in ("GET", "PUT") and _is_image(environ.get("PATH_INFO", "")):
                self.counts["image.bytes_in"] += sent
                self.counts["image.bytes_out"] += received
        return body

    @staticmethod
    def _answer(start_response: Any, doc: dict[str, Any]) -> list[bytes]:
        data = json.dumps(doc).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]


def _is_image(path: str) -> bool:
    return path.lower().endswith(IMAGE_SUFFIXES)


def _request_length(environ: dict[str, Any]) -> int:
    decoded = environ.get("HTTP_X_AMZ_DECODED_CONTENT_LENGTH")
    raw = decoded or environ.get("CONTENT_LENGTH") or "0"
    try:
        return int(raw)
    except ValueError:
        return 0


def main() -> None:
    support = _load_support()
    server = support.S3TestServer(middleware=Counting)
    server.start()
    print(json.dumps({"endpoint": server.endpoint}), flush=True)
    sys.stdin.read()  # until the parent closes the pipe (or dies)
    server.stop()


if __name__ == "__main__":
    main()
