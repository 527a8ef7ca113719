"""Copy and move of profiles between stores: every backend pair, server-side
copies between buckets, commit order, and interruption."""

from __future__ import annotations

import os

import pytest
from archive_support import FailingStore, fail_on_object, make_profile, noise_png, profile_state, raw_of, registry_ids
from support import deleted_cleanly

from poolstore import ConflictError, Pool, ProfileNotFoundError, Registry
from poolstore.transfer import copy_profile

KINDS = ["local", "memory", "s3", "azure"]


@pytest.mark.parametrize("dst_kind", KINDS)
@pytest.mark.parametrize("src_kind", KINDS)
def test_one_object_copies_between_every_pair_of_backends(store_factory, src_kind, dst_kind):
    src, dst = store_factory(src_kind), store_factory(dst_kind)
    payload = os.urandom(70_000)
    src.write("src/a.png", payload)
    dst.copy_from(src, "src/a.png", "dst/a.png")
    assert raw_of(dst).read("dst/a.png") == payload
    assert dst.same_backend(src) == (src_kind == dst_kind)


@pytest.mark.parametrize("dst_kind", KINDS)
@pytest.mark.parametrize("src_kind", KINDS)
def test_copy_between_every_pair_of_backends(store_factory, src_kind, dst_kind):
    src, dst = store_factory(src_kind), store_factory(dst_kind)
    pid = make_profile(src, "characters_A", count=3)
    before = profile_state(src, pid)

    entry = copy_profile(src, pid, dst, new_id="copy1")

    assert entry == {**entry, "id": "copy1", "name": "characters_A"}
    assert registry_ids(dst) == ["copy1"]
    assert profile_state(dst, "copy1") == before
    assert profile_state(src, pid) == before and registry_ids(src) == [pid]


@pytest.mark.parametrize(
    ("src_kind", "dst_kind"),
    [("local", "s3"), ("s3", "local"), ("s3", "s3"), ("memory", "local"), ("local", "azure"), ("azure", "s3"),
     ("azure", "azure")],
)
def test_move_deletes_the_source_after_the_destination_is_committed(store_factory, src_kind, dst_kind):
    src, dst = store_factory(src_kind), store_factory(dst_kind)
    keep = make_profile(src, "stays", count=1)
    pid = make_profile(src, "moving", count=2)
    before = profile_state(src, pid)

    entry = copy_profile(src, pid, dst, new_id="moved1", move=True)

    assert entry["name"] == "moving"
    assert profile_state(dst, "moved1") == before
    assert registry_ids(src) == [keep]
    assert deleted_cleanly(raw_of(src), pid)


@pytest.mark.parametrize("kind", ["s3", "azure"])
def test_copy_between_buckets_of_one_endpoint_is_server_side(store_factory, kind):
    src, dst = store_factory(kind), store_factory(kind)
    pid = make_profile(src, count=3)
    objects = len(profile_state(src, pid)["slots"]) + 2  # three images, two masks
    src.stats.clear()
    dst.stats.clear()
    copy_profile(src, pid, dst, new_id="server1")
    assert dst.stats["copy"] == objects
    assert src.stats["open"] == 0 and dst.stats["write"] <= 3  # profile.json, manifest, registry


def test_copy_to_another_kind_of_store_is_streamed(store_factory):
    src, dst = store_factory("local"), store_factory("s3")
    pid = make_profile(src, count=2)
    src.stats.clear()
    dst.stats.clear()
    copy_profile(src, pid, dst, new_id="streamed1", max_workers=2)
    assert dst.stats["copy"] == 0
    assert src.stats["open"] == 3  # two images, one mask


def test_copy_inside_one_store_gets_a_free_name(store):
    pid = make_profile(store, "characters_A", count=2)
    entry = copy_profile(store, pid, store, new_id="same1")
    assert entry["name"] == "characters_A (2)"
    assert profile_state(store, "same1") == profile_state(store, pid)


def test_copy_takes_a_name_and_renames_on_collision(store_factory):
    src, dst = store_factory("memory"), store_factory("local")
    pid = make_profile(src, "characters_A", count=1)
    make_profile(dst, "team set", count=1)
    assert copy_profile(src, pid, dst, new_id="n1", name="team set")["name"] == "team set (2)"
    assert copy_profile(src, pid, dst, new_id="n2", name="fresh")["name"] == "fresh"


def test_copy_of_an_unknown_profile_is_not_found(store_factory):
    src, dst = store_factory("memory"), store_factory("memory")
    with pytest.raises(ProfileNotFoundError):
        copy_profile(src, "missing", dst, new_id="x1")
    assert raw_of(dst).keys() == set()


def test_copy_into_an_id_in_use_is_refused(store_factory):
    src, dst = store_factory("memory"), store_factory("local")
    pid = make_profile(src, count=1)
    other = make_profile(dst, count=1)
    before = {k: raw_of(dst).read(k) for k in raw_of(dst).visible_keys()}
    with pytest.raises(ConflictError):
        copy_profile(src, pid, dst, new_id=other)
    assert {k: raw_of(dst).read(k) for k in raw_of(dst).visible_keys()} == before


@pytest.mark.parametrize("move", [False, True])
@pytest.mark.parametrize("fail_at", [1, 4])
def test_copy_failing_after_some_files_leaves_nothing_in_the_destination(store, store_factory, move, fail_at):
    src = store_factory("memory")
    pid = make_profile(src, count=3)
    before_src = profile_state(src, pid)
    raw = raw_of(store)
    keys_before = raw.keys()
    failing = FailingStore(store, fail_on_object(fail_at))

    with pytest.raises(OSError, match="injected"):
        copy_profile(src, pid, failing, new_id="half1", move=move, max_workers=2)

    assert raw.keys() == keys_before
    assert registry_ids(store) == []
    assert profile_state(src, pid) == before_src and registry_ids(src) == [pid]


def test_copy_stopped_by_its_progress_callback_leaves_nothing(store, store_factory):
    src = store_factory("local")
    pid = make_profile(src, count=3)
    raw = raw_of(store)
    keys_before = raw.keys()
    calls = []

    def stop(files_done, files_total, bytes_done, bytes_total):
        calls.append((files_done, files_total))
        if files_done == 2:
            raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        copy_profile(src, pid, store, new_id="stop1", move=True, progress=stop)
    assert calls[0] == (0, 5) and calls[-1] == (2, 5)
    assert raw.keys() == keys_before and registry_ids(store) == []
    assert registry_ids(src) == [pid]


def test_a_move_keeps_a_source_that_changed_during_the_copy(store_factory):
    src, dst = store_factory("local"), store_factory("memory")
    pid = make_profile(src, "busy", count=2)
    added = []

    def someone_adds_an_image(files_done, *_):
        if files_done == 1 and not added:
            added.extend(Pool(src, pid).add([noise_png(seed=99)]))

    with pytest.raises(ConflictError, match="kept"):
        copy_profile(src, pid, dst, new_id="busy1", move=True, progress=someone_adds_an_image, max_workers=1)
    assert registry_ids(dst) == ["busy1"]
    assert len(profile_state(dst, "busy1")["slots"]) == 2
    assert registry_ids(src) == [pid]
    assert [s["image"] for s in profile_state(src, pid)["slots"]][-1] == added[0]


def test_copy_leaves_out_slots_whose_image_is_missing(store_factory):
    src, dst = store_factory("local"), store_factory("memory")
    pid = make_profile(src, count=3)
    state = profile_state(src, pid)
    src.delete(f"{pid}/{state['slots'][1]['image']}")  # damage outside the pool's own operations
    copy_profile(src, pid, dst, new_id="trimmed1")
    copied = profile_state(dst, "trimmed1")
    assert [s["image"] for s in copied["slots"]] == [state["slots"][0]["image"], state["slots"][2]["image"]]
    assert copied["active"] == 1  # still the image that was active
    assert Registry(dst).get("trimmed1")["name"] == "characters_A"


def test_big_streamed_objects_go_one_at_a_time_on_the_calling_thread():
    import threading
    import time

    from poolstore._staging import run_bounded

    sizes = dict(enumerate([6, 6, 1, 1, 1, 7, 1, 1, 1, 1]))  # over 2 counts as big here
    lock, state, results, threads = threading.Lock(), {"big_now": 0, "big_peak": 0, "small_now": 0, "small_peak": 0}, [], {}

    def work(item):
        kind = "big" if sizes[item] > 2 else "small"
        threads[item] = threading.get_ident()
        with lock:
            state[f"{kind}_now"] += 1
            state[f"{kind}_peak"] = max(state[f"{kind}_peak"], state[f"{kind}_now"])
        time.sleep(0.03)  # let the others start meanwhile, if they are allowed to
        with lock:
            state[f"{kind}_now"] -= 1
        return sizes[item]

    run_bounded(list(sizes), work, max_workers=4, done=results.append, weight=sizes.__getitem__, big=2)
    assert sorted(results) == sorted(sizes.values())
    assert state["big_peak"] == 1 and state["small_peak"] > 1
    assert {threads[i] for i in sizes if sizes[i] > 2} == {threading.get_ident()}
    assert threading.get_ident() not in {threads[i] for i in sizes if sizes[i] <= 2}
