"""The trust rules inside a real ComfyUI started with ``--enable-cors-header``,
which turns ComfyUI's own origin check off: our routes must still refuse a
cross-site write and a foreign ``Host``, and carry the security headers (on
our answers only). Skipped unless ``COMFYUI_DIR`` names a ComfyUI checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest

from attack_support import REPO_ROOT, call
from support import stop_process

COMFYUI_DIR = os.environ.get("COMFYUI_DIR")
pytestmark = [
    pytest.mark.comfyui,
    pytest.mark.slow,
    pytest.mark.skipif(not COMFYUI_DIR, reason="set COMFYUI_DIR to a ComfyUI checkout to run"),
]


@pytest.fixture(scope="module")
def comfyui(tmp_path_factory):
    import socket

    base = tmp_path_factory.mktemp("comfy-cors")
    (base / "custom_nodes").mkdir()
    (base / "custom_nodes" / "poolstore").symlink_to(REPO_ROOT, target_is_directory=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("POOLSTORE_")}
    env["POOLSTORE_CACHE_DIR"] = str(base / "cache")
    log = open(base / "comfyui.log", "wb")
    proc = subprocess.Popen(
        [os.environ.get("COMFYUI_PYTHON", sys.executable), "main.py", "--cpu", "--listen", "127.0.0.1",
         "--port", str(port), "--base-directory", str(base), "--enable-cors-header", "*",
         "--database-url", "sqlite:///:memory:"],
        cwd=COMFYUI_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                urllib.request.urlopen(url + "/api/grid_pool/stores", timeout=5).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("ComfyUI did not start:\n" + (base / "comfyui.log").read_text()[-4000:])
                time.sleep(1)
        yield url, port, base
    finally:
        stop_process(proc, timeout=30)
        log.close()


def registry(base) -> list[str]:
    path = base / "input" / "grid_pool" / "profiles.json"
    return [p["name"] for p in json.loads(path.read_text())["profiles"]] if path.exists() else []


def test_cross_site_write_is_refused_without_comfyuis_own_check(comfyui):
    url, port, base = comfyui
    for prefix in ("", "/api"):
        status, _, body = call(f"{url}{prefix}/grid_pool/profiles/create", "POST", {"name": "pwned"},
                               {"Origin": "http://evil.example"})
        assert status == 403 and json.loads(body)["error"]["code"] == "cross_origin", (prefix, status, body)
        status, _, _ = call(f"{url}{prefix}/grid_pool/profiles/create", "POST", b'{"name": "pwned"}',
                            {"Content-Type": "text/plain"})
        assert status == 415
    assert "pwned" not in registry(base)
    status, _, body = call(f"{url}/api/grid_pool/profiles/create", "POST", {"name": "own"}, {"Origin": url})
    assert status == 200, body
    assert "own" in registry(base)


def test_foreign_host_is_refused_on_loopback(comfyui):
    url, port, _base = comfyui
    status, headers, _ = call(f"{url}/api/grid_pool/profiles/list", headers={"Host": f"rebind.test:{port}"})
    assert status == 421
    status, headers, _ = call(f"{url}/api/grid_pool/profiles/list", headers={"Host": f"localhost:{port}"})
    assert status == 200
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Cross-Origin-Resource-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    # ComfyUI's own answers are left as ComfyUI makes them
    _status, comfy_headers, _ = call(f"{url}/api/system_stats")
    assert "Cross-Origin-Resource-Policy" not in comfy_headers
