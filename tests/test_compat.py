"""A store written by hand in the existing layout reads correctly, and new
writes keep that schema (on every backend)."""

from __future__ import annotations

import json

import pytest

from support import decode, png_bytes

from poolstore import Pool, Registry, adopt_pool, find_orphans

PROFILE = "3f2b8c1e9a7d4e6f8b0c1d2e3f4a5b6c"
NODE_POOL = "0f8fad5b-d9cb-469f-a165-70867728950e"

REGISTRY = {"profiles": [{"id": PROFILE, "name": "characters_A", "created": 1718960000}]}
MANIFEST = {
    "active": 1,
    "next_seq": 3,
    "slots": [
        {"image": "img_0001.png", "mask": "img_0001.mask.png", "label": "hero", "added": 1718960000},
        {"image": "img_0002.png", "mask": None, "label": "", "added": 1718960100},
    ],
}
NODE_MANIFEST = {"active": 0, "next_seq": 2, "slots": [
    {"image": "img_0001.png", "mask": None, "label": "solo", "added": 1718000000},
]}


def dumps(doc) -> bytes:
    return json.dumps(doc, indent=2).encode()


@pytest.fixture
def old_store(store, raw):
    """The layout existing installs have: no profile.json, indent 2."""
    raw.write("profiles.json", dumps(REGISTRY))
    raw.write(f"{PROFILE}/manifest.json", dumps(MANIFEST))
    raw.write(f"{PROFILE}/img_0001.png", png_bytes(color=(255, 0, 0)))
    raw.write(f"{PROFILE}/img_0001.mask.png", png_bytes(mode="L", color=(255, 0, 0)))
    raw.write(f"{PROFILE}/img_0002.png", png_bytes(color=(0, 0, 255)))
    raw.write(f"{NODE_POOL}/manifest.json", dumps(NODE_MANIFEST))
    raw.write(f"{NODE_POOL}/img_0001.png", png_bytes(color=(0, 255, 0)))
    return store


def test_existing_registry_and_pools_read_as_written(old_store, raw):
    registry = Registry(old_store)
    assert registry.list() == REGISTRY["profiles"]
    assert registry.find("Characters_a")["id"] == PROFILE
    assert Pool(old_store, PROFILE).read() == MANIFEST
    assert Pool(old_store, NODE_POOL).read() == NODE_MANIFEST
    image = old_store.read(f"{PROFILE}/" + MANIFEST["slots"][0]["image"])
    assert decode(image).getpixel((0, 0)) == (255, 0, 0)


def test_existing_pools_are_not_orphans(old_store):
    assert find_orphans(old_store, min_age=-60) == []


def test_pool_writes_keep_the_schema(old_store, raw):
    pool = Pool(old_store, PROFILE)
    pool.set_label("img_0002.png", "villain")
    (added,) = pool.add([png_bytes()])
    assert added == "img_0003.png"
    doc = json.loads(raw.read(f"{PROFILE}/manifest.json"))
    assert set(doc) == {"active", "next_seq", "slots"}
    assert doc["active"] == 1 and doc["next_seq"] == 4
    assert all(set(s) == {"image", "mask", "label", "added"} for s in doc["slots"])
    assert doc["slots"][:2] == [MANIFEST["slots"][0], {**MANIFEST["slots"][1], "label": "villain"}]
    assert doc["slots"][2]["mask"] is None and isinstance(doc["slots"][2]["added"], int)


def test_new_mask_replaces_an_old_style_mask(old_store, raw):
    Pool(old_store, PROFILE).set_mask("img_0001.png", png_bytes(mode="L", color=(9, 0, 0)))
    doc = json.loads(raw.read(f"{PROFILE}/manifest.json"))
    new = doc["slots"][0]["mask"]
    assert new != "img_0001.mask.png" and new.startswith("img_0001.mask")
    assert f"{PROFILE}/img_0001.mask.png" not in raw.keys()
    assert decode(raw.read(f"{PROFILE}/{new}")).getpixel((0, 0)) == 9


def test_registry_writes_keep_the_schema(old_store, raw):
    registry = Registry(old_store)
    registry.create("b2", "backgrounds", created=1718970000)
    registry.rename(PROFILE, "characters_B")
    doc = json.loads(raw.read("profiles.json"))
    assert doc == {"profiles": [
        {"id": PROFILE, "name": "characters_B", "created": 1718960000},
        {"id": "b2", "name": "backgrounds", "created": 1718970000},
    ]}
    assert json.loads(raw.read(f"{PROFILE}/profile.json")) == {
        "id": PROFILE, "name": "characters_B", "created": 1718960000,
    }


def test_unknown_fields_survive_writes(store, raw):
    raw.write("profiles.json", dumps({"profiles": [{**REGISTRY["profiles"][0], "color": "red"}], "version": 1}))
    raw.write(f"{PROFILE}/manifest.json", dumps({**MANIFEST, "view": "grid", "slots": [
        {**MANIFEST["slots"][1], "seed": 42}]}))
    raw.write(f"{PROFILE}/img_0002.png", png_bytes())
    Pool(store, PROFILE).set_label(0, "x")
    Registry(store).create("b2", "Other")
    manifest = json.loads(raw.read(f"{PROFILE}/manifest.json"))
    assert manifest["view"] == "grid" and manifest["slots"][0]["seed"] == 42
    registry = json.loads(raw.read("profiles.json"))
    assert registry["version"] == 1 and registry["profiles"][0]["color"] == "red"


def test_an_existing_pool_can_be_adopted(old_store, raw):
    adopt_pool(old_store, NODE_POOL, "From a node")
    assert [e["id"] for e in Registry(old_store).list()] == [PROFILE, NODE_POOL]
    assert Pool(old_store, NODE_POOL).read() == NODE_MANIFEST
