"""One behaviour for an object a manifest names but the store lacks, whichever
way a profile is made from another pool (duplicate, seed, copy, move), on
every backend: the slot whose image is missing is left out, a missing mask
is dropped from its slot, everything else is copied, and a warning names
what was left out."""

from __future__ import annotations

import logging

import pytest
from archive_support import make_profile, profile_state, raw_of, registry_ids
from support import deleted_cleanly

from poolstore import Pool, Registry, copy_profile, seed_profile


@pytest.fixture
def logged(caplog):
    caplog.set_level(logging.WARNING, logger="poolstore")
    return caplog


@pytest.fixture
def damaged(store):
    """A profile of three slots (masks on 0 and 2, slot 2 active) whose slot 1
    image and slot 2 mask are gone from the store: (id, state before, lost names)."""
    pid = make_profile(store, "damaged", count=3)
    state = profile_state(store, pid)
    manifest = Pool(store, pid).read()
    lost = [manifest["slots"][1]["image"], manifest["slots"][2]["mask"]]
    for name in lost:
        store.delete(f"{pid}/{name}")
    return pid, state, lost


def _expected(state):
    """What a copy of the damaged profile holds: slots 0 and 2, slot 2 without
    its mask, and the same image active (slot 2, now at index 1)."""
    first, last = state["slots"][0], {**state["slots"][2], "mask": None}
    return {"active": 1, "slots": [first, last]}


def _without_names(state):
    return {**state, "slots": [{k: v for k, v in s.items() if k != "image"} for s in state["slots"]]}


def _warned_of(caplog, names):
    text = "\n".join(r.getMessage() for r in caplog.records)
    return all(name in text for name in names)


def test_duplicate_leaves_out_what_is_missing(store, damaged, logged):
    pid, state, lost = damaged
    entry = copy_profile(store, pid, store, new_id="dup1", name="Copy")
    assert entry["id"] == "dup1" and registry_ids(store) == [pid, "dup1"]
    assert profile_state(store, "dup1") == _expected(state)
    assert _warned_of(logged, lost)


def test_seed_leaves_out_what_is_missing(store, damaged, logged):
    pid, state, lost = damaged
    Registry(store).create("t1", "Target")
    seed_profile(store, pid, store, "t1")
    assert _without_names(profile_state(store, "t1")) == _without_names(_expected(state))
    assert _warned_of(logged, lost)


@pytest.mark.parametrize("direction", ["out", "in"])
def test_copy_leaves_out_what_is_missing(store, store_factory, damaged, logged, direction):
    pid, state, lost = damaged
    other = store_factory("memory")
    if direction == "in":  # the damaged profile copied into `other`, or `other`'s copy of it back
        copy_profile(store, pid, other, new_id="c1")
        src, src_id, dst = other, "c1", store
    else:
        src, src_id, dst = store, pid, other
    copy_profile(src, src_id, dst, new_id="c2")
    assert profile_state(dst, "c2") == _expected(state)
    assert _warned_of(logged, lost)


def test_move_leaves_out_what_is_missing_and_deletes_the_source(store, store_factory, damaged, logged):
    pid, state, lost = damaged
    other = store_factory("memory")
    copy_profile(store, pid, other, new_id="m1", move=True)
    assert profile_state(other, "m1") == _expected(state)
    assert registry_ids(store) == [] and deleted_cleanly(raw_of(store), pid)
    assert _warned_of(logged, lost)


def _losing(store, pid, name):
    """A progress callback that deletes ``pid/name`` before the first object is
    copied: the object goes missing after the source was read."""

    def progress(files_done, *_):
        if files_done == 0:
            store.delete(f"{pid}/{name}")

    return progress


def test_an_object_lost_during_a_duplicate_is_left_out(store, logged):
    pid = make_profile(store, "racing", count=3)
    state = profile_state(store, pid)
    image = Pool(store, pid).read()["slots"][1]["image"]
    copy_profile(store, pid, store, new_id="dup2", progress=_losing(store, pid, image))
    assert profile_state(store, "dup2") == {"active": 1, "slots": [state["slots"][0], state["slots"][2]]}
    assert _warned_of(logged, [image])


def test_an_object_lost_during_a_copy_is_left_out(store, store_factory, logged):
    pid = make_profile(store, "racing", count=3)
    state = profile_state(store, pid)
    mask = Pool(store, pid).read()["slots"][0]["mask"]
    other = store_factory("memory")
    copy_profile(store, pid, other, new_id="c3", progress=_losing(store, pid, mask))
    assert profile_state(other, "c3") == {**state, "slots": [{**state["slots"][0], "mask": None}, *state["slots"][1:]]}
    assert _warned_of(logged, [mask])


def test_an_object_lost_during_a_seed_is_left_out(store, logged):
    pid = make_profile(store, "racing", count=3)
    state = profile_state(store, pid)
    image = Pool(store, pid).read()["slots"][2]["image"]
    Registry(store).create("t2", "Target")
    seed_profile(store, pid, store, "t2", progress=_losing(store, pid, image))
    seeded = _without_names(profile_state(store, "t2"))
    assert seeded == _without_names({"active": 1, "slots": state["slots"][:2]})
    assert _warned_of(logged, [image])
