"""Tools of the attacks on ``poolstore serve``: a second site on another
loopback port, a served store with a second (``team``) store on S3, raw
sockets, and snapshots of the stores read around them."""

from __future__ import annotations

import http.server
import io
import json
import os
import socket
import threading
import time
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from browser_support import REPO as REPO_ROOT
from browser_support import Server
from support import Raw, png_bytes

import backends

REBIND_HOST = "rebind.test"
"""A name the browser of the tests resolves to 127.0.0.1 (as after a DNS rebinding)."""


class AttackSite:
    """A tiny web site on its own 127.0.0.1 port (another origin than the
    server's): ``pages`` maps a path to the HTML it answers."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                body = pages.get(self.path.split("?", 1)[0], "not here").encode()
                self.send_response(200 if self.path.split("?", 1)[0] in pages else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class Served:
    """A running ``poolstore serve`` with its default and ``team`` stores."""

    server: Server
    default: Raw
    team: Raw
    kind: str
    stores: list[Any] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def snapshot(self) -> tuple[dict[str, bytes], dict[str, bytes]]:
        """Every object of both stores with its bytes, read around the stores."""
        return tuple({k: raw.read(k) for k in sorted(raw.keys())} for raw in (self.default, self.team))

    def changes(self, before: tuple[dict[str, bytes], dict[str, bytes]]) -> dict[str, dict[str, list[str]]]:
        """What changed in each store since ``before`` (a :meth:`snapshot`)."""
        out = {}
        for name, old, new in zip(("default", "team"), before, self.snapshot()):
            diff = {"added": sorted(new.keys() - old.keys()), "removed": sorted(old.keys() - new.keys()),
                    "changed": sorted(k for k in old.keys() & new.keys() if old[k] != new[k])}
            out[name] = {k: v for k, v in diff.items() if v}
        return {k: v for k, v in out.items() if v}

    def close(self) -> None:
        self.server.stop()
        for store in self.stores:
            store.close()


def write_config(path: Path, team_url: str, team_options: dict[str, str], http: dict[str, Any] | None = None) -> Path:
    """A config file naming the ``team`` store and an optional ``[http]`` table."""
    lines = [f'[stores.team]\nurl = "{team_url}"\n[stores.team.storage_options]\n']
    lines += [f"{k} = {json.dumps(v)}\n" for k, v in team_options.items()]
    if http:
        lines.append("[http]\n")
        lines += [f"{k} = {json.dumps(v)}\n" for k, v in http.items()]
    path.write_text("".join(lines))
    return path


def serve(tmp_path: Path, s3_server: Any, kind: str, *, http: dict[str, Any] | None = None,
          env: dict[str, str] | None = None, **server_kwargs: Any) -> Served:
    """``poolstore serve`` on a fresh default store of ``kind`` (local or s3)
    and a ``team`` store in an S3 bucket of the moto server."""
    options = s3_server.storage_options()
    if kind == "local":
        url, default_options = str(tmp_path / "store"), {}
    else:
        url, default_options = f"s3://{s3_server.new_bucket()}/pools", options
    team_url = f"s3://{s3_server.new_bucket()}/pools"
    config = write_config(tmp_path / "poolstore.toml", team_url, options, http)
    cleared = dict.fromkeys(("POOLSTORE_URL", "POOLSTORE_TOKEN", "POOLSTORE_ALLOWED_ORIGINS", "POOLSTORE_HOSTS"), "")
    environment = {**cleared, "POOLSTORE_CONFIG": str(config), "POOLSTORE_CACHE_DIR": str(tmp_path / "cache"), **(env or {})}
    stores = [backends.open_store(url, default_options), backends.open_store(team_url, options)]
    server = Server(url, default_options, env=environment, **server_kwargs)
    return Served(server, Raw(stores[0], s3_server if kind == "s3" else None), Raw(stores[1], s3_server), kind, stores)


def call(url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None,
         timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    """One request as a non-browser client: (status, headers, body); never raises for 4xx/5xx."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    headers = dict(headers or {})
    if isinstance(body, dict):
        headers.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def multipart(fields: list[tuple[str, str | tuple[str, bytes]]]) -> tuple[bytes, dict[str, str]]:
    """A multipart body and its header; a field's value is text or (file name, bytes)."""
    boundary = "x-attack-support-boundary"
    parts = []
    for name, value in fields:
        if isinstance(value, tuple):
            head = f'Content-Disposition: form-data; name="{name}"; filename="{value[0]}"\r\n' \
                   "Content-Type: application/octet-stream\r\n"
            data = value[1]
        else:
            head, data = f'Content-Disposition: form-data; name="{name}"\r\n', value.encode()
        parts.append(f"--{boundary}\r\n{head}\r\n".encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def create_profile(served: Served, name: str) -> str:
    """Create a profile as a local client; its id."""
    status, _, body = call(f"{served.url}grid_pool/profiles/create", "POST", {"name": name})
    assert status == 200, body
    return json.loads(body)["profile"]["id"]


def big_profile(served: Served, images: int = 3, size: tuple[int, int] = (1200, 1100)) -> str:
    """A profile whose export (``images`` noisy PNGs, ~4 MB each) is larger than
    the socket buffers, so a client that reads nothing stalls the server."""
    import random

    from PIL import Image

    base = served.url.rstrip("/")
    pid = create_profile(served, "big")
    rnd = random.Random(7)
    for i in range(images):
        out = io.BytesIO()
        Image.frombytes("RGB", size, rnd.randbytes(size[0] * size[1] * 3)).save(out, format="PNG", compress_level=1)
        body, headers = multipart([("pool_id", pid), ("image", (f"big{i}.png", out.getvalue()))])
        status, _, answer = call(f"{base}/grid_pool/add", "POST", body, headers)
        assert status == 200, answer
    return pid


def victim(served: Served, images: int = 1) -> dict[str, str]:
    """A profile "victim" with ``images`` images, the first with a mask, made
    through the API as a local client (no Origin: allowed)."""
    base = served.url.rstrip("/")
    pid = create_profile(served, "victim")
    files = [("image", (f"v{i}.png", png_bytes(color=(10 * i, 90, 200)))) for i in range(images)]
    body, headers = multipart([("pool_id", pid), *files])
    status, _, answer = call(f"{base}/grid_pool/add", "POST", body, headers)
    assert status == 200, answer
    image = json.loads(answer)["slots"][0]["image"]
    body, headers = multipart([("pool_id", pid), ("image", image), ("mask", ("m.png", png_bytes(mode="L", color=(255, 0, 0))))])
    status, _, answer = call(f"{base}/grid_pool/set_mask", "POST", body, headers)
    assert status == 200, answer
    return {"id": pid, "image": image}


def profile_zip(name: str = "smuggled") -> bytes:
    """A valid profile zip (one PNG) as the export writes it."""
    manifest = {"active": 0, "next_seq": 2, "slots": [{"image": "img_0001.png", "mask": None, "label": "", "added": 1}]}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("profile_meta.json", json.dumps({"name": name, "format": 1}))
        zf.writestr("pool/manifest.json", json.dumps(manifest))
        zf.writestr("pool/img_0001.png", png_bytes(color=(1, 2, 3)))
    return out.getvalue()


def raw_socket(port: int, rcvbuf: int | None = None) -> socket.socket:
    """A connected TCP socket to 127.0.0.1:``port`` (``rcvbuf``: a small
    receive buffer, so a client that reads nothing stalls the server soon)."""
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(30)
    sock.connect(("127.0.0.1", port))
    return sock


def read_head(sock: socket.socket) -> bytes:
    """Read up to the end of the response head (and what came with it)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(1024)
        if not chunk:
            break
        data += chunk
    return data


def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Read (and discard) until the server closes: the seconds it took, or
    ``None`` if it was still open after ``seconds``."""
    start = time.monotonic()
    sock.settimeout(0.5)
    while time.monotonic() - start < seconds:
        try:
            if not sock.recv(1 << 16):
                return time.monotonic() - start
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - start
    return None


def nofile_limit(limit: int) -> Any:
    """A ``preexec_fn`` lowering the child's open-file limit (POSIX); ``None``
    elsewhere (then the test runs without the lower limit)."""
    if os.name != "posix":
        return None

    def lower() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    return lower
