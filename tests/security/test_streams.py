"""Item 4: stalled downloads. Clients that request an export and never read
it must not take the threads the other routes need, the number of exports at
once is bounded (503 past it), and a client that reads nothing is dropped
after the write timeout, which frees its place."""

from __future__ import annotations

import json
import time

import pytest

from attack_support import big_profile, call, raw_socket, read_head, serve

pytestmark = [pytest.mark.slow]

STALLED = 10


def stall_export(port: int, pid: str) -> object:
    """Ask for an export on a socket with a tiny receive buffer, and never read."""
    sock = raw_socket(port, rcvbuf=4096)
    sock.sendall(f"GET /grid_pool/profiles/export?id={pid} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    return sock


def status_of(head: bytes) -> int:
    return int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0


@pytest.fixture
def stalled_server(tmp_path, s3_server):
    s3_server.reset()
    running = serve(tmp_path, s3_server, "local", http={"max_streams": 4, "write_timeout": 3})
    yield running
    running.close()


def test_ten_stalled_exports_leave_the_api_answering(stalled_server, record_figures):
    served = stalled_server
    pid = big_profile(served)
    port = served.server.port
    sockets = [stall_export(port, pid) for _ in range(STALLED)]
    try:
        time.sleep(1.5)  # every export has started and filled the socket buffers
        start = time.monotonic()
        try:
            status, _, _ = call(f"{served.url}grid_pool/profiles/list", timeout=10)
        except OSError:
            status = None
        elapsed = time.monotonic() - start
        record_figures({"stalled exports": STALLED, "list answered in s": round(elapsed, 3), "list status": status})
        assert status == 200 and elapsed < 1.0, (status, elapsed)
        heads = [read_head(sock) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
    statuses = sorted(status_of(h) for h in heads)
    assert statuses == [200] * 4 + [503] * (STALLED - 4), statuses
    refused = next(h for h in heads if status_of(h) == 503)
    assert json.loads(refused.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "busy"


def test_a_stalled_export_is_dropped_after_the_write_timeout(stalled_server, record_figures):
    served = stalled_server
    pid = big_profile(served)
    port = served.server.port
    sockets = [stall_export(port, pid) for _ in range(4)]  # every place taken
    export_url = f"{served.url}grid_pool/profiles/export?id={pid}"
    try:
        heads = [read_head(sock) for sock in sockets]  # each export has started: its place is taken
        assert all(status_of(h) == 200 for h in heads), heads
        start = time.monotonic()
        first = call(export_url, timeout=30)
        assert first[0] == 503, first[0]
        freed = None
        while time.monotonic() - start < 30:  # the places come back once the stalled clients are dropped
            status, _, body = call(export_url, timeout=30)
            if status == 200:
                freed = time.monotonic() - start
                break
            time.sleep(0.25)
        record_figures({"write timeout s": 3, "place freed after s": freed and round(freed, 2)})
        assert freed is not None and freed < 15, freed  # held until then: the first call got 503
        got = []
        for sock, data in zip(sockets, heads):  # each stalled download was cut short
            sock.settimeout(10)
            try:
                while chunk := sock.recv(1 << 16):
                    data += chunk
            except ConnectionResetError:
                pass
            got.append(len(data))
        assert all(n < len(body) for n in got), (got, len(body))
    finally:
        for sock in sockets:
            sock.close()
