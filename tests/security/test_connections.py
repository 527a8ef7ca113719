"""Item 10: slow and idle clients, and the headers of every answer. A client
that sends its request head or body slowly, or opens a connection and sends
nothing, is dropped after its timeout; a flood of idle sockets beyond the
connection cap (the server limited to 1,024 open files, a usual default) does
not lock a real client out; every answer carries the security headers."""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
import urllib.request

import pytest

from attack_support import call, closed_within, nofile_limit, raw_socket, serve, victim

pytestmark = [pytest.mark.slow]

TIMEOUTS = {"header_timeout": 2, "body_timeout": 2, "idle_timeout": 3}


@pytest.fixture
def timed_server(tmp_path, s3_server):
    s3_server.reset()
    running = serve(tmp_path, s3_server, "local", http=TIMEOUTS)
    yield running
    running.close()


def test_slow_request_head_is_dropped_after_the_header_timeout(timed_server, record_figures):
    port = timed_server.server.port
    sock = raw_socket(port)
    head = f"GET /grid_pool/stores HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Slow: ".encode()
    stop = threading.Event()

    def trickle() -> None:  # one byte every 0.3 s, never the end of the head
        for i in range(200):
            if stop.wait(0.3):
                return
            try:
                sock.send(head[i:i + 1] if i < len(head) else b"a")
            except OSError:
                return

    threading.Thread(target=trickle, daemon=True).start()
    try:
        took = closed_within(sock, 20)
    finally:
        stop.set()
        sock.close()
    record_figures({"header timeout s": 2, "slow head dropped after s": took and round(took, 2)})
    assert took is not None and 1.5 <= took < 10, took


def test_stalled_request_body_is_dropped_after_the_body_timeout(timed_server):
    port = timed_server.server.port
    sock = raw_socket(port)
    sock.sendall(f"POST /grid_pool/profiles/create HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                 "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"name\": ".encode())
    try:
        took = closed_within(sock, 20)
    finally:
        sock.close()
    assert took is not None and 1.5 <= took < 10, took


def test_idle_connection_is_closed_after_the_idle_timeout(timed_server):
    sock = raw_socket(timed_server.server.port)
    try:
        took = closed_within(sock, 20)
    finally:
        sock.close()
    assert took is not None and 2.5 <= took < 10, took


IDLE_SOCKETS = 1100


def test_idle_sockets_beyond_the_cap_do_not_lock_a_real_client_out(tmp_path, s3_server, record_figures):
    s3_server.reset()
    served = serve(tmp_path, s3_server, "local", preexec_fn=nofile_limit(1024))
    sockets = []
    try:
        for _ in range(IDLE_SOCKETS):
            sockets.append(raw_socket(served.server.port))
        start = time.monotonic()
        try:
            status = call(f"{served.url}grid_pool/profiles/list", timeout=10)[0]
        except OSError:
            status = None
        elapsed = time.monotonic() - start
        record_figures({"idle sockets": IDLE_SOCKETS, "real client answered in s": round(elapsed, 3), "status": status})
        assert status == 200 and elapsed < 5, (status, elapsed)
    finally:
        for sock in sockets:
            sock.close()
        served.close()


# --- headers -----------------------------------------------------------------

BASE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def test_every_answer_carries_the_security_headers(served_local):
    served = served_local
    target = victim(served)
    base = served.url.rstrip("/")
    pid, image = target["id"], target["image"]
    answers = {
        path: call(base + path)
        for path in ["/", "/web/standalone/app.js", "/grid_pool/profiles/list", "/grid_pool/stores",
                     f"/grid_pool/list?pool_id={pid}", f"/grid_pool/image?pool_id={pid}&image={image}",
                     f"/grid_pool/thumb?pool_id={pid}&image={image}", f"/grid_pool/profiles/export?id={pid}",
                     "/grid_pool/list?pool_id=..", "/no/such/route"]
    }
    for path, (status, headers, _body) in answers.items():
        for name, value in BASE_HEADERS.items():
            assert headers.get(name) == value, (path, status, name, headers)
        assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", ""), (path, headers)
    for path in [p for p in answers if p.startswith("/grid_pool/")]:
        assert answers[path][1].get("Cross-Origin-Resource-Policy") == "same-origin", path


def test_page_policy_allows_its_own_script_only(served_local, browser):
    status, headers, body = call(served_local.url)
    csp = headers["Content-Security-Policy"]
    script = re.search(rb"<script type=\"module\">(.*?)</script>", body, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script).digest()).decode()
    script_src = re.search(r"script-src ([^;]*)", csp).group(1).split()
    assert script_src == ["'self'", f"'sha256-{digest}'"], csp
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    # an injected inline script would not run; the page itself does (it lists the stores)
    page = browser.new_page()
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(served_local.url)
    page.wait_for_selector(".psp-store option", state="attached")
    ran = page.evaluate("""() => { const s = document.createElement('script');
        s.textContent = 'window.injected = 1'; document.body.appendChild(s); return window.injected === 1; }""")
    page.close()
    assert ran is False and violations, violations


def test_other_sites_cannot_frame_the_page(served_local, attack_site, browser):
    attack_site.pages["/frame.html"] = f'<iframe id="f" src="{served_local.url}"></iframe>'
    page = browser.new_page()
    page.goto(f"{attack_site.origin}/frame.html")
    page.wait_for_timeout(1000)
    framed = [f for f in page.frames if f != page.main_frame]
    loaded = [f.url for f in framed if f.url.startswith(served_local.url) and f.query_selector("#grid")]
    page.close()
    assert not loaded, loaded
