"""Hostile ids and names are refused with an InvalidInputError and change
nothing, on every backend. Every traversal aims at a sentinel folder inside
the test's tmp_path, which must survive; nothing outside the store's root (or
inside it) may change."""

from __future__ import annotations

import pytest

from support import png_bytes

from poolstore import (
    InvalidIdError,
    InvalidInputError,
    InvalidNameError,
    Pool,
    Registry,
    adopt_pool,
    copy_profile,
    parse_qualified,
    seed_profile,
)



def hostile_ids(tmp_path):
    return [
        "../x",
        "../sentinel",
        "..",
        ".",
        "a/../../sentinel",
        str(tmp_path / "sentinel"),
        "/sentinel",
        "",
        " ",
        "x" * 10_240,
        "a" * 65,
        "a\x00b",
        "a\nb",
        "a\rb",
        "a\tb",
        "a\x1bb",
        "a\x7fb",
        "team:../x",
        "team:../sentinel",
        "..\\sentinel",
        "a b",
        "-leading-dash",
        "_leading",
        "ünïcode",
        "a.b",
        "a%2F..%2Fsentinel",
        None,
        5,
        ["a1"],
    ]


HOSTILE_NAMES = ["", "   ", "x" * 10_240, "x" * 121, "a\x00b", "bad\nname", "tab\x0bname", "esc\x1b[31m", "del\x7f",
                 "c1\x85control", "line\u2028sep", "bidi\u202eoverride", None, 7, ["list"]]


@pytest.fixture
def seeded(store):
    registry = Registry(store)
    registry.create("a1", "Existing")
    Pool(store, "a1").add([png_bytes()])
    Pool(store, "node5").add([png_bytes()])
    return registry


def _calls_with_id(store, registry, bad):
    return [
        lambda: Pool(store, bad),
        lambda: registry.create(bad, "New profile"),
        lambda: registry.rename(bad, "Other"),
        lambda: registry.delete(bad),
        lambda: registry.get(bad),
        lambda: copy_profile(store, "a1", store, new_id=bad, name="Copy"),
        lambda: copy_profile(store, bad, store, new_id="c3", name="Copy"),
        lambda: seed_profile(store, bad, store, "a1"),
        lambda: seed_profile(store, "node5", store, bad),
        lambda: adopt_pool(store, bad, "Adopted"),
        lambda: parse_qualified(bad),
    ]


def test_hostile_ids_are_rejected_and_nothing_changes(store, raw, seeded, tmp_path, sentinel):
    before = raw.universe(), {k: raw.read(k) for k in raw.keys()}
    for bad in hostile_ids(tmp_path):
        for call in _calls_with_id(store, seeded, bad):
            with pytest.raises(InvalidInputError) as info:
                call()
            assert isinstance(info.value, (InvalidIdError, InvalidNameError)), (bad, info.value)
    assert (raw.universe(), {k: raw.read(k) for k in raw.keys()}) == before
    assert (sentinel / "keep.txt").read_bytes() == b"keep me"


def test_hostile_names_are_rejected_and_nothing_changes(store, raw, seeded, sentinel):
    before = raw.universe(), {k: raw.read(k) for k in raw.keys()}
    for bad in HOSTILE_NAMES:
        calls = [
            lambda: seeded.create("b2", bad),
            lambda: seeded.rename("a1", bad),
            lambda: adopt_pool(store, "node5", bad),
        ]
        if bad is not None:  # a copy without a name keeps the source's
            calls.append(lambda: copy_profile(store, "a1", store, new_id="c3", name=bad))
        for call in calls:
            with pytest.raises(InvalidNameError):
                call()
    assert (raw.universe(), {k: raw.read(k) for k in raw.keys()}) == before
    assert (sentinel / "keep.txt").read_bytes() == b"keep me"


@pytest.mark.parametrize("bad", ["../sentinel/keep.txt", "/abs.png", "a/b.png", "", "..", "img\x00.png"])
def test_hostile_slot_names_are_not_found_and_change_nothing(store, raw, sentinel, bad):
    pool = Pool(store, "p1")
    pool.add([png_bytes()])
    before = raw.universe(), {k: raw.read(k) for k in raw.keys()}
    for call in [pool.remove, pool.set_active, lambda s: pool.set_label(s, "x"), lambda s: pool.set_mask(s, None)]:
        with pytest.raises(FileNotFoundError):
            call(bad)
    assert (raw.universe(), {k: raw.read(k) for k in raw.keys()}) == before
    assert (sentinel / "keep.txt").read_bytes() == b"keep me"


def test_valid_ids_and_names_still_work(store, raw):
    registry = Registry(store)
    for ident in ["default", "a", "A1", "0f8fad5b-d9cb-469f-a165-70867728950e", "0f8fad5bd9cb469fa16570867728950e",
                  "x" * 64, "a_b-c"]:
        registry.create(ident, f"Name {ident[:20]} ✓ ünïcode")
    assert len(registry.list()) == 7
    assert parse_qualified("team:a1") == ("team", "a1")
    assert parse_qualified("a1") == (None, "a1")
