"""check: orphans are listed, removed or adopted; live data is never touched."""

from __future__ import annotations

import json
import time

import pytest

from support import deleted_cleanly, png_bytes

import poolstore.check
from poolstore import Pool, Registry, find_orphans, fix_orphans


@pytest.fixture
def later(monkeypatch):
    """Make the check run an hour from now, so every object counts as old."""
    real = time.time
    monkeypatch.setattr(poolstore.check.time, "time", lambda: real() + 3600)


def found(store, **kw):
    return sorted((o.kind, o.key, o.name) for o in find_orphans(store, **kw))


@pytest.fixture
def messy(store, raw):
    """A store with live data of every kind and one orphan of each kind."""
    registry = Registry(store)
    registry.create("live1", "Live")
    Pool(store, "live1").add([png_bytes(), png_bytes()])
    Pool(store, "node5").add([png_bytes()])  # a per-node pool: manifest, no profile.json
    registry.create("gone1", "Half made")  # a create that lost its commit:
    registry.update(lambda entries: [e for e in entries if e["id"] != "gone1"])
    raw.write("part1/img_0001.png", png_bytes())  # a first add that stopped, or a lost manifest
    raw.write("part2/img_0003.mask.dead.png", png_bytes(mode="L"))  # debris without an image
    raw.write("live1/img_0042.png", png_bytes())  # an add that lost its commit
    raw.write("node5/img_0001.mask.dead.png", png_bytes(mode="L"))  # a superseded mask
    return registry


def test_orphans_of_every_kind_are_found(store, raw, messy, later):
    assert found(store) == [
        ("object", "live1/img_0042.png", None),
        ("object", "node5/img_0001.mask.dead.png", None),
        ("partial", "part1", None),
        ("partial", "part2", None),
        ("profile", "gone1", "Half made"),
    ]


def test_fresh_objects_are_work_in_progress(store, raw, messy):
    assert found(store) == []  # default min_age: ten minutes
    assert len(found(store, min_age=-60)) == 5


def test_min_age_counts_from_the_backend_mtime(store, raw, messy, monkeypatch):
    real = time.time
    monkeypatch.setattr(poolstore.check.time, "time", lambda: real() + 300)
    assert found(store, min_age=600) == []
    assert len(found(store, min_age=120)) == 5


def test_per_node_pools_and_live_profiles_are_not_orphans(store, raw, later):
    Registry(store).create("live1", "Live")
    Pool(store, "live1").add([png_bytes()])
    Pool(store, "node5").add([png_bytes()])
    Pool(store, "node5").set_mask(0, png_bytes(mode="L"))
    raw.write("not-an-id.x/file.png", b"x")  # folders that are no pool are left alone
    assert found(store) == []


def test_fix_removes_orphans_and_nothing_else(store, raw, messy, later):
    live = {k: raw.read(k) for k in raw.keys() if k.startswith(("live1/", "node5/"))}
    done = fix_orphans(store, find_orphans(store))
    assert {o.pool_id: o.action() for o in done if o.kind != "object"} == {
        "gone1": "removed", "part1": "restored", "part2": "removed"}
    assert not any(k.startswith(("gone1/", "part2/")) for k in raw.keys())
    assert [s["image"] for s in json.loads(raw.read("part1/manifest.json"))["slots"]] == ["img_0001.png"]
    del live["live1/img_0042.png"], live["node5/img_0001.mask.dead.png"]
    assert {k: raw.read(k) for k in raw.keys() if k.startswith(("live1/", "node5/"))} == live
    assert find_orphans(store) == []
    assert [e["id"] for e in Registry(store).list()] == ["live1"]


def test_fix_with_adopt_registers_orphan_profiles(store, raw, messy, later):
    messy.create("other", "half made")  # the orphan's name is taken meanwhile
    fix_orphans(store, find_orphans(store), adopt=True)
    entries = {e["id"]: e["name"] for e in Registry(store).list()}
    assert entries == {"live1": "Live", "other": "half made", "gone1": "Half made (2)"}
    assert json.loads(raw.read("gone1/profile.json"))["name"] == "Half made (2)"
    assert "part1/img_0001.png" in raw.keys()  # images of a partial folder are never deleted
    assert [s["image"] for s in json.loads(raw.read("part1/manifest.json"))["slots"]] == ["img_0001.png"]


def test_fix_rechecks_before_removing(store, raw, messy, later):
    orphans = find_orphans(store)
    messy.commit({"id": "gone1", "name": "Rescued", "created": 1}, rename_on_collision=True)
    Pool(store, "live1").update(
        lambda m: {**m, "slots": m["slots"] + [{"image": "img_0042.png", "mask": None, "label": "", "added": 1}]}
    )
    fix_orphans(store, orphans)
    assert "gone1/profile.json" in raw.keys()
    assert "live1/img_0042.png" in raw.keys()


@pytest.mark.parametrize("damage", ["corrupt", "missing"])
def test_a_lost_registry_does_not_make_profiles_orphans(store, raw, later, damage):
    registry = Registry(store)
    registry.create("p1", "One")
    registry.create("p2", "Two")
    Pool(store, "p1").add([png_bytes()])
    if damage == "corrupt":
        raw.write("profiles.json", b"{oops")
    else:
        store.delete("profiles.json")
    assert found(store) == []
    fix_orphans(store, find_orphans(store))
    assert {"p1/profile.json", "p2/profile.json", "p1/manifest.json"} <= raw.keys()


def test_check_only_reads(store, raw, messy, later):
    before = {k: raw.read(k) for k in raw.keys()}
    find_orphans(store)
    assert {k: raw.read(k) for k in raw.keys()} == before


def test_images_of_a_profile_that_lost_its_manifest_are_not_strays(store, raw, later):
    Registry(store).create("p1", "One")
    Pool(store, "p1").add([png_bytes(), png_bytes()])
    store.delete("p1/manifest.json")
    assert found(store) == []
    assert [s["image"] for s in Pool(store, "p1").rebuild()["slots"]] == ["img_0001.png", "img_0002.png"]


# -- deleted profiles ------------------------------------------------------------------
def test_an_interrupted_delete_is_reported_and_fix_finishes_it(store, raw, later):
    registry = Registry(store)
    registry.create("p1", "One")
    Pool(store, "p1").add([png_bytes(), png_bytes()])
    Pool(store, "p1").mark_deleted("One")  # the delete stopped after its tombstone
    assert found(store) == [
        ("deleted", "p1", "One"),
        ("object", "p1/img_0001.png", None),
        ("object", "p1/img_0002.png", None),
        ("object", "p1/profile.json", None),
    ]
    done = fix_orphans(store, find_orphans(store))
    assert {(o.kind, o.action()) for o in done} == {("deleted", "deleted"), ("object", "removed")}
    assert Registry(store).list() == []
    assert deleted_cleanly(raw, "p1")
    assert find_orphans(store) == []


def test_what_a_delete_could_not_remove_is_listed_and_never_comes_back(store, raw, later, monkeypatch):
    registry = Registry(store)
    registry.create("p1", "One")
    registry.create("p2", "Two")
    Pool(store, "p1").add([png_bytes()])
    with monkeypatch.context() as m:
        m.setattr(store, "delete_many", lambda keys: (_ for _ in ()).throw(OSError("disk gone")))
        registry.delete("p1")
    assert found(store) == [("object", "p1/img_0001.png", None), ("object", "p1/profile.json", None)]
    store.delete("profiles.json")  # a lost registry is rebuilt without the deleted profile
    assert [e["id"] for e in Registry(store).effective_list()] == ["p2"]
    fix_orphans(store, find_orphans(store))
    assert deleted_cleanly(raw, "p1")
    Registry(store).create("p3", "Three")  # the first write rebuilds the registry
    assert {e["id"] for e in Registry(store).list()} == {"p2", "p3"}


def test_images_added_to_a_deleted_pool_by_an_older_version_are_reported_and_kept(store, raw, later):
    registry = Registry(store)
    registry.create("p1", "One")
    registry.delete("p1")
    # An older version knows nothing of tombstones: it adds a slot and keeps the mark.
    tombstone = json.loads(raw.read("p1/manifest.json"))
    tombstone["slots"] = [{"image": "img_0009.png", "mask": None, "label": "late", "added": 1}]
    raw.write("p1/manifest.json", json.dumps(tombstone).encode())
    raw.write("p1/img_0009.png", png_bytes())
    assert found(store) == [("revived", "p1", "One")]
    done = fix_orphans(store, find_orphans(store))
    assert [o.action() for o in done] == ["kept"]
    assert raw.read("p1/img_0009.png") == png_bytes()
    assert Pool(store, "p1").read()["slots"] == []  # still deleted for every reader


def test_an_unregistered_profile_folder_with_images_is_reported_and_kept(store, raw, later):
    """What an old delete racing an add left: profile.json, a manifest and images."""
    Registry(store).create("live1", "Live")
    raw.write("old1/profile.json", json.dumps({"id": "old1", "name": "Back", "created": 1}).encode())
    Pool(store, "old1").add([png_bytes()])
    orphans = find_orphans(store)
    assert [(o.kind, o.kept, o.action()) for o in orphans] == [("profile", True, "kept")]
    fix_orphans(store, orphans)
    assert {"old1/profile.json", "old1/manifest.json", "old1/img_0001.png"} <= raw.keys()
    fix_orphans(store, find_orphans(store), adopt=True)
    assert [(e["id"], e["name"]) for e in Registry(store).list()] == [("live1", "Live"), ("old1", "Back")]


def test_adopt_leaves_an_orphan_whose_id_differs_only_in_case_from_a_profile(store, raw, later):
    Registry(store).create("abc", "One")
    raw.write("ABC/profile.json", json.dumps({"id": "ABC", "name": "Twin", "created": 1}).encode())
    done = fix_orphans(store, find_orphans(store), adopt=True)
    assert done == [] and [e["id"] for e in Registry(store).list()] == ["abc"]
    assert "ABC/profile.json" in raw.keys()
