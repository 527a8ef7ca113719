"""Export and import of portable profile zips, on every backend and backend pair."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile

import pytest
from archive_support import (
    FailingStore,
    WriteOnly,
    fail_on_object,
    make_profile,
    noise_png,
    profile_state,
    raw_of,
    registry_ids,
    zip_bytes,
)
from support import png_bytes

from poolstore import ConflictError, ProfileNotFoundError, Registry
from poolstore.archive import export_profile, import_profile, safe_zip_filename

KINDS = ["local", "memory", "s3"]


def export_bytes(store, pid, **kw) -> bytes:
    sink = WriteOnly()
    written = export_profile(store, pid, sink, **kw)
    assert written == len(sink.getvalue())
    return sink.getvalue()


@pytest.mark.parametrize("dst_kind", KINDS)
@pytest.mark.parametrize("src_kind", KINDS)
def test_round_trip_keeps_every_byte_mask_label_and_the_active_slot(store_factory, tmp_path, src_kind, dst_kind):
    src, dst = store_factory(src_kind), store_factory(dst_kind)
    pid = make_profile(src, "characters_A", count=4)
    path = tmp_path / "characters_A.zip"
    path.write_bytes(export_bytes(src, pid))

    entry = import_profile(dst, str(path), new_id="imported1")

    assert entry["id"] == "imported1" and entry["name"] == "characters_A"
    assert registry_ids(dst) == ["imported1"]
    assert profile_state(dst, "imported1") == profile_state(src, pid)
    meta = json.loads(raw_of(dst).read("imported1/profile.json"))
    assert meta["name"] == "characters_A" and meta["id"] == "imported1"


def test_export_has_exactly_the_documented_layout(store, tmp_path):
    pid = make_profile(store, "layout", count=3)
    data = export_bytes(store, pid)
    path = tmp_path / "layout.zip"
    path.write_bytes(data)
    manifest = json.loads(raw_of(store).read(f"{pid}/manifest.json"))
    objects = [n for s in manifest["slots"] for n in (s["image"], s["mask"]) if n]

    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        assert names == ["profile_meta.json", "pool/manifest.json", *[f"pool/{n}" for n in objects]]
        for info in zf.infolist():
            expected = zipfile.ZIP_DEFLATED if info.filename.endswith(".json") else zipfile.ZIP_STORED
            assert info.compress_type == expected
            assert info.flag_bits & 0x08  # streamed: sizes follow the data
        meta = json.loads(zf.read("profile_meta.json"))
        assert json.loads(zf.read("pool/manifest.json")) == manifest
        for n in objects:
            assert zf.read(f"pool/{n}") == raw_of(store).read(f"{pid}/{n}")
    assert meta["name"] == "layout" and meta["format"] == 1 and meta["id"] == pid
    assert meta["count"] == 3 and isinstance(meta["created"], int) and isinstance(meta["exported"], int)
    assert subprocess.run(["unzip", "-tq", str(path)], capture_output=True).returncode == 0
    assert subprocess.run(["7z", "t", str(path)], capture_output=True).returncode == 0


def test_export_unpacks_into_the_layout_an_older_reader_expects(store, tmp_path):
    """The older implementation extracted ``pool/`` into ``<root>/<id>/``."""
    pid = make_profile(store, "old reader", count=2)
    path = tmp_path / "p.zip"
    path.write_bytes(export_bytes(store, pid))
    out = tmp_path / "unpacked"
    subprocess.run(["unzip", "-q", str(path), "-d", str(out)], check=True)
    manifest = json.loads((out / "pool" / "manifest.json").read_text())
    for s in manifest["slots"]:
        assert (out / "pool" / s["image"]).read_bytes() == raw_of(store).read(f"{pid}/{s['image']}")
    assert json.loads((out / "profile_meta.json").read_text())["name"] == "old reader"


_ZIP_TOOLS = {
    "zip": lambda out, dst: ["zip", "-q", "-r", str(dst), "."],
    "zip-to-a-pipe": lambda out, dst: ["sh", "-c", f'zip -q -r - . > "{dst}"'],  # data descriptors
    "7z": lambda out, dst: ["7z", "a", "-tzip", "-bd", "-bso0", str(dst), "."],
}


@pytest.mark.parametrize("tool", sorted(_ZIP_TOOLS))
def test_an_export_zipped_again_by_another_tool_imports_the_same(store, tmp_path, tool):
    """Real zips from Info-ZIP and 7-Zip (folder entries, deflated images, data
    descriptors) pass the layout and image checks and import byte for byte."""
    pid = make_profile(store, "made elsewhere", count=2)
    exported = tmp_path / "p.zip"
    exported.write_bytes(export_bytes(store, pid))
    out, again = tmp_path / "unpacked", tmp_path / "again.zip"
    subprocess.run(["unzip", "-q", str(exported), "-d", str(out)], check=True)
    subprocess.run(_ZIP_TOOLS[tool](out, again), cwd=out, check=True)
    entry = import_profile(store, str(again), new_id="again1", name="again")
    assert profile_state(store, entry["id"]) == profile_state(store, pid)


def test_export_leaves_out_objects_the_manifest_does_not_name(store):
    pid = make_profile(store, count=2)
    raw_of(store).write(f"{pid}/img_0099.png", png_bytes())
    with zipfile.ZipFile(io.BytesIO(export_bytes(store, pid))) as zf:
        assert "pool/img_0099.png" not in zf.namelist()
        assert len([n for n in zf.namelist() if n.endswith(".png")]) == 3  # 2 images, the mask of slot 0


def test_export_of_an_unknown_profile_is_not_found(store):
    sink = WriteOnly()
    with pytest.raises(ProfileNotFoundError):
        export_profile(store, "nosuchprofile", sink)
    assert sink.getvalue() == b""


def test_failed_export_leaves_no_readable_zip(store):
    pid = make_profile(store, count=3)
    failing = FailingStore(store, lambda key, n: False)
    reads = []

    def open_read(key):
        reads.append(key)
        if len(reads) == 2:
            raise OSError("injected read failure")
        return store.open_read(key)

    failing.open_read = open_read
    sink = WriteOnly()
    with pytest.raises(OSError, match="injected"):
        export_profile(failing, pid, sink)
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(sink.getvalue()))


def _legacy_zip(name: str | None = "legacy", manifest: bool = True) -> tuple[bytes, bytes, bytes]:
    """A zip as the older implementation wrote it: deflated throughout, a
    folder entry, ``profile_meta.json`` with just name and format."""
    image, mask = noise_png((20, 10), seed=7), png_bytes((20, 10), (255, 255, 255), mode="L")
    doc = {"active": 1, "next_seq": 3, "slots": [
        {"image": "img_0001.png", "mask": "img_0001.mask.png", "label": "hero", "added": 1718960000},
        {"image": "img_0002.png", "mask": None, "label": "villain", "added": 1718960001},
    ]}
    entries = []
    if name is not None:
        entries.append(("profile_meta.json", json.dumps({"name": name, "format": 1}).encode()))
    entries.append(("pool/", b""))
    if manifest:
        entries.append(("pool/manifest.json", json.dumps(doc).encode()))
    entries += [("pool/img_0001.png", image), ("pool/img_0001.mask.png", mask), ("pool/img_0002.png", noise_png(seed=8))]
    return zip_bytes(entries, zipfile.ZIP_DEFLATED), image, mask


def test_a_zip_in_the_existing_format_imports(store, tmp_path):
    data, image, mask = _legacy_zip()
    path = tmp_path / "whatever.zip"
    path.write_bytes(data)
    entry = import_profile(store, str(path), new_id="legacy1")
    assert entry["name"] == "legacy"
    state = profile_state(store, "legacy1")
    assert state["active"] == 1
    assert [s["label"] for s in state["slots"]] == ["hero", "villain"]
    assert state["slots"][0]["bytes"] == image and state["slots"][0]["mask"] == mask
    assert state["slots"][1]["mask"] is None


def test_without_profile_meta_the_name_comes_from_the_caller_or_the_file(store, tmp_path):
    data, _, _ = _legacy_zip(name=None)
    path = tmp_path / "from_old_machine.zip"
    path.write_bytes(data)
    assert import_profile(store, str(path), new_id="a1")["name"] == "from_old_machine"
    assert import_profile(store, str(path), new_id="a2", name="chosen")["name"] == "chosen"
    with open(path, "rb") as f:
        assert import_profile(store, f, new_id="a3")["name"] == "Imported profile"
    assert sorted(registry_ids(store)) == ["a1", "a2", "a3"]


def test_without_a_manifest_it_is_rebuilt_from_the_images(store, tmp_path):
    data, image, mask = _legacy_zip(manifest=False)
    entry = import_profile(store, io.BytesIO(data), new_id="rebuilt1")
    state = profile_state(store, entry["id"])
    assert [s["image"] for s in state["slots"]] == ["img_0001.png", "img_0002.png"]
    assert state["slots"][0]["bytes"] == image and state["slots"][0]["mask"] == mask
    assert state["slots"][1]["mask"] is None


def test_import_name_collision_becomes_name_2(store):
    pid = make_profile(store, "characters_A", count=1)
    data = export_bytes(store, pid)
    entry = import_profile(store, io.BytesIO(data), new_id="second1")
    assert entry["name"] == "characters_A (2)"
    assert json.loads(raw_of(store).read("second1/profile.json"))["name"] == "characters_A (2)"
    assert [e["name"] for e in Registry(store).list()] == ["characters_A", "characters_A (2)"]


def test_import_into_an_id_in_use_is_refused_and_changes_nothing(store):
    pid = make_profile(store, count=1)
    data = export_bytes(store, pid)
    before = {k: raw_of(store).read(k) for k in raw_of(store).visible_keys()}
    with pytest.raises(ConflictError):
        import_profile(store, io.BytesIO(data), new_id=pid)
    assert {k: raw_of(store).read(k) for k in raw_of(store).visible_keys()} == before


def test_progress_counts_files_and_bytes_on_export_and_import(store):
    pid = make_profile(store, count=3)
    manifest = json.loads(raw_of(store).read(f"{pid}/manifest.json"))
    names = [n for s in manifest["slots"] for n in (s["image"], s["mask"]) if n]
    total = sum(len(raw_of(store).read(f"{pid}/{n}")) for n in names)
    seen_export, seen_import = [], []
    data = export_bytes(store, pid, progress=lambda *a: seen_export.append(a))
    import_profile(store, io.BytesIO(data), new_id="prog1", progress=lambda *a: seen_import.append(a))
    for seen in (seen_export, seen_import):
        assert seen[0] == (0, len(names), 0, total)
        assert seen[-1] == (len(names), len(names), total, total)
        assert [s[0] for s in seen] == sorted(s[0] for s in seen)


def _stop_after_two(files_done, *_):
    if files_done == 2:
        raise KeyboardInterrupt


INTERRUPTIONS = {
    "first-object-write-fails": (lambda s: FailingStore(s, fail_on_object(1)), {}, OSError),
    "third-object-write-fails": (lambda s: FailingStore(s, fail_on_object(3)), {}, OSError),
    "progress-callback-stops-it": (lambda s: s, {"progress": _stop_after_two}, KeyboardInterrupt),
    "registry-commit-fails": (lambda s: FailingStore(s, lambda key, n: key == "profiles.json"), {}, OSError),
}


@pytest.mark.parametrize("how", list(INTERRUPTIONS))
def test_import_interrupted_midway_leaves_nothing(store, how):
    wrap, options, error = INTERRUPTIONS[how]
    pid = make_profile(store, count=3)
    data = export_bytes(store, pid)
    raw = raw_of(store)
    before = raw.keys()
    with pytest.raises(error):
        import_profile(wrap(store), io.BytesIO(data), new_id="broken1", max_workers=2, **options)
    assert raw.keys() == before
    assert registry_ids(store) == [pid]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("characters_A", "characters_A.zip"),
        ('a "quoted"/name\\x', "a _quoted_name_x.zip"),
        ("line\r\nbreak", "line_break.zip"),
        ("..", "profile.zip"),
        ("Ünïcødé", "Ünïcødé.zip"),
    ],
)
def test_safe_zip_filename(name, expected):
    assert safe_zip_filename(name) == expected


def test_an_empty_profile_round_trips(store):
    pid = Registry(store).create("empty0", "nothing yet")["id"]
    data = export_bytes(store, pid)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.namelist() == ["profile_meta.json", "pool/manifest.json"]
    entry = import_profile(store, io.BytesIO(data), new_id="empty1")
    assert entry["name"] == "nothing yet (2)"
    assert json.loads(raw_of(store).read("empty1/manifest.json"))["slots"] == []


def test_jpeg_and_webp_images_keep_their_bytes(store):
    from PIL import Image

    from poolstore import Pool

    pid = Registry(store).create("formats0", "formats")["id"]
    blobs = []
    for fmt in ("JPEG", "WEBP"):
        buf = io.BytesIO()
        Image.new("RGB", (20, 20), (10, 200, 30)).save(buf, format=fmt)
        blobs.append(buf.getvalue())
    names = Pool(store, pid).add(blobs)
    assert [n.rsplit(".", 1)[1] for n in names] == ["jpg", "webp"]
    entry = import_profile(store, io.BytesIO(export_bytes(store, pid)), new_id="formats1")
    assert [s["bytes"] for s in profile_state(store, entry["id"])["slots"]] == blobs
