"""Test support: a real S3 server (moto over HTTP), and raw readers
that look at what a store wrote *around* the store, so a store whose reads and
writes are wrong in the same way is still caught."""

from __future__ import annotations

import http.client
import io
import logging
import os
import subprocess
import threading
import uuid
from typing import Any

import requests
from moto.server import ThreadedMotoServer
from PIL import Image
from werkzeug.serving import make_server

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.pop("AWS_PROFILE", None)
logging.getLogger("werkzeug").setLevel(logging.ERROR)


class _Front:
    """The S3 server's front door: a WSGI app that forwards each request to
    moto over HTTP, one change at a time. Real S3 makes a conditional put
    atomic; moto checks the condition and stores the object in two steps, so
    two racing writers could both pass the check without this serialisation.
    Reads (``GET``, ``HEAD``) go through at once: moto swaps a stored object
    whole, so a read sees it before or after a change.

    ``ignore_conditions=True`` drops ``If-Match``/``If-None-Match`` on the way,
    like an S3-compatible server that ignores them. ``requests`` records
    ``(method, path)`` of every request forwarded.
    """

    _HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}

    def __init__(self, ignore_conditions: bool = False) -> None:
        self.target: tuple[str, int] = ("127.0.0.1", 0)
        self.lock = threading.Lock()
        self.ignore_conditions = ignore_conditions
        self.requests: list[tuple[str, str]] = []
        self._local = threading.local()  # one kept connection to moto per thread

    def __call__(self, environ: dict, start_response: Any) -> Any:
        method = environ.get("REQUEST_METHOD", "GET")
        uri = environ.get("REQUEST_URI") or environ.get("RAW_URI") or environ.get("PATH_INFO", "/")
        headers = _request_headers(environ, drop=("If-Match", "If-None-Match") if self.ignore_conditions else ())
        body = _request_body(environ)
        headers["Content-Length"] = str(len(body))
        with self.lock:
            self.requests.append((method, environ.get("PATH_INFO", "")))
        if method in ("GET", "HEAD"):
            resp, data = self._forward(method, uri, body, headers)
        else:
            with self.lock:
                resp, data = self._forward(method, uri, body, headers)
        out = [(k, v) for k, v in resp.getheaders() if k.lower() not in self._HOP_BY_HOP and k.lower() != "content-length"]
        length = resp.getheader("Content-Length") if method == "HEAD" else str(len(data))
        start_response(f"{resp.status} {resp.reason}", [*out, ("Content-Length", length or "0")])
        return [data]


    def _forward(self, method: str, uri: str, body: bytes, headers: dict[str, str]) -> tuple[Any, bytes]:
        """Send one request on this thread's kept connection (made anew when
        moto closed it: a request that was never sent is sent again, once)."""
        for attempt in (0, 1):
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._local.conn = http.client.HTTPConnection(*self.target, timeout=120)
            try:
                conn.request(method, uri, body=body, headers=headers)
            except (ConnectionError, http.client.HTTPException):
                self._drop(conn)
                if attempt:
                    raise
                continue
            try:
                resp = conn.getresponse()
                return resp, resp.read()
            except BaseException:
                self._drop(conn)
                raise
        raise AssertionError("unreachable")

    def _drop(self, conn: http.client.HTTPConnection) -> None:
        conn.close()
        self._local.conn = None


def _request_headers(environ: dict, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """The request's headers from a WSGI environ (hop-by-hop ones left out)."""
    headers = {"Content-Type": environ["CONTENT_TYPE"]} if environ.get("CONTENT_TYPE") else {}
    for name, value in environ.items():
        if name.startswith("HTTP_"):
            header = "-".join(part.capitalize() for part in name[5:].split("_"))
            if header.lower() not in _Front._HOP_BY_HOP and header not in drop:
                headers[header] = value
    return headers


def _request_body(environ: dict) -> bytes:
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):  # chunked: the server ends the stream
        return stream.read()
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return stream.read(length) if length else b""


class S3TestServer:
    """An S3 service on 127.0.0.1 and free ports: moto's
    :class:`ThreadedMotoServer`, run as it is, behind :class:`_Front`.

    ``ignore_conditions=True`` makes it behave like an S3-compatible server
    that ignores ``If-Match``/``If-None-Match``. ``middleware`` wraps the
    front app (a WSGI middleware factory; the benchmarks count requests so).
    """

    def __init__(self, ignore_conditions: bool = False, middleware: Any = None) -> None:
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._front = _Front(ignore_conditions)
        self._wsgi = middleware(self._front) if middleware else self._front
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._moto.start()
        self._front.target = self._moto.get_host_and_port()
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._moto.stop()

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def reset(self) -> None:
        """Forget every bucket (moto's own reset), and the request log."""
        requests.post(f"{self.endpoint}/moto-api/reset", timeout=30)
        self.clear_log()

    @property
    def request_log(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every request served since the last :meth:`clear_log`."""
        return list(self._front.requests)

    def clear_log(self) -> None:
        self._front.requests.clear()

    def client(self) -> Any:
        """A boto3 client of this server (made once: clients are slow to build)."""
        if getattr(self, "_client", None) is None:
            import boto3

            self._client = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")
        return self._client

    def new_bucket(self) -> str:
        name = f"b-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def storage_options(self) -> dict[str, Any]:
        """Plain options (JSON-serialisable, for child processes)."""
        return {"endpoint_url": self.endpoint, "key": "testing", "secret": "testing"}

    def fast_options(self) -> dict[str, Any]:
        """Options with one shared botocore session: a store's first request
        then skips loading the service model again (a few hundred ms)."""
        return {**self.storage_options(), "session": _shared_session()}


_SESSION: Any = None


def _shared_session() -> Any:
    global _SESSION
    if _SESSION is None:
        from aiobotocore.session import AioSession

        _SESSION = AioSession()
    return _SESSION


def png_bytes(size: tuple[int, int] = (8, 6), color: tuple[int, int, int] = (200, 30, 30), mode: str = "RGB") -> bytes:
    """A real PNG, decodable by Pillow."""
    buf = io.BytesIO()
    fill: Any = color if mode != "L" else color[0]
    Image.new(mode, size, fill).save(buf, format="PNG")
    return buf.getvalue()


def image_bytes(fmt: str, size: tuple[int, int] = (8, 6), color: tuple[int, int, int] = (30, 160, 60)) -> bytes:
    """A real image in any format Pillow writes (``"JPEG"``, ``"WEBP"``, ``"BMP"``...)."""
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format=fmt)
    return buf.getvalue()


def decode(data: bytes) -> Image.Image:
    """Decode stored bytes with Pillow (fully loaded)."""
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


class Raw:
    """Reads a store's objects without going through the store: the file
    system, fsspec's memory dictionary, or the service's own client (boto3
    for S3, azure-storage-blob for Azure; ``server`` is the test server).

    Both local implementations ("local", "local-portable") report the kind
    ``"local"``: the raw reads of a folder are the same for both.
    """

    def __init__(self, store: Any, server: S3TestServer | None = None) -> None:
        self.store = store
        self.server = server

    def keys(self) -> set[str]:
        kind = self.store.kind
        if kind == "local":
            out = set()
            for dirpath, _dirs, files in os.walk(self.store.root):
                for f in files:
                    rel = os.path.relpath(os.path.join(dirpath, f), self.store.root).replace(os.sep, "/")
                    out.add(rel)
            return out
        if kind == "memory":
            from fsspec.implementations.memory import MemoryFileSystem

            prefix = self.store.root + "/"
            return {p[len(prefix):] for p in MemoryFileSystem.store if p.startswith(prefix)}
        container, prefix = self._place()
        return {name[len(prefix):] for name in self._names(container, prefix)}

    def universe(self) -> set[str]:
        """Every object the backend holds, inside the root or not: the folder
        around a local root, all of memory, the whole bucket or container."""
        kind = self.store.kind
        if kind == "local":
            base = os.path.dirname(self.store.root)
            out = set()
            for dirpath, _dirs, files in os.walk(base):
                out |= {os.path.join(dirpath, f) for f in files}
            return out
        if kind == "memory":
            from fsspec.implementations.memory import MemoryFileSystem

            return set(MemoryFileSystem.store)
        return self._names(self._place()[0], "")

    def visible_keys(self) -> set[str]:
        """Keys without housekeeping files (locks, probes)."""
        return {k for k in self.keys() if not any(p.startswith(".") for p in k.split("/"))}

    def read(self, key: str) -> bytes:
        kind = self.store.kind
        if kind == "local":
            with open(os.path.join(self.store.root, *key.split("/")), "rb") as f:
                return f.read()
        if kind == "memory":
            from fsspec.implementations.memory import MemoryFileSystem

            return bytes(MemoryFileSystem.store[f"{self.store.root}/{key}"].getvalue())
        container, prefix = self._place()
        if kind == "azure":
            blob = self.server.client().get_blob_client(container, prefix + key)
            return blob.download_blob().readall()
        return self.server.client().get_object(Bucket=container, Key=prefix + key)["Body"].read()

    def write(self, key: str, data: bytes) -> None:
        kind = self.store.kind
        if kind == "local":
            path = os.path.join(self.store.root, *key.split("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
            return
        if kind == "memory":
            from fsspec.implementations.memory import MemoryFileSystem

            MemoryFileSystem(skip_instance_cache=True).pipe_file(f"{self.store.root}/{key}", data)
            return
        container, prefix = self._place()
        if kind == "azure":
            self.server.client().get_blob_client(container, prefix + key).upload_blob(data, overwrite=True)
            return
        self.server.client().put_object(Bucket=container, Key=prefix + key, Body=data)

    def _place(self) -> tuple[str, str]:
        """The bucket (or container) and the name prefix (``""`` or ending in ``/``) of the root."""
        bucket, _, prefix = self.store.root.partition("/")
        return bucket, f"{prefix}/" if prefix else ""

    def _names(self, container: str, prefix: str) -> set[str]:
        """Names of the objects (blobs) starting with ``prefix``, read with the service's own client."""
        if self.store.kind == "azure":
            listing = self.server.client().get_container_client(container).list_blobs(name_starts_with=prefix)
            return {b.name for b in listing}
        out = set()
        for page in self.server.client().get_paginator("list_objects_v2").paginate(Bucket=container, Prefix=prefix):
            out |= {o["Key"] for o in page.get("Contents", [])}
        return out


LOCAL_KINDS = ["local", "local-portable"]
"""The local store twice: "local-portable" forces the portable implementation
(the one Windows runs), so that code path runs on every CI run."""


def force_portable(kind: str, monkeypatch: Any) -> None:
    """For "local-portable": local stores opened by URL during the test (CLI,
    servers, child processes, which inherit the environment) use the portable
    implementation too."""
    if kind == "local-portable":
        from backends._localfs import IMPL_ENV

        monkeypatch.setenv(IMPL_ENV, "portable")


def stop_process(proc: subprocess.Popen, timeout: float = 10) -> None:
    """Terminate a server process the tests started, killing it if it lingers."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def deleted_cleanly(raw: Raw, pool_id: str) -> bool:
    """Whether a deleted profile's folder holds nothing but its tombstone
    (the manifest that keeps the pool from coming back; see poolstore.manifest)."""
    import json

    left = {k for k in raw.visible_keys() if k.startswith(f"{pool_id}/")}
    if not left:
        return True
    if left != {f"{pool_id}/manifest.json"}:
        return False
    tombstone = json.loads(raw.read(f"{pool_id}/manifest.json"))
    return isinstance(tombstone.get("deleted"), dict) and tombstone.get("slots") == []


def forget_memory(store) -> None:
    """Drop a memory store's objects (fsspec keeps them for the whole process)."""
    from fsspec.implementations.memory import MemoryFileSystem

    prefix = store.root + "/"
    for path in [p for p in MemoryFileSystem.store if p.startswith(prefix)]:
        MemoryFileSystem.store.pop(path, None)
    MemoryFileSystem.pseudo_dirs[:] = [d for d in MemoryFileSystem.pseudo_dirs if not (d + "/").startswith(prefix)]
