"""The shipped store contract (``backends.testing.StoreTests``), run on every
backend of the project: local disk (both implementations), memory, S3 (a moto
server), Azure Blob Storage (Azurite) and the generic fsspec store.

Each class says how to make a store and how to read and write around it;
backend-specific cases (links on disk, multipart uploads) sit beside them.
"""

from __future__ import annotations

import itertools
import os
import uuid
from typing import Any

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem

from support import Raw, forget_memory

import backends
from backends import InvalidKeyError
from backends._local import LocalStore
from backends.testing import StoreTests


class _RawByKind(StoreTests):
    """Raw access through the test suite's :class:`support.Raw`."""

    def raw_get(self, store: Any, key: str) -> bytes:
        return Raw(store, store._test_server).read(key)

    def raw_set(self, store: Any, key: str, data: bytes) -> None:
        Raw(store, store._test_server).write(key, data)

    def raw_keys(self, store: Any) -> set[str]:
        return Raw(store, store._test_server).keys()

    def raw_everything(self, store: Any) -> set[str]:
        return Raw(store, store._test_server).universe()


class TestLocalStore(_RawByKind):
    portable = False

    @pytest.fixture
    def make_store(self, tmp_path):
        names = (f"store{n or ''}" for n in itertools.count())

        def make():
            store = LocalStore(str(tmp_path / next(names)), portable=self.portable)
            store._test_server = None
            return store

        return make

    def test_a_symlink_out_of_the_root_is_refused(self, store, sentinel):
        root = store.root
        store.write("p1/a", b"x")
        os.symlink(sentinel, os.path.join(root, "link"))
        os.symlink(sentinel / "keep.txt", os.path.join(root, "p1", "img_0009.png"))
        with pytest.raises(InvalidKeyError):
            store.write("link/keep.txt", b"evil")
        with pytest.raises(InvalidKeyError):
            store.read("link/keep.txt")
        assert store.list_dirs() == ["p1"]
        assert [o.key for o in store.list()] == ["p1/a"]
        with pytest.raises(InvalidKeyError):
            store.write("p1/img_0009.png", b"evil")
        store.delete_prefix("link")  # removes the link, never what it points to
        assert not os.path.lexists(os.path.join(root, "link"))
        assert (sentinel / "keep.txt").read_bytes() == b"keep me"


class TestPortableLocalStore(TestLocalStore):
    """The implementation Windows runs, forced here so it runs on every CI run."""

    portable = True


class TestMemoryStore(_RawByKind):
    @pytest.fixture
    def make_store(self):
        made = []

        def make():
            store = backends.open_store(f"memory://t-{uuid.uuid4().hex}")
            store._test_server = None
            made.append(store)
            return store

        yield make
        for store in made:
            forget_memory(store)


class TestS3Store(_RawByKind):
    @pytest.fixture
    def make_store(self, s3_server):
        s3_server.reset()

        def make():
            store = backends.open_store(f"s3://{s3_server.new_bucket()}/pools", s3_server.fast_options())
            store._test_server = s3_server
            return store

        return make

    def test_a_multipart_upload_is_aborted_on_error(self, s3_server):
        s3_server.reset()
        bucket = s3_server.new_bucket()
        options = {**s3_server.storage_options(), "default_block_size": 5 * 2**20}
        store = backends.open_store(f"s3://{bucket}/pools", options)
        client = s3_server.client()
        part = os.urandom(5 * 2**20 + 10)
        with pytest.raises(RuntimeError):
            with store.open_write("p1/big.bin") as f:
                f.write(part)
                f.write(part)  # the first part is uploaded by now
                assert client.list_multipart_uploads(Bucket=bucket).get("Uploads")
                raise RuntimeError("source failed")
        assert not client.list_multipart_uploads(Bucket=bucket).get("Uploads")
        assert "Contents" not in client.list_objects_v2(Bucket=bucket)
        with store.open_write("p1/big.bin") as f:
            f.write(part)
            f.write(part)
        assert client.get_object(Bucket=bucket, Key="pools/p1/big.bin")["ContentLength"] == 2 * len(part)


class _ScratchFileSystem(MemoryFileSystem):
    """An fsspec filesystem the project has no backend of its own for: a
    ``scratch://`` URL reaches the generic store through fsspec's registry."""

    protocol = "scratch"
    store: dict[str, Any] = {}
    pseudo_dirs = [""]

    @classmethod
    def _strip_protocol(cls, path):
        return super()._strip_protocol(path.removeprefix("scratch://"))


fsspec.register_implementation("scratch", _ScratchFileSystem, clobber=True)


class TestFsspecStore(StoreTests):
    """The generic store: no conditional writes, no atomic streams (the
    cases that need them are skipped by capability)."""

    @pytest.fixture
    def make_store(self):
        made = []

        def make():
            store = backends.open_store(f"scratch://t-{uuid.uuid4().hex}/pools")
            assert type(store) is backends.FsspecStore
            made.append(store)
            return store

        yield make
        for store in made:
            for path in [p for p in _ScratchFileSystem.store if p.startswith(store.root + "/")]:
                del _ScratchFileSystem.store[path]

    def raw_get(self, store, key):
        return bytes(_ScratchFileSystem.store[f"{store.root}/{key}"].getvalue())

    def raw_set(self, store, key, data):
        _ScratchFileSystem(skip_instance_cache=True).pipe_file(f"{store.root}/{key}", data)

    def raw_keys(self, store):
        prefix = f"{store.root}/"
        return {p[len(prefix) :] for p in _ScratchFileSystem.store if p.startswith(prefix)}

    def raw_everything(self, store):
        return set(_ScratchFileSystem.store)


class TestAzureStore(_RawByKind):
    """Azure Blob Storage, on Azurite (raw access with azure-storage-blob)."""

    @pytest.fixture
    def make_store(self, azure_server):
        def make():
            store = backends.open_store(f"az://{azure_server.new_container()}/pools", azure_server.storage_options())
            store._test_server = azure_server
            return store

        return make
