"""The local store where POSIX calls are missing (Windows): it opens without
``fcntl``, creates files without hard links where the file system has none,
retries a rename while Windows reports the target busy, and refuses names
Windows cannot hold. The whole store contract also runs with the portable
implementation forced (the "local-portable" backend in conftest.py)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from backends import InvalidKeyError, PreconditionFailedError, StoreConfigError, open_folder
from backends._local import LocalStore
from backends._localfs import IMPL_ENV, retry_busy

REPO = Path(__file__).resolve().parent.parent

_WITHOUT_FCNTL = """
import sys
sys.modules["fcntl"] = None  # as on Windows: "import fcntl" fails
import backends
store = backends.open_store(sys.argv[1])
assert store.folder.portable, store.folder
store.write("p1/doc.json", b"{}")
store.write("p1/doc.json", b"[]")
store.create("p1/img.png", b"png")
print(store.read("p1/doc.json").decode(), [o.key for o in store.list()])
"""


def test_the_local_store_opens_without_fcntl(tmp_path):
    # The side lock itself needs the platform's primitive (LockFileEx on
    # Windows, flock here), so it is left out; it runs in the whole contract
    # suite with the portable implementation forced.
    env = {k: v for k, v in os.environ.items() if k != IMPL_ENV}
    out = subprocess.run(
        [sys.executable, "-c", _WITHOUT_FCNTL, str(tmp_path / "store")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[]", "['p1/doc.json',", "'p1/img.png']"]


def test_the_implementation_switch(tmp_path, monkeypatch):
    monkeypatch.setenv(IMPL_ENV, "portable")
    assert open_folder(str(tmp_path)).portable
    assert not LocalStore(str(tmp_path), portable=False).folder.portable
    monkeypatch.setenv(IMPL_ENV, "posix")
    assert not open_folder(str(tmp_path)).portable
    assert LocalStore(str(tmp_path), portable=True).folder.portable
    monkeypatch.setenv(IMPL_ENV, "fast")
    with pytest.raises(StoreConfigError, match=IMPL_ENV):
        open_folder(str(tmp_path))


def _busy(winerror: int) -> PermissionError:
    exc = PermissionError(errno.EACCES, "in use by another process")
    exc.winerror = winerror  # what Windows sets; absent elsewhere
    return exc


def test_a_busy_target_is_retried_until_it_is_free():
    calls = []

    def replace(src, dst):
        calls.append((src, dst))
        if len(calls) < 3:
            raise _busy(32)  # ERROR_SHARING_VIOLATION: a reader has it open
        return "done"

    assert retry_busy(replace, "a.partial", "a") == "done"
    assert len(calls) == 3


def test_a_target_busy_for_good_fails_within_about_a_second():
    calls = []

    def replace(src, dst):
        calls.append(time.monotonic())
        raise _busy(5)

    start = time.monotonic()
    with pytest.raises(PermissionError):
        retry_busy(replace, "a.partial", "a")
    assert 3 <= len(calls) <= 20
    assert time.monotonic() - start < 5


def test_other_permission_errors_are_not_retried():
    calls = []

    def replace(src, dst):
        calls.append(1)
        raise PermissionError(errno.EACCES, "read-only folder")

    with pytest.raises(PermissionError):
        retry_busy(replace, "a.partial", "a")
    assert calls == [1]


@pytest.fixture(params=["posix", "portable"])
def linkless(request, tmp_path, monkeypatch):
    """A local store on a file system without hard links (FAT, some shares):
    ``os.link`` fails as it does there."""
    store = LocalStore(str(tmp_path / "store"), portable=request.param == "portable")
    calls = []

    def no_links(*args, **kwargs):
        calls.append(args)
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    store.link_calls = calls
    return store


def test_create_without_hard_links_falls_back_to_the_side_lock(linkless):
    linkless.create("p1/img.png", b"first")
    assert linkless.folder.links is False and len(linkless.link_calls) == 1
    with pytest.raises(PreconditionFailedError):
        linkless.create("p1/img.png", b"second")
    assert len(linkless.link_calls) == 1  # remembered: not tried again
    assert Path(linkless.path("p1/img.png")).read_bytes() == b"first"
    assert [o.key for o in linkless.list()] == ["p1/img.png"]  # no temporary file left


def test_concurrent_creates_without_hard_links_have_one_winner(linkless):
    linkless.folder.links = False
    payloads = [bytes([i]) * 200_000 for i in range(6)]
    results, seen = [], []
    start = threading.Barrier(len(payloads) + 1)

    def create(data):
        start.wait()
        try:
            linkless.create("p1/img.png", data)
            results.append(data)
        except PreconditionFailedError:
            pass

    def read():
        start.wait()
        for _ in range(200):
            try:
                seen.append(linkless.read("p1/img.png"))
            except FileNotFoundError:
                pass

    threads = [threading.Thread(target=create, args=(p,)) for p in payloads] + [threading.Thread(target=read)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 1
    assert Path(linkless.path("p1/img.png")).read_bytes() == results[0]
    assert all(data == results[0] for data in seen)  # never a partial file


@pytest.mark.parametrize("name", ["NUL", "con.png", "COM1.json", "lpt9", "a:b.png", "img.png:stream", "x.", "x "])
def test_windows_device_and_stream_names_are_refused_by_the_portable_store(tmp_path, name, sentinel):
    store = LocalStore(str(tmp_path / "store"), portable=True)
    store.write("p1/a", b"x")
    with pytest.raises(InvalidKeyError):
        store.write(f"p1/{name}", b"evil")
    with pytest.raises(InvalidKeyError):
        store.read(f"{name}/a")
    assert [o.key for o in store.list()] == ["p1/a"]
