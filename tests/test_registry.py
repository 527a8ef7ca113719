"""The profile registry on every backend; results checked on the raw objects."""

from __future__ import annotations

import json

import pytest

from archive_support import raw_of
from support import png_bytes

from poolstore import (
    ConflictError,
    InvalidInputError,
    NameTakenError,
    Pool,
    ProfileNotFoundError,
    Registry,
    adopt_pool,
    copy_profile,
    seed_profile,
    unique_name,
)


@pytest.fixture
def reg(store):
    return Registry(store)


def registry_doc(raw):
    return json.loads(raw.read("profiles.json"))


def names(raw):
    return [e["name"] for e in registry_doc(raw)["profiles"]]


def meta(raw, ident):
    return json.loads(raw.read(f"{ident}/profile.json"))


def with_images(store, ident, n=2):
    pool = Pool(store, ident)
    pool.add([png_bytes(color=(i * 40, 10, 10)) for i in range(1, n + 1)], labels=[f"l{i}" for i in range(n)])
    pool.set_mask(0, png_bytes(mode="L"))
    return pool.read()


# -- reading -------------------------------------------------------------------------
def test_empty_store_lists_nothing(reg, raw):
    assert reg.list() == []
    assert raw.visible_keys() == set()


def test_create_then_list_get_find(reg, raw):
    entry = reg.create("a1", "Characters", created=1718960000)
    assert entry == {"id": "a1", "name": "Characters", "created": 1718960000}
    assert registry_doc(raw) == {"profiles": [entry]}
    assert meta(raw, "a1") == entry
    reg.create("b2", "Backgrounds")
    assert [e["id"] for e in reg.list()] == ["a1", "b2"]
    assert reg.get("b2")["name"] == "Backgrounds"
    assert reg.find("characters")["id"] == "a1"
    assert reg.find("  CHARACTERS ")["id"] == "a1"
    assert reg.find("b2")["name"] == "Backgrounds"
    with pytest.raises(ProfileNotFoundError):
        reg.get("zz")
    with pytest.raises(ProfileNotFoundError):
        reg.find("nothing")


def test_create_trims_the_name(reg, raw):
    reg.create("a1", "  spaced  ")
    assert names(raw) == ["spaced"]


@pytest.mark.parametrize("taken", ["Characters", "characters", " CHARACTERS "])
def test_create_rejects_a_taken_name_and_writes_nothing(reg, raw, taken):
    reg.create("a1", "Characters")
    before = raw.read("profiles.json"), raw.keys()
    with pytest.raises(NameTakenError):
        reg.create("b2", taken)
    assert (raw.read("profiles.json"), raw.keys()) == before


def test_create_rejects_an_id_in_use(reg, raw, store):
    reg.create("a1", "One")
    Pool(store, "node5").add([png_bytes()])
    before = raw.read("profiles.json"), raw.keys()
    with pytest.raises(ConflictError):
        reg.create("a1", "Other")
    with pytest.raises(ConflictError):
        reg.create("node5", "Other")
    assert (raw.read("profiles.json"), raw.keys()) == before
    assert meta(raw, "a1")["name"] == "One"


def test_name_taken_between_check_and_commit_leaves_no_folder(reg, raw, store, monkeypatch):
    """Another writer takes the name after our check: commit refuses, our folder goes."""
    reg.create("a1", "One")
    monkeypatch.setattr(reg, "check_new", lambda entry, name_must_be_free: None)
    with pytest.raises(NameTakenError):
        reg.create("b2", "one")
    assert not any(k.startswith("b2/") for k in raw.keys())


# -- rename --------------------------------------------------------------------------
def test_rename(reg, raw):
    reg.create("a1", "Old")
    reg.create("b2", "Other")
    assert reg.rename("a1", "New")["name"] == "New"
    assert names(raw) == ["New", "Other"]
    assert meta(raw, "a1")["name"] == "New"
    reg.rename("a1", "NEW")  # its own name in another case is fine
    assert names(raw) == ["NEW", "Other"]


def test_rename_rejects_a_taken_name(reg, raw):
    reg.create("a1", "One")
    reg.create("b2", "Two")
    before = raw.read("profiles.json"), raw.read("a1/profile.json")
    with pytest.raises(NameTakenError):
        reg.rename("a1", "two")
    assert (raw.read("profiles.json"), raw.read("a1/profile.json")) == before


def test_rename_unknown_profile(reg, raw):
    with pytest.raises(ProfileNotFoundError):
        reg.rename("zz", "x")
    assert raw.visible_keys() == set()


# -- delete --------------------------------------------------------------------------
def test_delete_leaves_a_tombstone_and_removes_the_data(reg, raw, store):
    reg.create("a1", "One")
    reg.create("b2", "Two")
    with_images(store, "a1")
    with_images(store, "b2")
    reg.delete("a1")
    assert names(raw) == ["Two"]
    assert {k for k in raw.visible_keys() if k.startswith("a1/")} == {"a1/manifest.json"}
    tombstone = json.loads(raw.read("a1/manifest.json"))
    assert tombstone["slots"] == [] and tombstone["deleted"]["name"] == "One"
    assert tombstone["next_seq"] == 3  # a later restore never reuses an image name
    assert any(k.startswith("b2/img_") for k in raw.keys())
    with pytest.raises(ProfileNotFoundError):
        reg.delete("a1")


def test_delete_answers_after_its_commit_even_if_removing_the_data_fails(reg, raw, store, monkeypatch, caplog):
    """Removing the data follows the commit: a failure there is logged and
    leaves orphans for check, never an error answer for a delete that happened."""
    reg.create("a1", "One")
    with_images(store, "a1")

    def broken(keys):
        raise OSError("disk gone")

    monkeypatch.setattr(store, "delete_many", broken)
    with caplog.at_level("WARNING", logger="poolstore.pool"):
        reg.delete("a1")
    assert names(raw) == []
    assert "a1/img_0001.png" in raw.keys()
    assert json.loads(raw.read("a1/manifest.json"))["slots"] == []
    assert "disk gone" in caplog.text


def test_an_interrupted_delete_is_finished_by_deleting_again(reg, raw, store, monkeypatch):
    reg.create("a1", "One")
    with_images(store, "a1")
    real = reg.update

    def lost(fn):
        raise OSError("network gone")

    monkeypatch.setattr(reg, "update", lost)
    with pytest.raises(OSError):
        reg.delete("a1")
    assert names(raw) == ["One"]  # not committed: still listed, but its pool is fenced
    assert Pool(store, "a1").read()["slots"] == []
    monkeypatch.setattr(reg, "update", real)
    reg.delete("a1")
    assert names(raw) == []
    assert {k for k in raw.visible_keys() if k.startswith("a1/")} == {"a1/manifest.json"}


# -- duplicate (a copy into the same store) -----------------------------------------------------------------------
def test_duplicate_copies_data_then_commits(reg, raw, store):
    reg.create("a1", "Chars")
    src = with_images(store, "a1", 3)
    entry = copy_profile(store, "a1", store, new_id="c3", name="Copy")
    assert entry["name"] == "Copy" and entry["id"] == "c3"
    dst = json.loads(raw.read("c3/manifest.json"))
    assert dst["slots"] == src["slots"]
    for slot in src["slots"]:
        for n in (slot["image"], slot["mask"]):
            if n:
                assert raw.read(f"c3/{n}") == raw.read(f"a1/{n}")
    assert names(raw) == ["Chars", "Copy"]
    assert meta(raw, "c3")["name"] == "Copy"


def test_duplicate_name_collision_gets_a_suffix(reg, raw, store):
    reg.create("a1", "Chars")
    with_images(store, "a1")
    assert copy_profile(store, "a1", store, new_id="c3")["name"] == "Chars (2)"
    assert copy_profile(store, "a1", store, new_id="c4", name="chars")["name"] == "chars (3)"
    assert copy_profile(store, "c3", store, new_id="c5")["name"] == "Chars (4)"
    assert names(raw) == ["Chars", "Chars (2)", "chars (3)", "Chars (4)"]
    assert meta(raw, "c4")["name"] == "chars (3)"


def test_duplicate_refuses_an_existing_target_and_keeps_it(reg, raw, store):
    reg.create("a1", "Chars")
    with_images(store, "a1")
    with_images(store, "node5")
    before = raw.keys()
    with pytest.raises(ConflictError):
        copy_profile(store, "a1", store, new_id="node5")
    assert raw.keys() == before


def test_failed_duplicate_leaves_nothing(reg, raw, store, monkeypatch):
    reg.create("a1", "Chars")
    with_images(store, "a1", 3)
    before = raw.keys(), raw.read("profiles.json")
    calls = []

    def flaky_copy(src, dst):
        calls.append(src)
        if len(calls) == 2:
            raise OSError("network down")
        type(store).copy(store, src, dst)

    monkeypatch.setattr(store, "copy", flaky_copy)
    with pytest.raises(OSError):
        copy_profile(store, "a1", store, new_id="c3", name="Copy")
    assert (raw.keys(), raw.read("profiles.json")) == before


def test_duplicate_on_s3_stays_server_side(store_factory):
    store = store_factory("s3")
    reg = Registry(store)
    reg.create("a1", "Chars")
    src = with_images(store, "a1", 3)
    server = store._test_server
    server.clear_log()
    copy_profile(store, "a1", store, new_id="c3")
    log = server.request_log
    image_gets = [p for m, p in log if m == "GET" and p.endswith(".png")]
    copies = [p for m, p in log if m == "PUT" and "/c3/img_" in p]
    assert image_gets == []
    assert len(copies) == 4  # three images and one mask, copied by CopyObject
    assert store.stats["open"] == 0
    assert len(src["slots"]) == 3


# -- seed and adopt ------------------------------------------------------------------
def test_seed_fills_an_empty_profile(reg, raw, store):
    src = with_images(store, "node5", 2)
    reg.create("a1", "Chars")
    seed_profile(store, "node5", store, "a1")
    seeded = json.loads(raw.read("a1/manifest.json"))
    assert seeded["active"] == src["active"]
    assert [s["label"] for s in seeded["slots"]] == [s["label"] for s in src["slots"]]
    for mine, theirs in zip(seeded["slots"], src["slots"], strict=True):
        assert raw.read(f"a1/{mine['image']}") == raw.read(f"node5/{theirs['image']}")
        assert bool(mine["mask"]) == bool(theirs["mask"])
        if theirs["mask"]:
            assert raw.read(f"a1/{mine['mask']}") == raw.read(f"node5/{theirs['mask']}")


def test_seed_never_reuses_a_name_the_profile_had(reg, raw, store):
    """Caches key images by name: a name once used must never get other bytes."""
    reg.create("a1", "Chars")
    Pool(store, "a1").add([png_bytes(color=(255, 0, 0))])
    Pool(store, "a1").remove("img_0001.png")
    with_images(store, "node5", 2)
    seed_profile(store, "node5", store, "a1")
    seeded = json.loads(raw.read("a1/manifest.json"))
    assert "img_0001.png" not in {s["image"] for s in seeded["slots"]}
    assert seeded["next_seq"] > max(int(s["image"][4:8]) for s in seeded["slots"])


def test_seed_leaves_an_object_being_added_alone(reg, raw, store):
    """An add in flight has written its image but not yet committed it."""
    reg.create("a1", "Chars")
    raw.write("a1/img_0001.png", png_bytes(color=(255, 0, 0)))
    with_images(store, "node5", 2)
    seed_profile(store, "node5", store, "a1")
    assert raw.read("a1/img_0001.png") == png_bytes(color=(255, 0, 0))


def test_seed_refuses_a_non_empty_profile(reg, raw, store):
    with_images(store, "node5", 2)
    reg.create("a1", "Chars")
    with_images(store, "a1", 1)
    before = raw.keys(), raw.read("a1/manifest.json")
    with pytest.raises(ConflictError):
        seed_profile(store, "node5", store, "a1")
    assert (raw.keys(), raw.read("a1/manifest.json")) == before


def test_seed_into_unknown_profile(reg, raw, store):
    with_images(store, "node5", 1)
    before = raw.keys()
    with pytest.raises(ProfileNotFoundError):
        seed_profile(store, "node5", store, "zz")
    assert raw.keys() == before


def test_seed_refuses_the_profile_itself(reg, raw, store):
    reg.create("a1", "Chars")
    before = {k: raw.read(k) for k in raw.keys()}
    with pytest.raises(InvalidInputError, match="itself"):
        seed_profile(store, "a1", store, "a1")
    assert {k: raw.read(k) for k in raw.keys()} == before


def test_seed_from_a_pool_of_another_store(reg, raw, store, store_factory):
    other = store_factory("memory")
    src = with_images(other, "node5", 2)
    reg.create("a1", "Chars")
    seeded = seed_profile(other, "node5", store, "a1")
    assert [s["label"] for s in seeded["slots"]] == [s["label"] for s in src["slots"]]
    for mine, theirs in zip(seeded["slots"], src["slots"], strict=True):
        assert raw.read(f"a1/{mine['image']}") == raw_of(other).read(f"node5/{theirs['image']}")


def test_seed_from_a_deleted_profile_leaves_the_target_alive(reg, raw, store):
    """The deleted pool reads empty; its tombstone mark is not copied."""
    reg.create("gone1", "Gone")
    with_images(store, "gone1", 2)
    reg.delete("gone1")
    reg.create("a1", "Chars")
    assert seed_profile(store, "gone1", store, "a1")["slots"] == []
    assert "deleted" not in json.loads(raw.read("a1/manifest.json"))
    Pool(store, "a1").add([png_bytes()])
    assert len(Pool(store, "a1").read()["slots"]) == 1


def test_adopt_registers_an_existing_pool(reg, raw, store):
    src = with_images(store, "node5", 2)
    entry = adopt_pool(store, "node5", "Found")
    assert entry["id"] == "node5"
    assert names(raw) == ["Found"]
    assert meta(raw, "node5")["name"] == "Found"
    assert Pool(store, "node5").read() == src


def test_adopt_refusals_change_nothing(reg, raw, store):
    with_images(store, "node5", 1)
    reg.create("a1", "Taken")
    before = raw.keys(), raw.read("profiles.json")
    with pytest.raises(NameTakenError):
        adopt_pool(store, "node5", "taken")
    with pytest.raises(ConflictError):
        adopt_pool(store, "a1", "Again")
    with pytest.raises(ProfileNotFoundError):
        adopt_pool(store, "nopool", "New")
    assert (raw.keys(), raw.read("profiles.json")) == before


# -- a missing or corrupt registry ----------------------------------------------------
@pytest.mark.parametrize("junk", [b"{broken", b"[]", b'{"profiles": 3}', b"\x00\xff"])
def test_corrupt_registry_reads_empty_and_is_kept_aside_then_rebuilt(reg, raw, store, junk):
    reg.create("a1", "One", created=100)
    reg.create("b2", "Two", created=200)
    with_images(store, "a1")
    raw.write("profiles.json", junk)
    assert reg.list() == []
    assert raw.read("profiles.json") == junk  # reading never overwrites
    reg.create("c3", "Three", created=300)
    assert names(raw) == ["One", "Two", "Three"]
    kept = [k for k in raw.keys() if k.startswith("profiles.json.corrupt-")]
    assert len(kept) == 1 and raw.read(kept[0]) == junk
    assert reg.find("one")["id"] == "a1"


def test_missing_registry_is_rebuilt_from_profile_files(reg, raw, store):
    reg.create("a1", "One", created=100)
    reg.create("b2", "Two", created=200)
    store.delete("profiles.json")
    assert reg.list() == []
    reg.rename("b2", "Second")
    assert registry_doc(raw)["profiles"] == [
        {"id": "a1", "name": "One", "created": 100},
        {"id": "b2", "name": "Second", "created": 200},
    ]
    assert not any("corrupt" in k for k in raw.keys())


def test_rebuild_resolves_name_collisions(reg, raw, store):
    raw.write("a1/profile.json", json.dumps({"id": "a1", "name": "Same", "created": 1}).encode())
    raw.write("b2/profile.json", json.dumps({"id": "b2", "name": "same", "created": 2}).encode())
    raw.write("c3/profile.json", b"not json")
    raw.write("d4/profile.json", json.dumps({"name": "bad\x00name"}).encode())
    raw.write("node5/manifest.json", b'{"slots": []}')
    raw.write("profiles.json", b"garbage")
    reg.create("e5", "Fresh", created=5)
    assert [(e["id"], e["name"]) for e in registry_doc(raw)["profiles"]] == [
        ("a1", "Same"), ("b2", "same (2)"), ("e5", "Fresh"),
    ]


def test_unique_name():
    assert unique_name("A", set()) == "A"
    assert unique_name("A", {"a"}) == "A (2)"
    assert unique_name("A", {"a", "A (2)"}) == "A (3)"
    assert unique_name("A (2)", {"a (2)"}) == "A (3)"


def _answer_lost_once(store, monkeypatch, key):
    """The next conditional write of ``key`` is stored, but the writer is told
    it failed (what an S3 server may do when a connection drops)."""
    real = store.write_if
    state = {"armed": True}

    def write_if(k, data, version):
        result = real(k, data, version)
        if k == key and state.pop("armed", False):
            from backends import PreconditionFailedError

            raise PreconditionFailedError("answer lost")
        return result

    monkeypatch.setattr(store, "write_if", write_if)


def test_delete_is_idempotent_when_an_answer_is_lost(reg, raw, store, monkeypatch):
    reg.create("a1", "One")
    reg.create("b2", "Two")
    with_images(store, "a1")
    _answer_lost_once(store, monkeypatch, "profiles.json")
    reg.delete("a1")
    assert names(raw) == ["Two"]
    assert {k for k in raw.visible_keys() if k.startswith("a1/")} == {"a1/manifest.json"}


def test_create_is_idempotent_when_an_answer_is_lost(reg, raw, store, monkeypatch):
    reg.create("a1", "One")
    _answer_lost_once(store, monkeypatch, "profiles.json")
    assert reg.create("b2", "Two")["name"] == "Two"
    assert names(raw) == ["One", "Two"]


def test_pool_remove_by_key_is_idempotent_when_an_answer_is_lost(store, raw, monkeypatch):
    pool = Pool(store, "p1")
    pool.add([png_bytes(), png_bytes()])
    _answer_lost_once(store, monkeypatch, "p1/manifest.json")
    pool.remove("img_0001.png")
    assert [s["image"] for s in json.loads(raw.read("p1/manifest.json"))["slots"]] == ["img_0002.png"]
    assert "p1/img_0001.png" not in raw.keys()
