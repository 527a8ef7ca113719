"""First contract checks: every backend stores, lists and compares-and-swaps."""

import pytest

import backends


def test_write_read_roundtrip(store, raw):
    store.write("p1/a.bin", b"hello")
    assert store.read("p1/a.bin") == b"hello"
    assert raw.read("p1/a.bin") == b"hello"


def test_missing_key_is_file_not_found(store):
    with pytest.raises(FileNotFoundError):
        store.read("p1/none.bin")


def test_conditional_write_refuses_stale_version(store):
    store.write("doc.json", b"{}")
    _, version = store.read_versioned("doc.json")
    store.write_if("doc.json", b'{"a": 1}', version)
    with pytest.raises(backends.PreconditionFailedError):
        store.write_if("doc.json", b'{"a": 2}', version)
    assert store.read("doc.json") == b'{"a": 1}'
