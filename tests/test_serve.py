"""``poolstore serve``: the standalone app in-process, and the command started
as a subprocess on a free port answering on 127.0.0.1."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from comfy_nodes.serve import STANDALONE_PAGE, create_app
from poolstore import Pool, StoreSet
from support import png_bytes

import backends

PACK_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture
def web_dir(tmp_path):
    folder = tmp_path / "web"
    page = folder / STANDALONE_PAGE
    page.parent.mkdir(parents=True)
    page.write_text("<!doctype html><title>pools</title>")
    (folder / "shared").mkdir()
    (folder / "shared" / "api.js").write_text("export const x = 1;\n")
    return folder


async def test_app_serves_page_web_files_and_api(store, web_dir, tmp_path, aiohttp_client):
    Pool(store, "p1").add([png_bytes()])
    client = await aiohttp_client(create_app(StoreSet(store), web_dir=web_dir, cache_dir=tmp_path / "c"))
    page = await client.get("/")
    assert page.status == 200 and "<title>pools</title>" in await page.text()
    script = await client.get("/web/shared/api.js")
    assert script.status == 200 and "export const" in await script.text()
    assert (await client.get("/web/../../etc-like")).status in (403, 404)
    doc = await (await client.get("/grid_pool/list", params={"pool_id": "p1"})).json()
    assert doc["count"] == 1


async def test_missing_page_is_a_clear_404(store, tmp_path, aiohttp_client):
    client = await aiohttp_client(create_app(StoreSet(store), web_dir=tmp_path / "nothing", cache_dir=tmp_path / "c"))
    resp = await client.get("/")
    assert resp.status == 404 and "standalone page" in await resp.text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _read_line(proc: subprocess.Popen, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            return proc.stdout.readline()
        if proc.poll() is not None:
            break
    raise AssertionError(f"no output from serve (exit {proc.poll()}): {proc.stderr.read() if proc.poll() is not None else ''}")


def _env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("POOLSTORE_URL", "POOLSTORE_CONFIG")}
    env["POOLSTORE_CACHE_DIR"] = str(tmp_path / "cache")
    env["PYTHONPATH"] = str(PACK_DIR)
    return env


@pytest.mark.parametrize("module", ["poolstore", "comfy_nodes.serve"])
def test_serve_subprocess_answers_on_loopback(tmp_path, module):
    root = tmp_path / "store"
    Pool(backends.open_store(str(root)), "p1").add([png_bytes()], ["hello"])
    port = _free_port()
    args = ["serve"] if module == "poolstore" else []
    cmd = [sys.executable, "-m", module, *args, "--port", str(port), "--store", str(root)]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = _read_line(proc)
        assert f"http://127.0.0.1:{port}/" in line
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/grid_pool/list?pool_id=p1", timeout=30) as resp:
            doc = json.loads(resp.read())
        assert doc["count"] == 1 and doc["slots"][0]["label"] == "hello"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/grid_pool/stores", timeout=30) as resp:
            assert json.loads(resp.read())["stores"][0]["url"] == str(root)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode == 0
    assert not (tmp_path / "grid_pool").exists()


def test_serve_default_store_is_grid_pool_in_the_working_folder(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "comfy_nodes.serve", "--port", "0"],
        cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = _read_line(proc)
        port = int(line.split("http://127.0.0.1:", 1)[1].split("/", 1)[0])
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/grid_pool/profiles/create", data=b'{"name": "A"}',
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            entry = json.loads(resp.read())["profile"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert (tmp_path / "grid_pool" / "profiles.json").is_file()
    assert (tmp_path / "grid_pool" / entry["id"] / "profile.json").is_file()


@pytest.mark.parametrize("bad", [["--storage-option", "novalue", "--store", "x"], ["--storage-option", "a=b"],
                                 ["--store", "s3://"]])
def test_serve_bad_options_exit_with_a_message(tmp_path, bad):
    out = subprocess.run([sys.executable, "-m", "comfy_nodes.serve", "--port", "0", *bad], cwd=tmp_path,
                         env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.startswith("poolstore serve: ") and "Traceback" not in out.stderr


def test_serve_port_in_use_exits_with_a_message(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "comfy_nodes.serve", "--port", str(port), "--store", str(tmp_path / "s")],
                             cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "cannot listen" in out.stderr and "Traceback" not in out.stderr
