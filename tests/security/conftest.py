"""Fixtures of the attacks: Chromium (with ``rebind.test`` resolving to
127.0.0.1, as a DNS rebinding would make it), the attacker's site, and
``poolstore serve`` on a local or S3 default store with an S3 ``team`` store."""

from __future__ import annotations

import pytest

from attack_support import REBIND_HOST, AttackSite, serve


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    from browser_support import launch_browser

    with sync_api.sync_playwright() as p:
        # Chromium's own local-network checks off: they stop a rebound page's requests to
        # loopback in Chromium only; the server must hold in every browser
        b = launch_browser(p, [
            f"--host-resolver-rules=MAP {REBIND_HOST} 127.0.0.1",
            "--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,"
            "PrivateNetworkAccessSendPreflights",
        ])
        yield b
        b.close()


@pytest.fixture
def attack_site():
    site = AttackSite()
    yield site
    site.close()


@pytest.fixture(params=["local", "s3"])
def served(request, tmp_path, s3_server):
    """``poolstore serve`` on a default store of each kind (team: S3)."""
    s3_server.reset()
    running = serve(tmp_path, s3_server, request.param)
    yield running
    running.close()


@pytest.fixture
def served_local(tmp_path, s3_server):
    """``poolstore serve`` on a local default store (team: S3)."""
    s3_server.reset()
    running = serve(tmp_path, s3_server, "local")
    yield running
    running.close()
