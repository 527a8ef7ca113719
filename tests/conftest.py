from __future__ import annotations

import uuid

import pytest

from support import LOCAL_KINDS, Raw, S3TestServer, force_portable

import backends
from backends._local import LocalStore

# "local-portable" is the local store with the portable implementation forced
# (the one Windows runs), so that code path runs on every CI run.
BACKENDS = ["local", "local-portable", "memory", "s3"]


@pytest.fixture(scope="session")
def s3_server():
    server = S3TestServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3_url(s3_server):
    s3_server.reset()
    return f"s3://{s3_server.new_bucket()}/pools", s3_server.storage_options()


def make_store(kind: str, tmp_path, s3_server=None):
    if kind in LOCAL_KINDS:
        return LocalStore(str(tmp_path / "store"), portable=kind == "local-portable")
    if kind == "memory":
        return backends.open_store(f"memory://t-{uuid.uuid4().hex}")
    s3_server.reset()
    bucket = s3_server.new_bucket()
    return backends.open_store(f"s3://{bucket}/pools", s3_server.fast_options())


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path, monkeypatch):
    force_portable(request.param, monkeypatch)
    server = request.getfixturevalue("s3_server") if request.param == "s3" else None
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


def forget_memory(store) -> None:
    """Drop a memory store's objects (fsspec keeps them for the whole process)."""
    from fsspec.implementations.memory import MemoryFileSystem

    prefix = store.root + "/"
    for path in [p for p in MemoryFileSystem.store if p.startswith(prefix)]:
        MemoryFileSystem.store.pop(path, None)
    MemoryFileSystem.pseudo_dirs[:] = [d for d in MemoryFileSystem.pseudo_dirs if not (d + "/").startswith(prefix)]


@pytest.fixture
def raw(store):
    return Raw(store, getattr(store, "_test_server", None))


@pytest.fixture
def store_factory(request, tmp_path):
    """Make further stores of any kind inside this test."""
    counter = iter(range(1000))

    def make(kind: str):
        server = request.getfixturevalue("s3_server") if kind == "s3" else None
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
