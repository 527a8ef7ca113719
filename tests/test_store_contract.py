"""The Store contract, written once and run on every backend (local, memory, S3).

Results are checked through ``raw`` (around the store) where it matters, so a
store whose reads and writes are wrong in the same way is still caught.
"""

from __future__ import annotations

import json
import os

import pytest

import backends
from backends import (
    InvalidKeyError,
    KeyNotFoundError,
    PreconditionFailedError,
    StoreError,
    update_json,
)


# -- reading and writing ----------------------------------------------------------
def test_write_then_read_roundtrip(store, raw):
    version = store.write("p1/a.bin", b"hello")
    assert raw.read("p1/a.bin") == b"hello"
    data, read_version = store.read_versioned("p1/a.bin")
    assert data == b"hello"
    assert read_version == version


def test_read_sees_bytes_written_around_the_store(store, raw):
    raw.write("p1/outside.bin", b"from elsewhere")
    assert store.read("p1/outside.bin") == b"from elsewhere"
    assert store.exists("p1/outside.bin")
    assert store.size("p1/outside.bin") == len(b"from elsewhere")


def test_overwrite_changes_the_version(store, raw):
    v1 = store.write("doc.json", b"one")
    v2 = store.write("doc.json", b"two")
    assert v1 != v2
    assert store.read_versioned("doc.json") == (b"two", v2)
    assert raw.read("doc.json") == b"two"


def test_missing_key_raises_key_not_found(store):
    with pytest.raises(KeyNotFoundError):
        store.read("p1/none.bin")
    with pytest.raises(FileNotFoundError):
        store.read_versioned("p1/none.bin")
    assert not store.exists("p1/none.bin")


def test_open_read_of_a_missing_key(store):
    with pytest.raises(KeyNotFoundError):
        store.open_read("p1/none.bin").read()


def test_exists_is_false_for_a_folder(store):
    store.write("p1/a.bin", b"x")
    assert store.exists("p1/a.bin")
    assert not store.exists("p1")


def test_open_read_streams_the_object(store):
    payload = os.urandom(300_000)
    store.write("p1/big.bin", payload)
    with store.open_read("p1/big.bin") as f:
        assert f.read(1000) == payload[:1000]
        assert f.read() == payload[1000:]


def test_read_head_gives_the_first_bytes_in_one_read(store, raw):
    payload = os.urandom(300_000)
    raw.write("p1/big.bin", payload)
    raw.write("p1/empty.bin", b"")
    store.stats.clear()
    assert store.read_head("p1/big.bin", 1001) == payload[:1001]
    assert store.read_head("p1/big.bin", 400_000) == payload
    assert store.read_head("p1/empty.bin", 10) == b""
    assert store.stats["read"] == 3 and store.stats["open"] == 0
    with pytest.raises(KeyNotFoundError):
        store.read_head("p1/none.bin", 10)


# -- conditional writes ----------------------------------------------------------
def test_write_if_refuses_a_stale_version(store, raw):
    store.write("doc.json", b"{}")
    _, version = store.read_versioned("doc.json")
    new_version = store.write_if("doc.json", b'{"a": 1}', version)
    assert store.read_versioned("doc.json")[1] == new_version
    with pytest.raises(PreconditionFailedError):
        store.write_if("doc.json", b'{"a": 2}', version)
    assert raw.read("doc.json") == b'{"a": 1}'


def test_write_if_on_a_deleted_object_fails(store):
    store.write("doc.json", b"{}")
    _, version = store.read_versioned("doc.json")
    store.delete("doc.json")
    with pytest.raises(PreconditionFailedError):
        store.write_if("doc.json", b"[]", version)
    assert not store.exists("doc.json")


def test_create_only_refuses_an_existing_key(store, raw):
    store.create("p1/img.png", b"first")
    with pytest.raises(PreconditionFailedError):
        store.create("p1/img.png", b"second")
    with pytest.raises(FileExistsError):
        store.write_if("p1/img.png", b"third", None)
    assert raw.read("p1/img.png") == b"first"


def test_update_json_applies_and_skips_no_op_writes(store, raw):
    assert update_json(store, "c.json", lambda d: {"n": 1} if d is None else d) == {"n": 1}
    assert json.loads(raw.read("c.json")) == {"n": 1}
    writes = store.stats["write"]
    update_json(store, "c.json", lambda d: d)
    assert store.stats["write"] == writes
    update_json(store, "c.json", lambda d: {**d, "m": 2})
    assert json.loads(raw.read("c.json")) == {"n": 1, "m": 2}


def test_update_json_retries_after_a_concurrent_write(store, raw):
    store.write("c.json", b'{"seen": []}')
    calls = []

    def fn(doc):
        calls.append(list(doc["seen"]))
        if len(calls) == 1:  # another writer commits between our read and write
            raw.write("c.json", b'{"seen": ["other"]}')
        return {"seen": sorted({*doc["seen"], "mine"})}

    update_json(store, "c.json", fn)
    assert json.loads(raw.read("c.json")) == {"seen": ["mine", "other"]}
    assert calls == [[], ["other"]]
    assert store.stats["cas_retries"] == 1


def test_update_json_error_in_fn_writes_nothing(store, raw):
    store.write("c.json", b'{"a": 1}')

    def boom(doc):
        raise ValueError("refused")

    with pytest.raises(ValueError):
        update_json(store, "c.json", boom)
    assert raw.read("c.json") == b'{"a": 1}'


def test_update_json_gives_up_after_bounded_attempts(store, raw):
    store.write("c.json", b"0")
    counter = iter(range(1, 100))

    def always_raced(doc):
        raw.write("c.json", str(next(counter)).encode())
        return doc + 1000

    with pytest.raises(backends.ConflictRetriesExhausted):
        update_json(store, "c.json", always_raced, max_attempts=3)
    assert store.stats["cas_retries"] == 3
    assert int(raw.read("c.json")) < 1000


# -- listing -----------------------------------------------------------------------
def test_list_is_recursive_sorted_and_bounded_by_prefix(store, raw):
    for key in ["p1/b.png", "p1/a.png", "p1/sub/c.png", "p10/d.png", "top.json"]:
        raw.write(key, b"x" * 3)
    keys = [o.key for o in store.list("p1")]
    assert keys == ["p1/a.png", "p1/b.png", "p1/sub/c.png"]
    assert [o.key for o in store.list()] == sorted(["p1/a.png", "p1/b.png", "p1/sub/c.png", "p10/d.png", "top.json"])
    assert all(o.size == 3 for o in store.list())
    assert store.list("nothing-here") == []


def test_list_reports_mtimes(store):
    store.write("p1/a.png", b"x")
    (info,) = store.list("p1")
    assert info.mtime is not None and info.mtime > 1_600_000_000


def test_list_of_an_object_key_lists_nothing(store, raw):
    raw.write("p1/a.png", b"x")
    assert store.list("p1/a.png") == []
    assert store.list("p1/") == store.list("p1")


def test_hidden_keys_are_not_listed(store, raw):
    raw.write("p1/.manifest.json.lock", b"")
    raw.write(".poolstore-probe/x", b"1")
    raw.write("p1/a.png", b"x")
    raw.write("p2/.hidden/y", b"1")
    assert [o.key for o in store.list()] == ["p1/a.png"]
    assert store.list_dirs() == ["p1", "p2"]


def test_list_dirs_names_immediate_folders(store, raw):
    for key in ["p1/a.png", "p10/b.png", "p2/sub/c.png", "top.json"]:
        raw.write(key, b"x")
    assert store.list_dirs() == ["p1", "p10", "p2"]
    assert store.list_dirs("p2") == ["sub"]
    assert store.list_dirs("p1") == []
    assert store.list_dirs("missing") == []


def test_listing_sees_writes_made_by_another_client(store, raw):
    """No listing cache: a teammate's write is visible to the next decision."""
    store.write("p1/a.png", b"x")
    assert [o.key for o in store.list("p1")] == ["p1/a.png"]
    assert store.list_dirs() == ["p1"]
    raw.write("p1/b.png", b"y")
    raw.write("p2/c.png", b"z")
    assert [o.key for o in store.list("p1")] == ["p1/a.png", "p1/b.png"]
    assert store.list_dirs() == ["p1", "p2"]
    assert store.exists("p2/c.png")


# -- streaming writes ----------------------------------------------------------------
def test_open_write_commits_at_the_end(store, raw):
    with store.open_write("p1/stream.bin") as f:
        f.write(b"abc")
        f.write(b"def")
    assert raw.read("p1/stream.bin") == b"abcdef"


def test_open_write_stores_nothing_on_error(store, raw):
    before = raw.keys()
    with pytest.raises(RuntimeError):
        with store.open_write("p1/stream.bin") as f:
            f.write(b"partial data")
            raise RuntimeError("source failed")
    assert raw.keys() == before
    assert not store.exists("p1/stream.bin")


def test_open_write_error_keeps_the_previous_object(store, raw):
    store.write("p1/stream.bin", b"old")
    with pytest.raises(RuntimeError):
        with store.open_write("p1/stream.bin") as f:
            f.write(b"new")
            raise RuntimeError("source failed")
    assert raw.read("p1/stream.bin") == b"old"


# -- copies --------------------------------------------------------------------------
def test_copy_inside_a_store(store, raw):
    store.write("p1/a.png", b"image")
    store.copy("p1/a.png", "p2/a.png")
    assert raw.read("p2/a.png") == b"image"
    assert raw.read("p1/a.png") == b"image"


def test_copy_of_a_missing_key_raises(store, raw):
    before = raw.keys()
    with pytest.raises(KeyNotFoundError):
        store.copy("p1/none.png", "p2/none.png")
    assert raw.keys() == before


@pytest.mark.parametrize("other_kind", ["local", "memory", "s3"])
def test_copy_from_another_store(store, raw, store_factory, other_kind):
    other = store_factory(other_kind)
    payload = os.urandom(70_000)
    other.write("src/a.png", payload)
    store.copy_from(other, "src/a.png", "dst/a.png")
    assert raw.read("dst/a.png") == payload
    assert store.same_backend(other) == (other.kind == store.kind)


# -- deleting ------------------------------------------------------------------------
def test_delete_and_delete_many(store, raw):
    for key in ["p1/a", "p1/b", "p1/c"]:
        store.write(key, b"x")
    store.delete("p1/a")
    store.delete("p1/a")  # absent: not an error
    store.delete_many(["p1/b", "p1/c", "p1/never"])
    assert raw.visible_keys() == set()


def test_delete_prefix_removes_one_folder_only(store, raw):
    for key in ["p1/a", "p1/sub/b", "p10/c", "p1.json"]:
        raw.write(key, b"x")
    store.delete_prefix("p1")
    assert raw.visible_keys() == {"p10/c", "p1.json"}
    store.delete_prefix("p1")  # gone already: not an error


def test_delete_prefix_refuses_the_root(store, raw):
    raw.write("p1/a", b"x")
    for prefix in ["", "/", ".", ".."]:
        with pytest.raises(InvalidKeyError):
            store.delete_prefix(prefix)
    assert raw.visible_keys() == {"p1/a"}


# -- errors --------------------------------------------------------------------------
def test_error_tree_inherits_builtins():
    assert issubclass(backends.KeyNotFoundError, FileNotFoundError)
    assert issubclass(backends.PreconditionFailedError, FileExistsError)
    assert issubclass(backends.StorePermissionError, PermissionError)
    assert issubclass(backends.InvalidKeyError, ValueError)
    assert issubclass(backends.StoreConfigError, ValueError)
    assert issubclass(backends.StoreIOError, OSError)
    assert issubclass(backends.ConflictRetriesExhausted, backends.PreconditionFailedError)
    for cls in [backends.KeyNotFoundError, backends.PreconditionFailedError, backends.StoreIOError]:
        assert issubclass(cls, StoreError)


def _client_error(code: str, status: int):
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "PutObject")


@pytest.mark.parametrize(
    "exc, expected",
    [
        (_client_error("PreconditionFailed", 412), backends.PreconditionFailedError),
        (_client_error("ConditionalRequestConflict", 409), backends.PreconditionFailedError),
        (_client_error("", 412), backends.PreconditionFailedError),
        (_client_error("NoSuchKey", 404), backends.KeyNotFoundError),
        (_client_error("AccessDenied", 403), backends.StorePermissionError),
        (_client_error("InternalError", 500), backends.StoreIOError),
        (OSError(5, "At least one of the pre-conditions you specified did not hold (PreconditionFailed)"),
         backends.PreconditionFailedError),
        (FileExistsError("exists"), backends.PreconditionFailedError),
        (FileNotFoundError("gone"), backends.KeyNotFoundError),
        (PermissionError("no"), backends.StorePermissionError),
        (OSError("disk full"), backends.StoreIOError),
    ],
)
def test_backend_errors_are_translated_in_one_place(exc, expected):
    from backends._errors import translate_errors

    with pytest.raises(expected) as info:
        with translate_errors("doc.json"):
            raise exc
    assert type(info.value) is expected
    assert info.value.__cause__ is exc and "doc.json" in str(info.value)


def test_other_errors_pass_untranslated():
    from backends._errors import translate_errors

    with pytest.raises(KeyError):
        with translate_errors("k"):
            raise KeyError("a bug, not a storage failure")


def test_backend_errors_keep_their_cause(store):
    with pytest.raises(KeyNotFoundError) as info:
        store.read("p1/none.bin")
    if store.kind != "memory":
        assert info.value.__cause__ is not None


# -- keys that would leave the root ------------------------------------------------
def _hostile_keys(tmp_path):
    return [
        "../sentinel/keep.txt",
        "p1/../../sentinel/keep.txt",
        str(tmp_path / "sentinel" / "keep.txt"),
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



def test_keys_that_escape_the_root_are_rejected(store, raw, tmp_path, sentinel):
    store.write("p1/a", b"x")
    before = raw.universe()
    for key in _hostile_keys(tmp_path):
        for op in [
            lambda k: store.write(k, b"evil"),
            lambda k: store.write_if(k, b"evil", None),
            lambda k: store.read(k),
            lambda k: store.exists(k),
            lambda k: store.delete(k),
            lambda k: store.delete_prefix(k),
            lambda k: store.copy("p1/a", k),
            lambda k: store.copy(k, "p1/b"),
            lambda k: store.open_write(k).__enter__(),
        ]:
            with pytest.raises(InvalidKeyError):
                op(key)
    assert (sentinel / "keep.txt").read_bytes() == b"keep me"
    assert raw.universe() == before


def test_local_symlink_out_of_the_root_is_refused(tmp_path, sentinel):
    store = backends.open_store(str(tmp_path / "root"))
    store.write("p1/a", b"x")
    os.symlink(sentinel, tmp_path / "root" / "link")
    os.symlink(sentinel / "keep.txt", tmp_path / "root" / "p1" / "img_0009.png")
    with pytest.raises(InvalidKeyError):
        store.write("link/keep.txt", b"evil")
    with pytest.raises(InvalidKeyError):
        store.read("link/keep.txt")
    assert store.list_dirs() == ["p1"]
    assert [o.key for o in store.list()] == ["p1/a"]
    with pytest.raises(InvalidKeyError):
        store.write("p1/img_0009.png", b"evil")
    store.delete_prefix("link")  # removes the link, never what it points to
    assert not os.path.lexists(tmp_path / "root" / "link")
    assert (sentinel / "keep.txt").read_bytes() == b"keep me"


def test_capabilities_and_probe(store):
    caps = store.capabilities
    assert caps.conditional_write and caps.atomic_replace
    assert store.concurrent_writes_safe is True
    assert not any(k for k in [o.key for o in store.list()])  # the probe leaves nothing


def test_s3_multipart_upload_is_aborted_on_error(s3_server):
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
