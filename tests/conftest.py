from __future__ import annotations

import os
import uuid

import pytest

from azurite_support import AzuriteServer, azurite_missing
from support import LOCAL_KINDS, Raw, S3TestServer, force_portable, forget_memory

import backends
from backends._local import LocalStore

# "local-portable" is the local store with the portable implementation forced
# (the one Windows runs), so that code path runs on every CI run; "azure" is
# Azure Blob Storage on Azurite (see azurite_support.py).
BACKENDS = ["local", "local-portable", "memory", "s3", "azure"]


@pytest.fixture(scope="session")
def s3_server():
    server = S3TestServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def azure_server():
    """Azurite (Azure Blob Storage) for the session; skipped where it is not
    installed, except on CI (``CI`` set), where its absence is a failure."""
    missing = azurite_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    server = AzuriteServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3_url(s3_server):
    s3_server.reset()
    return f"s3://{s3_server.new_bucket()}/pools", s3_server.storage_options()


def make_store(kind: str, tmp_path, server=None):
    if kind in LOCAL_KINDS:
        return LocalStore(str(tmp_path / "store"), portable=kind == "local-portable")
    if kind == "memory":
        return backends.open_store(f"memory://t-{uuid.uuid4().hex}")
    if kind == "azure":
        return backends.open_store(f"az://{server.new_container()}/pools", server.storage_options())
    server.reset()
    bucket = server.new_bucket()
    return backends.open_store(f"s3://{bucket}/pools", server.fast_options())


_SERVERS = {"s3": "s3_server", "azure": "azure_server"}


def server_for(request, kind: str):
    """The test server a store of ``kind`` needs (``None`` for local and memory)."""
    return request.getfixturevalue(_SERVERS[kind]) if kind in _SERVERS else None


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path, monkeypatch):
    force_portable(request.param, monkeypatch)
    server = server_for(request, request.param)
    st = make_store(request.param, tmp_path, server)
    st._test_server = server
    yield st
    st.close()
    if st.kind == "memory":
        forget_memory(st)


@pytest.fixture(params=LOCAL_KINDS)
def local_store(request, tmp_path, monkeypatch):
    """A local store, once per local implementation."""
    force_portable(request.param, monkeypatch)
    st = make_store(request.param, tmp_path)
    st._test_kind = request.param
    yield st
    st.close()


@pytest.fixture
def raw(store):
    return Raw(store, getattr(store, "_test_server", None))


@pytest.fixture
def store_factory(request, tmp_path):
    """Make further stores of any kind inside this test."""
    counter = iter(range(1000))

    def make(kind: str):
        server = server_for(request, kind)
        sub = tmp_path / f"extra{next(counter)}"
        if kind == "s3":
            st = backends.open_store(f"s3://{server.new_bucket()}/pools", server.fast_options())
        else:
            st = make_store(kind, sub, server)
        st._test_server = server
        return st

    return make


_FIGURES: list[dict] = []


@pytest.fixture
def record_figures(record_property):
    """Keep measured figures (e.g. concurrency runs) for the terminal summary."""

    def record(figures: dict) -> None:
        _FIGURES.append(figures)
        record_property("figures", figures)

    return record


def pytest_terminal_summary(terminalreporter):
    if not _FIGURES:
        return
    terminalreporter.section("measured figures")
    for fig in _FIGURES:
        terminalreporter.write_line(", ".join(f"{k}: {v}" for k, v in fig.items()))


@pytest.fixture
def sentinel(tmp_path):
    """A folder beside the store that hostile-input tests aim at; it must survive."""
    folder = tmp_path / "sentinel"
    folder.mkdir()
    (folder / "keep.txt").write_bytes(b"keep me")
    return folder
