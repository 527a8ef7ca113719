"""Beyond loopback: ``poolstore serve --host <not loopback>`` needs an access
token (from the environment or the config file, never an argument); with
one, every route needs it (Bearer header, or the HttpOnly SameSite session
cookie of the login page). ``--read-only`` serves the page and the reads, and
refuses every change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from io import BytesIO

import pytest

from attack_support import REPO_ROOT, call, serve
from poolstore import Pool, Registry, new_id
from support import png_bytes

pytestmark = [pytest.mark.slow]

TOKEN = "s3cret-token-for-tests-0123456789"


def test_serve_beyond_loopback_will_not_start_without_a_token(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("POOLSTORE_")}
    env["POOLSTORE_CACHE_DIR"] = str(tmp_path / "cache")
    cmd = [sys.executable, "-m", "poolstore", "serve", "--host", "0.0.0.0", "--port", "0", "--store", str(tmp_path / "s")]
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"serve started on 0.0.0.0 without a token: {out}")
    assert proc.returncode == 2, (out, err)
    assert err.startswith("poolstore serve: ") and "token" in err and "Traceback" not in err, err
    assert "http://" not in out
    # a token is never taken from the command line (other local users can read it)
    argv = subprocess.run(cmd + ["--token", TOKEN], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert argv.returncode == 2 and "unrecognized arguments" in argv.stderr


@pytest.fixture
def token_server(tmp_path, s3_server):
    s3_server.reset()
    running = serve(tmp_path, s3_server, "local", host="0.0.0.0", env={"POOLSTORE_TOKEN": TOKEN})
    yield running
    running.close()


BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.browser
def test_every_route_needs_the_token(token_server, browser):
    served = token_server
    base = served.url.rstrip("/")
    status, _, body = call(f"{base}/grid_pool/profiles/create", "POST", {"name": "victim"}, BEARER)
    assert status == 200, body
    pid = json.loads(body)["profile"]["id"]
    before = served.snapshot()
    reads = ["/web/standalone/app.js", "/grid_pool/profiles/list", "/grid_pool/stores",
             f"/grid_pool/list?pool_id={pid}", f"/grid_pool/profiles/export?id={pid}"]
    for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}, {"Cookie": f"poolstore_session={TOKEN}"}):
        for path in reads:
            status, _, body = call(base + path, headers=headers)
            assert status == 401 and json.loads(body)["error"]["code"] == "unauthorized", (path, headers, status)
        status, _, _ = call(f"{base}/grid_pool/profiles/delete", "POST", {"id": pid}, headers)
        assert status == 401
    assert not served.changes(before)
    for path in reads:
        assert call(base + path, headers=BEARER)[0] == 200, path

    # the login page: a wrong token is refused, the right one sets an HttpOnly SameSite cookie
    assert call(f"{base}/login", "POST", b"token=nope", {"Content-Type": "application/x-www-form-urlencoded"})[0] == 401
    context = browser.new_context()
    page = context.new_page()
    page.goto(served.url)
    assert page.url == f"{base}/login"
    page.fill("input[name=token]", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_selector(".psp-item", state="attached")
    assert "victim" in page.locator(".psp-item").all_inner_texts()
    cookie = next(c for c in context.cookies() if c["name"] == "poolstore_session")
    context.close()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and TOKEN not in cookie["value"]
    assert call(f"{base}/grid_pool/profiles/list", headers={"Cookie": f"poolstore_session={cookie['value']}"})[0] == 200


@pytest.fixture(params=["local", "s3"])
def read_only_server(request, tmp_path, s3_server):
    s3_server.reset()
    running = serve(tmp_path, s3_server, request.param, args=["--read-only"])
    yield running
    running.close()


def test_read_only_serves_reads_and_refuses_every_change(read_only_server):
    served = read_only_server
    store = served.stores[0]
    pid = new_id()
    Registry(store).create(pid, "victim")
    image = Pool(store, pid).add([png_bytes()])[0]
    before = served.snapshot()
    base = served.url.rstrip("/")
    assert call(base + "/")[0] == 200
    assert json.loads(call(f"{base}/grid_pool/profiles/list")[2])["profiles"][0]["name"] == "victim"
    status, _, body = call(f"{base}/grid_pool/profiles/export?id={pid}")
    assert status == 200 and "pool/manifest.json" in zipfile.ZipFile(BytesIO(body)).namelist()
    writes = [
        ("/grid_pool/profiles/create", {"name": "x"}), ("/grid_pool/profiles/rename", {"id": pid, "name": "y"}),
        ("/grid_pool/profiles/delete", {"id": pid}), ("/grid_pool/remove", {"pool_id": pid, "image": image}),
        ("/grid_pool/label", {"pool_id": pid, "image": image, "label": "z"}),
    ]
    for path, doc in writes:
        status, _, answer = call(base + path, "POST", doc)
        assert status == 403 and json.loads(answer)["error"]["code"] == "read_only", (path, status, answer)
    status, _, answer = call(f"{base}/grid_pool/add", "POST", b"", {"Content-Type": "multipart/form-data; boundary=b"})
    assert status == 403 and "read-only" in json.loads(answer)["error"]["message"]
    assert not served.changes(before)
