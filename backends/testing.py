"""The contract every :class:`~backends.Store` passes, shipped with the library.

Subclass :class:`StoreTests` once per backend, in a test module that pytest
collects, and give it what only the backend knows::

    class TestMyStore(StoreTests):
        @pytest.fixture
        def make_store(self, tmp_path):
            return lambda: open_store(f"mine://{uuid.uuid4().hex}")

        def raw_get(self, store, key): ...   # read around the store
        def raw_set(self, store, key, data): ...
        def raw_keys(self, store): ...

The raw accessors read and write the backend *around* the store (the
service's own client, the file system, the dictionary underneath), so that a
store whose reads and writes are wrong in the same way is still caught.
Tests of what a backend may lack are skipped by its
:class:`~backends.Capabilities` (``conditional_write``, ``atomic_replace``),
never by its kind. Importing this module needs pytest (a test dependency).
"""

from __future__ import annotations

import builtins
import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest

from ._cas import ConflictRetriesExhausted, update_json
from ._errors import InvalidKeyError, KeyNotFoundError, PreconditionFailedError, StoreError, StoreIOError
from ._fsspec import FsspecStore
from ._keys import is_hidden
from ._store import Store

__all__ = ["StoreTests", "hostile_keys"]


def hostile_keys(outside: Path) -> builtins.list[str]:
    """Keys that would leave a store's root; ``outside`` is a folder beside
    the root (``<root>/../sentinel``) that a broken check would reach."""
    return [
        "../sentinel/keep.txt",
        "p1/../../sentinel/keep.txt",
        str(outside / "keep.txt"),
        "/sentinel/keep.txt",
        "..\\sentinel\\keep.txt",
        "p1\\..\\..\\sentinel",
        "",
        ".",
        "p1//a",
        "p1/./a",
        "p1/a\x00b",
        "p1/a\nb",
        "x" * 2000,
    ]


class StoreTests:
    """The store contract: subclass it per backend (see the module docstring).

    A subclass provides the fixture ``make_store`` (a function returning a
    fresh, empty store each call) and the raw accessors :meth:`raw_get`,
    :meth:`raw_set` and :meth:`raw_keys`; :meth:`raw_everything` may widen
    what the escape test watches beyond the root.
    """

    # -- what a backend supplies ----------------------------------------------
    @pytest.fixture
    def make_store(self) -> Callable[[], Store]:
        """A function that returns a new, empty store each call."""
        raise NotImplementedError("a StoreTests subclass provides the make_store fixture")

    def raw_get(self, store: Store, key: str) -> bytes:
        """The bytes stored under ``key``, read around the store."""
        raise NotImplementedError

    def raw_set(self, store: Store, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` around the store (as another client would)."""
        raise NotImplementedError

    def raw_keys(self, store: Store) -> set[str]:
        """Every key below the store's root, housekeeping keys included."""
        raise NotImplementedError

    def raw_everything(self, store: Store) -> set[str]:
        """Everything the backend holds, inside the root or not (default: the
        keys below the root); a subclass widens it where it can."""
        return self.raw_keys(store)

    # -- fixtures and helpers --------------------------------------------------
    @pytest.fixture
    def store(self, make_store: Callable[[], Store]) -> Iterator[Store]:
        made = make_store()
        yield made
        made.close()

    @pytest.fixture
    def sentinel(self, tmp_path: Path) -> Path:
        """A folder beside a local root that hostile keys aim at; it must survive."""
        folder = tmp_path / "sentinel"
        folder.mkdir(exist_ok=True)
        (folder / "keep.txt").write_bytes(b"keep me")
        return folder

    def visible_keys(self, store: Store) -> set[str]:
        """Keys below the root without housekeeping ones (locks, probes)."""
        return {k for k in self.raw_keys(store) if not is_hidden(k)}

    @staticmethod
    def needs(store: Store, capability: str) -> None:
        """Skip the test unless the store has ``capability``."""
        if not getattr(store.capabilities, capability):
            pytest.skip(f"{type(store).__name__} has no {capability}")

    # -- reading and writing ---------------------------------------------------
    def test_write_then_read_roundtrip(self, store: Store) -> None:
        version = store.write("p1/a.bin", b"hello")
        assert self.raw_get(store, "p1/a.bin") == b"hello"
        data, read_version = store.read_versioned("p1/a.bin")
        assert data == b"hello"
        assert read_version == version

    def test_read_sees_bytes_written_around_the_store(self, store: Store) -> None:
        self.raw_set(store, "p1/outside.bin", b"from elsewhere")
        assert store.read("p1/outside.bin") == b"from elsewhere"
        assert store.exists("p1/outside.bin")
        assert store.size("p1/outside.bin") == len(b"from elsewhere")

    def test_overwrite_changes_the_version(self, store: Store) -> None:
        v1 = store.write("doc.json", b"one")
        v2 = store.write("doc.json", b"two")
        assert v1 != v2
        assert store.read_versioned("doc.json") == (b"two", v2)
        assert self.raw_get(store, "doc.json") == b"two"

    def test_missing_key_raises_key_not_found(self, store: Store) -> None:
        with pytest.raises(KeyNotFoundError):
            store.read("p1/none.bin")
        with pytest.raises(FileNotFoundError):
            store.read_versioned("p1/none.bin")
        assert not store.exists("p1/none.bin")

    def test_open_read_of_a_missing_key(self, store: Store) -> None:
        with pytest.raises(KeyNotFoundError):
            store.open_read("p1/none.bin").read()

    def test_exists_is_false_for_a_folder(self, store: Store) -> None:
        store.write("p1/a.bin", b"x")
        assert store.exists("p1/a.bin")
        assert not store.exists("p1")

    def test_open_read_streams_the_object(self, store: Store) -> None:
        payload = os.urandom(300_000)
        store.write("p1/big.bin", payload)
        with store.open_read("p1/big.bin") as f:
            assert f.read(1000) == payload[:1000]
            assert f.read() == payload[1000:]

    def test_read_head_gives_the_first_bytes_in_one_read(self, store: Store) -> None:
        payload = os.urandom(300_000)
        self.raw_set(store, "p1/big.bin", payload)
        self.raw_set(store, "p1/empty.bin", b"")
        store.stats.clear()
        assert store.read_head("p1/big.bin", 1001) == payload[:1001]
        assert store.read_head("p1/big.bin", 400_000) == payload
        assert store.read_head("p1/empty.bin", 10) == b""
        assert store.stats["read"] == 3 and store.stats["open"] == 0
        with pytest.raises(KeyNotFoundError):
            store.read_head("p1/none.bin", 10)

    # -- conditional writes ----------------------------------------------------
    def test_write_if_refuses_a_stale_version(self, store: Store) -> None:
        self.needs(store, "conditional_write")
        store.write("doc.json", b"{}")
        _, version = store.read_versioned("doc.json")
        new_version = store.write_if("doc.json", b'{"a": 1}', version)
        assert store.read_versioned("doc.json")[1] == new_version
        with pytest.raises(PreconditionFailedError):
            store.write_if("doc.json", b'{"a": 2}', version)
        assert self.raw_get(store, "doc.json") == b'{"a": 1}'

    def test_write_if_on_a_deleted_object_fails(self, store: Store) -> None:
        self.needs(store, "conditional_write")
        store.write("doc.json", b"{}")
        _, version = store.read_versioned("doc.json")
        store.delete("doc.json")
        with pytest.raises(PreconditionFailedError):
            store.write_if("doc.json", b"[]", version)
        assert not store.exists("doc.json")

    def test_create_only_refuses_an_existing_key(self, store: Store) -> None:
        self.needs(store, "conditional_write")
        store.create("p1/img.png", b"first")
        with pytest.raises(PreconditionFailedError):
            store.create("p1/img.png", b"second")
        with pytest.raises(FileExistsError):
            store.write_if("p1/img.png", b"third", None)
        assert self.raw_get(store, "p1/img.png") == b"first"

    def test_without_conditional_writes_write_if_refuses_and_stores_nothing(self, store: Store) -> None:
        if store.capabilities.conditional_write:
            pytest.skip(f"{type(store).__name__} writes conditionally")
        with pytest.raises(StoreIOError):
            store.write_if("doc.json", b"{}", None)
        assert "doc.json" not in self.raw_keys(store)
        assert store.concurrent_writes_safe is False

    def test_update_json_applies_and_skips_no_op_writes(self, store: Store) -> None:
        assert update_json(store, "c.json", lambda d: {"n": 1} if d is None else d) == {"n": 1}
        assert json.loads(self.raw_get(store, "c.json")) == {"n": 1}
        writes = store.stats["write"]
        update_json(store, "c.json", lambda d: d)
        assert store.stats["write"] == writes
        update_json(store, "c.json", lambda d: {**d, "m": 2})
        assert json.loads(self.raw_get(store, "c.json")) == {"n": 1, "m": 2}

    def test_update_json_retries_after_a_concurrent_write(self, store: Store) -> None:
        self.needs(store, "conditional_write")
        store.write("c.json", b'{"seen": []}')
        calls = []

        def fn(doc: Any) -> Any:
            calls.append(list(doc["seen"]))
            if len(calls) == 1:  # another writer commits between our read and write
                self.raw_set(store, "c.json", b'{"seen": ["other"]}')
            return {"seen": sorted({*doc["seen"], "mine"})}

        update_json(store, "c.json", fn)
        assert json.loads(self.raw_get(store, "c.json")) == {"seen": ["mine", "other"]}
        assert calls == [[], ["other"]]
        assert store.stats["cas_retries"] == 1

    def test_update_json_error_in_fn_writes_nothing(self, store: Store) -> None:
        store.write("c.json", b'{"a": 1}')

        def boom(doc: Any) -> Any:
            raise ValueError("refused")

        with pytest.raises(ValueError):
            update_json(store, "c.json", boom)
        assert self.raw_get(store, "c.json") == b'{"a": 1}'

    def test_update_json_gives_up_after_bounded_attempts(self, store: Store) -> None:
        self.needs(store, "conditional_write")
        store.write("c.json", b"0")
        counter = iter(range(1, 100))

        def always_raced(doc: Any) -> Any:
            self.raw_set(store, "c.json", str(next(counter)).encode())
            return doc + 1000

        with pytest.raises(ConflictRetriesExhausted):
            update_json(store, "c.json", always_raced, max_attempts=3)
        assert store.stats["cas_retries"] == 3
        assert int(self.raw_get(store, "c.json")) < 1000

    # -- listing ---------------------------------------------------------------
    def test_list_is_recursive_sorted_and_bounded_by_prefix(self, store: Store) -> None:
        for key in ["p1/b.png", "p1/a.png", "p1/sub/c.png", "p10/d.png", "top.json"]:
            self.raw_set(store, key, b"x" * 3)
        assert [o.key for o in store.list("p1")] == ["p1/a.png", "p1/b.png", "p1/sub/c.png"]
        everything = sorted(["p1/a.png", "p1/b.png", "p1/sub/c.png", "p10/d.png", "top.json"])
        assert [o.key for o in store.list()] == everything
        assert all(o.size == 3 for o in store.list())
        assert store.list("nothing-here") == []

    def test_list_reports_mtimes(self, store: Store) -> None:
        store.write("p1/a.png", b"x")
        (info,) = store.list("p1")
        assert info.mtime is not None and info.mtime > 1_600_000_000

    def test_list_of_an_object_key_lists_nothing(self, store: Store) -> None:
        self.raw_set(store, "p1/a.png", b"x")
        assert store.list("p1/a.png") == []
        assert store.list("p1/") == store.list("p1")

    def test_hidden_keys_are_not_listed(self, store: Store) -> None:
        self.raw_set(store, "p1/.manifest.json.lock", b"")
        self.raw_set(store, ".poolstore-probe/x", b"1")
        self.raw_set(store, "p1/a.png", b"x")
        self.raw_set(store, "p2/.hidden/y", b"1")
        assert [o.key for o in store.list()] == ["p1/a.png"]
        assert store.list_dirs() == ["p1", "p2"]

    def test_list_dirs_names_immediate_folders(self, store: Store) -> None:
        for key in ["p1/a.png", "p10/b.png", "p2/sub/c.png", "top.json"]:
            self.raw_set(store, key, b"x")
        assert store.list_dirs() == ["p1", "p10", "p2"]
        assert store.list_dirs("p2") == ["sub"]
        assert store.list_dirs("p1") == []
        assert store.list_dirs("missing") == []

    def test_listing_sees_writes_made_by_another_client(self, store: Store) -> None:
        """No listing cache: a teammate's write is visible to the next decision."""
        store.write("p1/a.png", b"x")
        assert [o.key for o in store.list("p1")] == ["p1/a.png"]
        assert store.list_dirs() == ["p1"]
        self.raw_set(store, "p1/b.png", b"y")
        self.raw_set(store, "p2/c.png", b"z")
        assert [o.key for o in store.list("p1")] == ["p1/a.png", "p1/b.png"]
        assert store.list_dirs() == ["p1", "p2"]
        assert store.exists("p2/c.png")

    # -- streaming writes ------------------------------------------------------
    def test_open_write_commits_at_the_end(self, store: Store) -> None:
        with store.open_write("p1/stream.bin") as f:
            f.write(b"abc")
            f.write(b"def")
        assert self.raw_get(store, "p1/stream.bin") == b"abcdef"

    def test_open_write_stores_nothing_on_error(self, store: Store) -> None:
        self.needs(store, "atomic_replace")
        before = self.raw_keys(store)
        with pytest.raises(RuntimeError):
            with store.open_write("p1/stream.bin") as f:
                f.write(b"partial data")
                raise RuntimeError("source failed")
        assert self.raw_keys(store) == before
        assert not store.exists("p1/stream.bin")

    def test_open_write_error_keeps_the_previous_object(self, store: Store) -> None:
        self.needs(store, "atomic_replace")
        store.write("p1/stream.bin", b"old")
        with pytest.raises(RuntimeError):
            with store.open_write("p1/stream.bin") as f:
                f.write(b"new")
                raise RuntimeError("source failed")
        assert self.raw_get(store, "p1/stream.bin") == b"old"

    # -- copies ----------------------------------------------------------------
    def test_copy_inside_a_store(self, store: Store) -> None:
        store.write("p1/a.png", b"image")
        store.copy("p1/a.png", "p2/a.png")
        assert self.raw_get(store, "p2/a.png") == b"image"
        assert self.raw_get(store, "p1/a.png") == b"image"

    def test_copy_of_a_missing_key_raises(self, store: Store) -> None:
        before = self.raw_keys(store)
        with pytest.raises(KeyNotFoundError):
            store.copy("p1/none.png", "p2/none.png")
        assert self.raw_keys(store) == before

    def test_copy_from_another_store_of_this_backend(self, store: Store, make_store: Callable[[], Store]) -> None:
        other = make_store()
        payload = os.urandom(70_000)
        other.write("src/a.png", payload)
        store.copy_from(other, "src/a.png", "dst/a.png")
        assert self.raw_get(store, "dst/a.png") == payload
        assert self.raw_get(other, "src/a.png") == payload
        other.close()

    def test_copy_from_a_store_of_another_backend(self, store: Store) -> None:
        name = f"elsewhere-{uuid.uuid4().hex}"
        other = FsspecStore(fsspec.filesystem("memory", skip_instance_cache=True), f"/{name}", f"memory://{name}")
        payload = os.urandom(70_000)
        other.write("src/a.png", payload)
        try:
            store.copy_from(other, "src/a.png", "dst/a.png")
            assert self.raw_get(store, "dst/a.png") == payload
            assert not store.same_backend(other)
        finally:
            other.delete_prefix("src")

    # -- deleting --------------------------------------------------------------
    def test_delete_and_delete_many(self, store: Store) -> None:
        for key in ["p1/a", "p1/b", "p1/c"]:
            store.write(key, b"x")
        store.delete("p1/a")
        store.delete("p1/a")  # absent: not an error
        store.delete_many(["p1/b", "p1/c", "p1/never"])
        assert self.visible_keys(store) == set()

    def test_delete_prefix_removes_one_folder_only(self, store: Store) -> None:
        for key in ["p1/a", "p1/sub/b", "p10/c", "p1.json"]:
            self.raw_set(store, key, b"x")
        store.delete_prefix("p1")
        assert self.visible_keys(store) == {"p10/c", "p1.json"}
        store.delete_prefix("p1")  # gone already: not an error

    def test_delete_prefix_refuses_the_root(self, store: Store) -> None:
        self.raw_set(store, "p1/a", b"x")
        for prefix in ["", "/", ".", ".."]:
            with pytest.raises(InvalidKeyError):
                store.delete_prefix(prefix)
        assert self.visible_keys(store) == {"p1/a"}

    # -- errors ----------------------------------------------------------------
    def test_backend_errors_keep_their_cause(self, store: Store) -> None:
        with pytest.raises(KeyNotFoundError) as info:
            store.read("p1/none.bin")
        assert isinstance(info.value, StoreError)
        assert info.value.__cause__ is not None

    # -- keys that would leave the root ----------------------------------------
    def test_keys_that_escape_the_root_are_rejected(self, store: Store, sentinel: Path) -> None:
        store.write("p1/a", b"x")
        before = self.raw_everything(store)
        operations: builtins.list[Callable[[str], Any]] = [
            lambda k: store.write(k, b"evil"),
            lambda k: store.write_if(k, b"evil", None),
            lambda k: store.read(k),
            lambda k: store.exists(k),
            lambda k: store.delete(k),
            lambda k: store.delete_prefix(k),
            lambda k: store.copy("p1/a", k),
            lambda k: store.copy(k, "p1/b"),
            lambda k: store.open_write(k).__enter__(),
        ]
        for key in hostile_keys(sentinel):
            for op in operations:
                with pytest.raises(InvalidKeyError):
                    op(key)
        assert (sentinel / "keep.txt").read_bytes() == b"keep me"
        assert self.raw_everything(store) == before

    # -- capabilities ------------------------------------------------------------
    def test_conditional_writes_are_probed_and_the_probe_leaves_nothing(self, store: Store) -> None:
        self.needs(store, "conditional_write")
        assert store.concurrent_writes_safe is True
        assert store.probe_conditional_writes() is True
        assert store.list() == []
        assert self.visible_keys(store) == set()
        assert not any(k.startswith(".poolstore-probe") for k in self.raw_keys(store))
