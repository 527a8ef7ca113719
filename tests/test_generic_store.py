"""Pools and profiles on a generic fsspec store: a URL no dedicated backend
handles, opened through ``open_store`` as the plain :class:`backends.Store`
(no conditional writes). Here fsspec's ``dir://`` filesystem over a local
folder and over fsspec's memory filesystem.

What holds without conditional writes: everything one writer does
(docs/CONFIGURATION.md, "Other fsspec stores"). Results are read around the
store, from the folder or the memory filesystem underneath.
"""

from __future__ import annotations

import io
import json

import pytest
from archive_support import make_profile, profile_state
from generic_support import ROOT, open_generic
from support import png_bytes

import backends
from poolstore import Pool, Registry, adopt_pool, find_orphans, fix_orphans, seed_profile
from poolstore.archive import export_profile, import_profile
from poolstore.cli import main
from poolstore.transfer import copy_profile

@pytest.fixture(params=["file", "memory"])
def generic(request, tmp_path):
    store, raw, options = open_generic(request.param, tmp_path)
    store._test_raw, store._test_options = raw, options
    yield store
    store.close()
    raw.forget()


@pytest.fixture
def raw(generic):
    return generic._test_raw


def _registry(raw) -> list[dict]:
    return json.loads(raw.read("profiles.json"))["profiles"]


def test_a_generic_url_opens_the_plain_store_without_conditional_writes(generic):
    assert type(generic) is backends.FsspecStore and generic.kind == "fsspec"
    assert not generic.capabilities.conditional_write
    assert generic.concurrent_writes_safe is False


def test_the_create_only_write_never_overwrites(generic, raw):
    generic.create("p1/a.png", b"first")
    with pytest.raises(backends.PreconditionFailedError):
        generic.create("p1/a.png", b"second")
    assert raw.read("p1/a.png") == b"first"


# -- registry --------------------------------------------------------------------------
def test_profile_lifecycle(generic, raw):
    reg = Registry(generic)
    a = reg.create("a1", "One", created=100)
    reg.create("b2", "Two", created=200)
    assert reg.rename("b2", "Second")["name"] == "Second"
    assert [(e["id"], e["name"]) for e in _registry(raw)] == [("a1", "One"), ("b2", "Second")]
    assert json.loads(raw.read("b2/profile.json"))["name"] == "Second"
    reg.delete("b2")
    assert _registry(raw) == [a]
    assert {k for k in raw.keys() if k.startswith("b2/")} == {"b2/manifest.json"}  # the tombstone


@pytest.mark.parametrize("junk", [b"{broken", b'{"profiles": 3}'])
def test_a_corrupt_registry_is_kept_aside_and_rebuilt(generic, raw, junk):
    reg = Registry(generic)
    reg.create("a1", "One", created=100)
    reg.create("b2", "Two", created=200)
    raw.write("profiles.json", junk)
    assert reg.list() == []
    reg.create("c3", "Three", created=300)
    assert [e["name"] for e in _registry(raw)] == ["One", "Two", "Three"]
    kept = [k for k in raw.keys() if k.startswith("profiles.json.corrupt-")]
    assert len(kept) == 1 and raw.read(kept[0]) == junk
    raw.write("profiles.json", junk)  # the same damage again: kept aside once, still rebuilt
    assert reg.rename("c3", "Third")["name"] == "Third"
    assert [e["name"] for e in _registry(raw)] == ["One", "Two", "Third"]
    assert [k for k in raw.keys() if k.startswith("profiles.json.corrupt-")] == kept


# -- pool --------------------------------------------------------------------------------
def test_pool_changes(generic, raw):
    pool = Pool(generic, "p1")
    names = pool.add([png_bytes(color=(200, 0, 0)), png_bytes(color=(0, 200, 0))], ["red", "green"])
    pool.set_mask(names[0], png_bytes(mode="L"))
    pool.set_label(names[1], "lime")
    pool.reorder([names[1], names[0]])
    pool.remove(names[1])
    manifest = json.loads(raw.read("p1/manifest.json"))
    assert [(s["image"], s["label"]) for s in manifest["slots"]] == [(names[0], "red")]
    assert raw.read(f"p1/{names[0]}") == png_bytes(color=(200, 0, 0))
    assert raw.keys() == {"p1/manifest.json", f"p1/{names[0]}", f"p1/{manifest['slots'][0]['mask']}"}


def test_an_add_never_overwrites_an_object(generic, raw):
    raw.write("p1/img_0001.png", b"an add in flight")
    added = Pool(generic, "p1").add([png_bytes()])
    assert added == ["img_0002.png"]
    assert raw.read("p1/img_0001.png") == b"an add in flight"


def test_a_corrupt_manifest_reads_as_the_objects_present(generic, raw):
    names = Pool(generic, "p1").add([png_bytes(), png_bytes(color=(1, 2, 3))])
    raw.write("p1/manifest.json", b"{not json")
    assert [s["image"] for s in Pool(generic, "p1").read()["slots"]] == names


# -- making profiles from other pools, archives, check ------------------------------------
def test_duplicate_seed_and_adopt(generic, raw):
    pid = make_profile(generic, "source", count=2)
    before = profile_state_of(raw, pid)
    dup = copy_profile(generic, pid, generic, new_id="dup1")
    assert dup["name"] == "source (2)" and profile_state_of(raw, "dup1") == before
    Registry(generic).create("t1", "Target")
    seed_profile(generic, pid, generic, "t1")
    assert len(json.loads(raw.read("t1/manifest.json"))["slots"]) == 2
    Pool(generic, "node5").add([png_bytes()])
    assert adopt_pool(generic, "node5", "Adopted")["id"] == "node5"
    assert [e["id"] for e in _registry(raw)] == [pid, "dup1", "t1", "node5"]


@pytest.mark.parametrize("other_kind", ["local", "memory"])
def test_copy_and_move_to_and_from_a_generic_store(generic, raw, store_factory, other_kind):
    other = store_factory(other_kind)
    pid = make_profile(generic, "travels", count=3)
    before = profile_state_of(raw, pid)
    copy_profile(generic, pid, other, new_id="there1")
    assert profile_state(other, "there1") == before
    copy_profile(other, "there1", generic, new_id="back1", move=True)
    assert profile_state_of(raw, "back1") == before
    assert [e["id"] for e in _registry(raw)] == [pid, "back1"]


def test_export_import_round_trip(generic, raw):
    pid = make_profile(generic, "zipped", count=2)
    buf = io.BytesIO()
    export_profile(generic, pid, buf)
    buf.seek(0)
    entry = import_profile(generic, buf, new_id="imp1")
    assert entry["name"] == "zipped (2)"
    assert profile_state_of(raw, "imp1") == profile_state_of(raw, pid)


def test_check_finds_and_fixes_orphans(generic, raw):
    Registry(generic).create("a1", "One")
    raw.write("lost1/profile.json", json.dumps({"id": "lost1", "name": "Lost", "created": 1}).encode())
    raw.write("lost1/manifest.json", b'{"slots": []}')
    found = find_orphans(generic, min_age=-60)
    assert [(o.kind, o.pool_id) for o in found] == [("profile", "lost1")]
    fix_orphans(generic, found, adopt=True)
    assert [(e["id"], e["name"]) for e in _registry(raw)] == [("a1", "One"), ("lost1", "Lost")]


def test_the_command_line_works_and_warns(generic, raw, capsys):
    at = ["--store", f"dir://{ROOT}", *[a for k, v in generic._test_options.items() for a in ("-o", f"{k}={v}")]]
    assert main(["profiles", "create", "From the shell", *at]) == 0
    assert [e["name"] for e in _registry(raw)] == ["From the shell"]
    assert main(["check", *at]) == 0
    assert "ignores conditional writes" in capsys.readouterr().out


def profile_state_of(raw, pid):
    """Like :func:`archive_support.profile_state`, read underneath a generic store."""
    manifest = json.loads(raw.read(f"{pid}/manifest.json"))
    slots = [
        {"image": s["image"], "bytes": raw.read(f"{pid}/{s['image']}"),
         "mask": raw.read(f"{pid}/{s['mask']}") if s.get("mask") else None, "label": s["label"]}
        for s in manifest["slots"]
    ]
    return {"active": manifest["active"], "slots": slots}
