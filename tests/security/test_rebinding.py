"""Item 2: DNS rebinding. A name the attacker controls (``rebind.test``)
resolves to 127.0.0.1, so a page of that origin is same-origin with the
server as far as the browser knows. The server must answer only the names of
the address it listens on: checked with a foreign ``Host`` header on every
kind of route, and in Chromium with ``rebind.test`` mapped to 127.0.0.1."""

from __future__ import annotations

import http.client
import json

import pytest

from attack_support import REBIND_HOST, victim

pytestmark = [pytest.mark.slow]


def request(port: int, method: str, path: str, host: str, body: bytes | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Host": host}
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def routes(target: dict[str, str]) -> list[tuple[str, str, bytes | None]]:
    pid, image = target["id"], target["image"]
    return [
        ("GET", "/", None),
        ("GET", "/web/standalone/app.js", None),
        ("GET", "/grid_pool/profiles/list", None),
        ("GET", "/grid_pool/stores", None),
        ("GET", f"/grid_pool/list?pool_id={pid}", None),
        ("GET", f"/grid_pool/image?pool_id={pid}&image={image}", None),
        ("GET", f"/grid_pool/profiles/export?id={pid}", None),
        ("GET", "/no/such/route", None),
        ("POST", "/grid_pool/profiles/delete", json.dumps({"id": pid}).encode()),
    ]


def test_foreign_host_header_is_refused_on_every_route(served):
    target = victim(served)
    before = served.snapshot()
    port = served.server.port
    for host in (f"{REBIND_HOST}:{port}", REBIND_HOST, f"127.0.0.1:{port + 1 if port < 65535 else 1}",
                 f"evil.example:{port}", f"localhost.evil.example:{port}"):
        for method, path, body in routes(target):
            status, answer = request(port, method, path, host, body)
            assert status == 421, (host, method, path, status, answer[:200])
            assert b"victim" not in answer and not answer.startswith(b"PK")
    assert not served.changes(before)
    # the names of the address it listens on still work (deleting last)
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        for method, path, body in routes(target)[:-2]:
            assert request(port, method, path, host)[0] == 200, (host, path)
    assert request(port, "POST", "/grid_pool/profiles/delete", f"localhost:{port}", routes(target)[-1][2])[0] == 200


REBOUND_SCRIPT = """async ([pid, image]) => {
  const out = {};
  for (const path of ["/grid_pool/profiles/list", "/grid_pool/stores", "/grid_pool/list?pool_id=" + pid,
                      "/grid_pool/image?pool_id=" + pid + "&image=" + image,
                      "/grid_pool/profiles/export?id=" + pid]) {
    const r = await fetch(path);
    out[path] = [r.status, (await r.text()).slice(0, 300)];
  }
  const d = await fetch("/grid_pool/profiles/delete", {method: "POST", headers: {"Content-Type": "application/json"},
                                                        body: JSON.stringify({id: pid})});
  out.delete = [d.status, await d.text()];
  return out;
}"""


@pytest.mark.browser
def test_rebound_name_in_chromium_reads_and_changes_nothing(browser, served):
    target = victim(served)
    before = served.snapshot()
    page = browser.new_page()
    origin = f"http://{REBIND_HOST}:{served.server.port}"
    home = page.goto(f"{origin}/").status  # the server's own page under that name
    # the attacker's page, as its server answered before the name was rebound to 127.0.0.1;
    # every later request of the page goes to poolstore serve
    page.route(f"{origin}/attack.html", lambda route: route.fulfill(body="<!doctype html><p>hello</p>",
                                                                        content_type="text/html"))
    page.goto(f"{origin}/attack.html")
    assert page.evaluate("self.origin") == origin  # the script below runs as that origin
    seen = page.evaluate(REBOUND_SCRIPT, [target["id"], target["image"]])
    page.close()

    assert all(status == 421 for status, _text in seen.values()), seen
    assert home == 421
    assert not any("victim" in text for _status, text in seen.values()), seen
    assert not served.changes(before)
