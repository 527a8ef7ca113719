"""Pool behaviour on every backend; results checked on the raw objects."""

from __future__ import annotations

import json

import pytest

from support import decode, image_bytes, png_bytes

import poolstore.images
from poolstore import ConflictError, InvalidImageError, InvalidInputError, Pool, SlotNotFoundError, TooLargeError


@pytest.fixture
def pool(store):
    return Pool(store, "p1")


def manifest(raw, pool_id="p1"):
    return json.loads(raw.read(f"{pool_id}/manifest.json"))


def add3(pool):
    return pool.add([png_bytes(color=(i * 60, 0, 0)) for i in range(1, 4)], labels=["a", "b", "c"])


# -- adding ------------------------------------------------------------------------
def test_add_stores_images_and_commits_the_manifest(pool, raw):
    names = add3(pool)
    assert names == ["img_0001.png", "img_0002.png", "img_0003.png"]
    doc = manifest(raw)
    assert [s["image"] for s in doc["slots"]] == names
    assert [s["label"] for s in doc["slots"]] == ["a", "b", "c"]
    assert all(s["mask"] is None and s["added"] > 0 for s in doc["slots"])
    assert doc["next_seq"] == 4 and doc["active"] == 0
    assert decode(raw.read("p1/img_0002.png")).getpixel((0, 0)) == (120, 0, 0)


@pytest.mark.parametrize("fmt, ext", [("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp")])
def test_kept_formats_are_stored_as_uploaded(pool, raw, fmt, ext):
    data = image_bytes(fmt)
    (name,) = pool.add([data])
    assert name == f"img_0001.{ext}"
    assert raw.read(f"p1/{name}") == data


@pytest.mark.parametrize("fmt", ["BMP", "GIF", "TIFF", "ICO", "PPM"])
def test_other_formats_are_refused_and_nothing_is_written(pool, raw, fmt):
    with pytest.raises(InvalidImageError, match="PNG, JPEG or WebP"):
        pool.add([image_bytes(fmt, size=(5, 4))])
    assert raw.keys() == set()


@pytest.mark.parametrize(
    "bad",
    [b"", b"not an image at all", png_bytes()[:40], b"GIF89a" + b"\x00" * 20, b"%PDF-1.4 fake"],
)
def test_non_images_are_rejected_and_nothing_is_written(pool, raw, bad):
    pool.add([png_bytes()])
    before = raw.keys()
    with pytest.raises(InvalidImageError):
        pool.add([png_bytes(), bad])
    assert raw.keys() == before
    assert len(manifest(raw)["slots"]) == 1


def test_byte_limit_is_too_large_and_nothing_is_written(pool, raw, monkeypatch):
    data = png_bytes(size=(64, 64))
    monkeypatch.setattr(poolstore.images, "MAX_IMAGE_BYTES", len(data) - 1)
    with pytest.raises(TooLargeError):
        pool.add([data])
    assert raw.visible_keys() == set()


def test_pixel_limit_is_too_large_and_nothing_is_written(pool, raw, monkeypatch):
    monkeypatch.setattr(poolstore.images, "MAX_PIXELS", 100)
    with pytest.raises(TooLargeError):
        pool.add([png_bytes(size=(11, 10))])
    assert raw.visible_keys() == set()
    pool.add([png_bytes(size=(10, 10))])
    before = raw.keys(), raw.read("p1/manifest.json")
    with pytest.raises(TooLargeError):
        pool.set_mask(0, png_bytes(size=(11, 10), mode="L"))
    assert (raw.keys(), raw.read("p1/manifest.json")) == before


def test_bad_label_is_rejected_before_anything_is_written(pool, raw):
    with pytest.raises(InvalidInputError):
        pool.add([png_bytes()], labels=["bad\x00label"])
    assert raw.visible_keys() == set()


def test_add_never_overwrites_an_existing_object(pool, raw):
    raw.write("p1/img_0001.png", b"a stray object nobody named")
    (name,) = pool.add([png_bytes()])
    assert name == "img_0002.png"
    assert raw.read("p1/img_0001.png") == b"a stray object nobody named"


def test_names_are_not_reused_after_remove(pool, raw):
    add3(pool)
    pool.remove("img_0003.png")
    (name,) = pool.add([png_bytes()])
    assert name == "img_0004.png"


def test_failed_commit_removes_the_new_objects(pool, raw, monkeypatch):
    add3(pool)
    before = raw.keys()

    def fail(fn):
        raise OSError("network down")

    monkeypatch.setattr(pool, "update", fail)
    with pytest.raises(OSError):
        pool.add([png_bytes(), png_bytes()])
    assert raw.keys() == before


def test_error_after_a_stored_commit_keeps_the_objects(pool, raw, monkeypatch):
    """A server may answer an error after it stored the write: the objects the
    manifest now names must not be deleted."""
    add3(pool)
    real_update = Pool.update

    def stored_then_failed(fn):
        real_update(pool, fn)
        raise OSError("connection reset after the write")

    monkeypatch.setattr(pool, "update", stored_then_failed)
    with pytest.raises(OSError):
        pool.add([png_bytes()])
    doc = manifest(raw)
    assert [s["image"] for s in doc["slots"]][-1] == "img_0004.png"
    assert "p1/img_0004.png" in raw.keys()


# -- changing slots by index and by image key ----------------------------------------
@pytest.mark.parametrize("slot", [1, "img_0002.png"])
def test_remove_deletes_slot_then_objects(pool, raw, slot):
    add3(pool)
    pool.set_mask("img_0002.png", png_bytes(mode="L", color=(255, 0, 0)))
    pool.set_active(2)
    pool.remove(slot)
    doc = manifest(raw)
    assert [s["image"] for s in doc["slots"]] == ["img_0001.png", "img_0003.png"]
    assert doc["active"] == 1  # still img_0003
    assert not any(k.startswith("p1/img_0002") for k in raw.keys())


def test_remove_the_last_slot_keeps_active_in_range(pool, raw):
    add3(pool)
    pool.set_active(2)
    pool.remove(2)
    assert manifest(raw)["active"] == 1
    pool.remove(0)
    pool.remove(0)
    assert manifest(raw)["slots"] == [] and manifest(raw)["active"] == 0


@pytest.mark.parametrize("slot", [2, "img_0003.png"])
def test_set_active(pool, raw, slot):
    add3(pool)
    pool.set_active(slot)
    assert manifest(raw)["active"] == 2


@pytest.mark.parametrize("slot", [3, -1, "img_0009.png", "../p2/img_0001.png"])
def test_unknown_slots_are_not_found_and_change_nothing(pool, raw, slot):
    add3(pool)
    before = raw.read("p1/manifest.json")
    for op in [pool.set_active, pool.remove, lambda s: pool.set_label(s, "x"), lambda s: pool.set_mask(s, png_bytes())]:
        with pytest.raises(SlotNotFoundError):
            op(slot)
    assert raw.read("p1/manifest.json") == before
    assert not any(".mask" in k for k in raw.keys())


@pytest.mark.parametrize("slot", [True, 1.0, None, ["img_0001.png"]])
def test_slot_of_the_wrong_type_is_invalid(pool, slot):
    add3(pool)
    with pytest.raises(InvalidInputError):
        pool.set_active(slot)


@pytest.mark.parametrize("slot", [0, "img_0001.png"])
def test_set_label(pool, raw, slot):
    add3(pool)
    pool.set_label(slot, "hero shot\tv2 ✓")
    assert manifest(raw)["slots"][0]["label"] == "hero shot\tv2 ✓"
    for bad in ["a\nb", "x" * 501, 5]:
        with pytest.raises(InvalidInputError):
            pool.set_label(slot, bad)
    assert manifest(raw)["slots"][0]["label"] == "hero shot\tv2 ✓"


def test_reorder_by_index_and_by_key_keeps_the_active_image(pool, raw):
    add3(pool)
    pool.set_active("img_0001.png")
    pool.reorder([2, 0, 1])
    doc = manifest(raw)
    assert [s["image"] for s in doc["slots"]] == ["img_0003.png", "img_0001.png", "img_0002.png"]
    assert [s["label"] for s in doc["slots"]] == ["c", "a", "b"]
    assert doc["active"] == 1
    pool.reorder(["img_0001.png", "img_0002.png", "img_0003.png"])
    assert [s["image"] for s in manifest(raw)["slots"]] == ["img_0001.png", "img_0002.png", "img_0003.png"]
    assert manifest(raw)["active"] == 0


def test_reorder_that_misses_a_new_slot_is_a_conflict(pool, raw):
    """An order made before a teammate's add names only the older slots."""
    add3(pool)
    before = raw.read("p1/manifest.json")
    with pytest.raises(ConflictError):
        pool.reorder([2, 1])
    with pytest.raises(ConflictError):
        pool.reorder(["img_0003.png", "img_0001.png"])
    assert raw.read("p1/manifest.json") == before


@pytest.mark.parametrize("order", [[], [0, 0, 1], [0, 1, 2, 2], "012", [0, 1, "img_0001.png"]])
def test_reorder_must_name_every_slot_once(pool, raw, order):
    add3(pool)
    before = raw.read("p1/manifest.json")
    with pytest.raises(InvalidInputError):
        pool.reorder(order)
    assert raw.read("p1/manifest.json") == before


# -- masks ---------------------------------------------------------------------------
def test_set_mask_writes_a_new_object_and_removes_the_old_after_commit(pool, raw):
    add3(pool)
    pool.set_mask("img_0002.png", png_bytes(mode="L", color=(255, 0, 0)))
    first = manifest(raw)["slots"][1]["mask"]
    assert first.startswith("img_0002.mask") and first.endswith(".png")
    assert decode(raw.read(f"p1/{first}")).getpixel((0, 0)) == 255
    pool.set_mask(1, png_bytes(mode="L", color=(128, 0, 0)))
    second = manifest(raw)["slots"][1]["mask"]
    assert second != first
    assert decode(raw.read(f"p1/{second}")).getpixel((0, 0)) == 128
    assert f"p1/{first}" not in raw.keys()
    pool.set_mask(1, None)
    assert manifest(raw)["slots"][1]["mask"] is None
    assert not any(".mask" in k for k in raw.keys())


def test_mask_in_another_format_is_stored_as_png(pool, raw):
    add3(pool)
    pool.set_mask(0, image_bytes("JPEG"))
    mask = manifest(raw)["slots"][0]["mask"]
    assert decode(raw.read(f"p1/{mask}")).format == "PNG"


def test_bad_mask_is_rejected_and_nothing_is_written(pool, raw):
    add3(pool)
    before = raw.keys(), raw.read("p1/manifest.json")
    with pytest.raises(InvalidImageError):
        pool.set_mask(0, b"not a png")
    assert (raw.keys(), raw.read("p1/manifest.json")) == before


def test_failed_mask_commit_removes_the_new_mask(pool, raw, monkeypatch):
    add3(pool)
    before = raw.keys()
    monkeypatch.setattr(pool, "update", lambda fn: (_ for _ in ()).throw(OSError("down")))
    with pytest.raises(OSError):
        pool.set_mask(0, png_bytes())
    assert raw.keys() == before


# -- missing, corrupt, rebuilt -------------------------------------------------------
def test_missing_manifest_reads_empty(pool, raw):
    assert pool.read() == {"active": 0, "next_seq": 1, "slots": []}
    assert not pool.exists()
    assert raw.visible_keys() == set()


@pytest.mark.parametrize("junk", [b"{not json", b"[1, 2]", b'{"slots": 5}', b"\xff\xfe"])
def test_corrupt_manifest_reads_as_rebuilt_from_objects(pool, raw, junk):
    add3(pool)
    pool.set_mask(1, png_bytes(mode="L"))
    mask = manifest(raw)["slots"][1]["mask"]
    raw.write("p1/manifest.json", junk)
    doc = pool.read()
    assert [s["image"] for s in doc["slots"]] == ["img_0001.png", "img_0002.png", "img_0003.png"]
    assert doc["slots"][1]["mask"] == mask
    assert doc["next_seq"] == 4
    assert raw.read("p1/manifest.json") == junk  # reading repairs nothing


def test_change_on_a_corrupt_manifest_commits_the_rebuilt_one(pool, raw):
    add3(pool)
    raw.write("p1/manifest.json", b"garbage")
    pool.set_label("img_0003.png", "back")
    doc = manifest(raw)
    assert [s["image"] for s in doc["slots"]] == ["img_0001.png", "img_0002.png", "img_0003.png"]
    assert doc["slots"][2]["label"] == "back"


def test_unsafe_slot_names_in_a_manifest_are_dropped(pool, raw):
    raw.write("p1/img_0001.png", png_bytes())
    raw.write(
        "p1/manifest.json",
        json.dumps({"active": 7, "slots": [
            {"image": "../p2/img_0001.png"}, {"image": "/abs.png"}, {"image": "img_0001.png", "mask": "../x.png"},
            {"image": "img_0001.png"},
        ]}).encode(),
    )
    doc = pool.read()
    assert [s["image"] for s in doc["slots"]] == ["img_0001.png"]
    assert doc["slots"][0]["mask"] is None and doc["active"] == 0


def test_rebuild_keeps_labels_drops_missing_and_adds_unnamed(pool, raw):
    add3(pool)
    raw.write("p1/img_0007.jpg", image_bytes("JPEG"))
    pool.store.delete("p1/img_0002.png")
    doc = pool.rebuild()
    assert [s["image"] for s in doc["slots"]] == ["img_0001.png", "img_0003.png", "img_0007.jpg"]
    assert [s["label"] for s in doc["slots"]] == ["a", "c", ""]
    assert manifest(raw) == doc
    assert doc["next_seq"] == 8


def test_rebuild_from_nothing_but_objects(pool, raw):
    raw.write("p1/img_0002.png", png_bytes())
    raw.write("p1/img_0002.mask.png", png_bytes(mode="L"))
    raw.write("p1/img_0001.webp", image_bytes("WEBP"))
    raw.write("p1/notes.txt", b"not an image")
    doc = pool.rebuild()
    assert [(s["image"], s["mask"]) for s in doc["slots"]] == [
        ("img_0001.webp", None),
        ("img_0002.png", "img_0002.mask.png"),
    ]
    assert manifest(raw) == doc


def test_a_real_decompression_bomb_is_too_large(store_factory):
    """A tiny file that would decode to 100 million pixels (no limit patched)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(buf, format="PNG")
    assert len(buf.getvalue()) < 100_000
    store = store_factory("memory")
    with pytest.raises(TooLargeError):
        Pool(store, "p1").add([buf.getvalue()])
    assert store.list() == []
