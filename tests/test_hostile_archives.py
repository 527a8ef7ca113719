"""Hostile or broken archives are rejected with a clear error, and nothing is written.

Every traversal aims at a sentinel folder inside the test's ``tmp_path``; the
tests check that it survives, that the store's raw keys are unchanged, that
no file appeared anywhere under ``tmp_path``, and that no registry entry exists.
"""

from __future__ import annotations

import io
import json
import os
import stat
import struct
import zipfile
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from archive_support import files_under, make_profile, noise_png, raw_of, registry_ids, zip_bytes
from support import image_bytes, png_bytes

from poolstore import InvalidArchiveError, InvalidInputError, TooLargeError
from poolstore.archive import ArchiveLimits, export_profile, import_profile
from poolstore.images import MAX_IMAGE_BYTES

PNG = png_bytes()


def _bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _symlink_entry(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


def _deflated(name: str, data: bytes) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info, data


def _with_header_sizes(data: bytes, name: str, size: int) -> bytes:
    """``data`` with the uncompressed size of entry ``name`` rewritten in both
    of its headers: a zip whose headers lie about what it inflates to."""
    out = bytearray(data)
    # (signature, offset of the name length, of the name, of the uncompressed size)
    for sig, len_at, name_at, size_at in ((b"PK\x03\x04", 26, 30, 22), (b"PK\x01\x02", 28, 46, 24)):
        at = out.find(sig)
        while at != -1:
            nlen = struct.unpack_from("<H", out, at + len_at)[0]
            if out[at + name_at: at + name_at + nlen] == name.encode():
                struct.pack_into("<I", out, at + size_at, size)
            at = out.find(sig, at + 4)
    return bytes(out)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _local_entry(name: bytes, data: bytes) -> bytes:
    """A stored entry's local header followed by its data."""
    sizes = (zlib.crc32(data), len(data), len(data))
    return struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 0, 0, 0, *sizes, len(name), 0) + name + data


def _central_entry(name: bytes, data: bytes, offset: int) -> bytes:
    sizes = (zlib.crc32(data), len(data), len(data))
    fields = (b"PK\x01\x02", 20, 20, 0, 0, 0, 0, *sizes, len(name), 0, 0, 0, 0, 0o100644 << 16, offset)
    return struct.pack("<4s6H3I5HII", *fields) + name


def _overlapping_zip() -> bytes:
    """Two stored images where the first one's data holds the second entry
    whole (inside a private PNG chunk): both valid, their bytes counted twice."""
    inner_name, outer_name = b"pool/img_0002.png", b"pool/img_0001.png"
    inner = noise_png((16, 16), seed=5)
    nested = _local_entry(inner_name, inner)
    head = PNG[:33]  # signature and IHDR
    outer = head + _png_chunk(b"ovLp", nested) + PNG[33:]
    body = _local_entry(outer_name, outer)
    inner_at = len(body) - len(outer) + len(head) + 8  # after the chunk's length and type
    directory = _central_entry(outer_name, outer, 0) + _central_entry(inner_name, inner, inner_at)
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, 2, 2, len(directory), len(body), 0)
    return body + directory + end


def _local_header_patched(data: bytes, at: int, value: bytes) -> bytes:
    """``data`` with bytes at offset ``at`` of the last entry's local header replaced:
    a zip whose local header and central directory tell two stories."""
    out = bytearray(data)
    header = out.rfind(b"PK\x03\x04")
    out[header + at: header + at + len(value)] = value
    return bytes(out)


def _central_offset_patched(data: bytes, offset: int) -> bytes:
    """``data`` with the last directory entry's local header offset set to ``offset``."""
    out = bytearray(data)
    struct.pack_into("<I", out, out.rfind(b"PK\x01\x02") + 42, offset)
    return bytes(out)


def _amplifying_zip() -> bytes:
    """Images each followed by megabytes of zeros, deflated: every entry under
    the per-entry ratio, the whole archive a small file that unpacks to 24 MiB."""
    entries = []
    for i in range(4):
        image = noise_png((256, 128), seed=i)
        entries.append(_deflated(f"pool/img_{i + 1:04d}.png", image + b"\0" * (6 * 1024 * 1024 - len(image))))
    return zip_bytes([_meta(), *entries])


def _meta() -> tuple[str, bytes]:
    return "profile_meta.json", json.dumps({"name": "hostile", "format": 1}).encode()


def _cases(tmp_path):
    sentinel = tmp_path / "sentinel"
    many = lambda: [(f"pool/img_{i:05d}.png", b"x") for i in range(10_000)]  # noqa: E731 - built only when used
    zeros = b"\0" * (MAX_IMAGE_BYTES + 1024)
    manifest_bomb = b"{" + b" " * (5 * 1024 * 1024) + b'"slots": []}'
    lying = zip_bytes([_meta(), _deflated("pool/img_0001.png", PNG + b"\0" * 4096)])
    return {
        "dotdot-in-pool": (zip_bytes([_meta(), ("pool/../../sentinel/evil.png", PNG)]), InvalidArchiveError, "unsafe path"),
        "dotdot-at-top": (zip_bytes([_meta(), ("../../sentinel/evil.png", PNG)]), InvalidArchiveError, "unsafe path"),
        "absolute": (zip_bytes([_meta(), (str(sentinel / "abs.png"), PNG)]), InvalidArchiveError, "unsafe path"),
        "backslash": (zip_bytes([_meta(), ("pool\\..\\..\\sentinel\\evil.png", PNG)]), InvalidArchiveError, "unsafe path"),
        "drive-letter": (zip_bytes([_meta(), ("C:/sentinel/evil.png", PNG)]), InvalidArchiveError, "unsafe path"),
        "symlink": (
            zip_bytes([_meta(), _symlink_entry("pool/img_0001.png", str(sentinel / "keep.txt"))]),
            InvalidArchiveError,
            "link",
        ),
        "10000-tiny-entries": (lambda: zip_bytes([_meta(), *many()]), TooLargeError, "10,001 entries"),
        "inflates-past-the-cap": (
            lambda: zip_bytes([_meta(), _deflated("pool/img_0001.png", zeros)]),
            TooLargeError,
            "img_0001.png",
        ),
        "headers-understate-the-size": (
            _with_header_sizes(lying, "pool/img_0001.png", 10),
            InvalidArchiveError,
            "damaged",
        ),
        "json-zip-bomb": (
            zip_bytes([_meta(), _deflated("pool/manifest.json", manifest_bomb)]),
            TooLargeError,
            "suspiciously well",
        ),
        "truncated": (None, InvalidArchiveError, "zip"),
        "not-a-zip": (b"this is not a zip file at all", InvalidArchiveError, "not a zip"),
        "non-image-named-png": (zip_bytes([_meta(), ("pool/img_0001.png", b"#!/bin/sh\necho hi\n")]), InvalidArchiveError, "not a readable image"),
        "truncated-png": (zip_bytes([_meta(), ("pool/img_0001.png", noise_png((64, 64))[:300])]), InvalidArchiveError, "damaged or truncated"),
        "decompression-bomb-png": (zip_bytes([_meta(), ("pool/img_0001.png", _bomb_png())]), TooLargeError, "pixel"),
        "unexpected-file-type": (zip_bytes([_meta(), ("pool/run.sh", b"echo hi")]), InvalidArchiveError, "unexpected file"),
        "nested-folder": (zip_bytes([_meta(), ("pool/sub/img_0001.png", PNG)]), InvalidArchiveError, "unexpected"),
        "duplicate-names": (
            zip_bytes([_meta(), ("pool/img_0001.png", PNG), ("pool/img_0001.png", noise_png())]),
            InvalidArchiveError,
            "twice",
        ),
        "manifest-names-a-missing-file": (
            zip_bytes([_meta(), ("pool/manifest.json", json.dumps(
                {"active": 0, "slots": [{"image": "img_0001.png", "mask": "img_0001.mask.png"}]}).encode()),
                ("pool/img_0001.png", PNG)]),
            InvalidArchiveError,
            "lacks",
        ),
        "manifest-not-a-manifest": (
            zip_bytes([_meta(), ("pool/manifest.json", b"[1, 2, 3]"), ("pool/img_0001.png", PNG)]),
            InvalidArchiveError,
            "not a pool manifest",
        ),
        "overlapping-entries": (_overlapping_zip(), InvalidArchiveError, "overlap"),
        "trailing-zeros-after-a-png": (
            zip_bytes([_meta(), ("pool/img_0001.png", PNG + b"\0" * 65536)]),
            InvalidArchiveError,
            "after the end of the image",
        ),
        "trailing-bytes-after-a-jpeg": (
            zip_bytes([_meta(), ("pool/img_0001.jpg", image_bytes("JPEG") + b"PK\x03\x04" + b"\0" * 4096)]),
            InvalidArchiveError,
            "after the end of the image",
        ),
        "trailing-bytes-after-a-webp": (
            zip_bytes([_meta(), ("pool/img_0001.webp", image_bytes("WEBP") + b"\0" * 4096)]),
            InvalidArchiveError,
            "after the end of the image",
        ),
        "amplification": (_amplifying_zip, TooLargeError, "times its compressed size"),
        "local-header-says-deflated": (
            _local_header_patched(zip_bytes([_meta(), ("pool/img_0001.png", PNG)]), 8, struct.pack("<H", 8)),
            InvalidArchiveError,
            "does not match the archive's directory",
        ),
        "entry-offset-past-the-directory": (
            _central_offset_patched(zip_bytes([_meta(), ("pool/img_0001.png", PNG)]), 0xFFFFFF00),
            InvalidArchiveError,
            "no entry where the archive's directory says",
        ),
        "local-header-names-another-file": (
            _local_header_patched(zip_bytes([_meta(), ("pool/img_0001.png", PNG)]), 30, b"pool/img_0002.png"),
            InvalidArchiveError,
            "does not match the archive's directory",
        ),
        "newer-format": (
            zip_bytes([("profile_meta.json", b'{"name": "x", "format": 7}'), ("pool/img_0001.png", PNG)]),
            InvalidArchiveError,
            "format 7",
        ),
    }


CASES = [
    "dotdot-in-pool", "dotdot-at-top", "absolute", "backslash", "drive-letter", "symlink",
    "10000-tiny-entries", "inflates-past-the-cap", "headers-understate-the-size", "json-zip-bomb",
    "truncated", "not-a-zip", "non-image-named-png", "truncated-png", "decompression-bomb-png",
    "unexpected-file-type", "nested-folder", "duplicate-names", "manifest-names-a-missing-file",
    "manifest-not-a-manifest", "newer-format", "overlapping-entries", "trailing-zeros-after-a-png",
    "trailing-bytes-after-a-jpeg", "trailing-bytes-after-a-webp", "amplification", "local-header-says-deflated",
    "local-header-names-another-file", "entry-offset-past-the-directory",
]


@pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")
@pytest.mark.parametrize("case", CASES)
def test_hostile_archive_is_rejected_and_nothing_is_written(store, tmp_path, case):
    sentinel = tmp_path / "sentinel"
    sentinel.mkdir()
    (sentinel / "keep.txt").write_text("keep me")
    data, error, message = _cases(tmp_path)[case]
    data = data() if callable(data) else data
    if data is None:  # a real export, cut short
        pid = make_profile(store, "victim", count=2)
        buf = io.BytesIO()
        export_profile(store, pid, buf)
        data = buf.getvalue()[: len(buf.getvalue()) // 2]
    path = tmp_path / "hostile.zip"
    path.write_bytes(data)
    raw = raw_of(store)
    keys_before, files_before, ids_before = raw.keys(), files_under(tmp_path), registry_ids(store)

    with pytest.raises(error, match=message):
        import_profile(store, str(path), new_id="hostile1")

    assert raw.keys() == keys_before
    assert files_under(tmp_path) == files_before
    assert registry_ids(store) == ids_before
    assert sorted(p.name for p in sentinel.iterdir()) == ["keep.txt"]
    assert (sentinel / "keep.txt").read_text() == "keep me"


def test_limits_are_configurable(store, tmp_path):
    images = [(f"pool/img_{i:04d}.png", noise_png((64, 64), seed=i)) for i in range(1, 4)]
    data = zip_bytes([_meta(), *images])
    raw = raw_of(store)
    before = raw.keys()
    with pytest.raises(TooLargeError, match="entries"):
        import_profile(store, io.BytesIO(data), new_id="lim1", limits=ArchiveLimits(max_entries=3))
    total = sum(len(d) for _, d in images)
    with pytest.raises(TooLargeError, match="unpacks to more than"):
        import_profile(store, io.BytesIO(data), new_id="lim2", limits=ArchiveLimits(max_total_bytes=total - 1))
    with pytest.raises(TooLargeError, match="img_0001.png"):
        import_profile(store, io.BytesIO(data), new_id="lim3", limits=ArchiveLimits(max_entry_bytes=100))
    whole = ArchiveLimits(max_total_ratio=0.5, total_ratio_floor=1000)  # stored images: a ratio of 1
    with pytest.raises(TooLargeError, match="times its compressed size"):
        import_profile(store, io.BytesIO(data), new_id="lim5", limits=whole)
    assert raw.keys() == before
    entry = import_profile(store, io.BytesIO(data), new_id="lim4", limits=ArchiveLimits(max_entries=4))
    assert entry["name"] == "hostile"
    assert sum(1 for k in raw.keys() if k.startswith("lim4/img_")) == 3


def test_a_non_seekable_source_is_refused(store):
    class Stream:
        def read(self, n=-1):
            return b""

        def seekable(self):
            return False

    with pytest.raises(InvalidArchiveError, match="seekable"):
        import_profile(store, Stream(), new_id="s1")
    assert registry_ids(store) == []


_VALID: list[bytes] = []


def _valid_export() -> bytes:
    if not _VALID:
        import backends

        source = backends.open_store(f"memory://fuzz-src-{os.getpid()}")
        pid = make_profile(source, "fuzzed", count=2)
        buf = io.BytesIO()
        export_profile(source, pid, buf)
        _VALID.append(buf.getvalue())
    return _VALID[0]


@settings(max_examples=200, deadline=None)
@given(flips=st.lists(st.tuples(st.integers(), st.integers(min_value=1, max_value=255)), min_size=1, max_size=6),
       cut=st.one_of(st.none(), st.integers(min_value=0)))
def test_damaged_exports_fail_cleanly_or_import_whole(flips, cut):
    """Random byte damage to a real export: the import either succeeds with
    every image decodable, or fails with an archive error and writes nothing."""
    import uuid

    import backends

    data = bytearray(_valid_export())
    for at, xor in flips:
        data[at % len(data)] ^= xor
    if cut is not None:
        data = data[: cut % len(data)]
    store = backends.open_store(f"memory://fuzz-{uuid.uuid4().hex}")
    raw = raw_of(store)
    try:
        entry = import_profile(store, io.BytesIO(bytes(data)), new_id="fuzz1")
    except (InvalidInputError, TooLargeError):  # archive, image or name errors: all 4xx
        assert raw.keys() == set()
        assert registry_ids(store) == []
    else:
        from poolstore import Pool
        from poolstore.images import inspect_image

        manifest = Pool(store, entry["id"]).read()
        for s in manifest["slots"]:
            inspect_image(raw.read(f"fuzz1/{s['image']}"))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
_SLOT = st.fixed_dictionaries(
    {"image": st.sampled_from(["img_0001.png", "img_0002.png", "../img_0001.png", "", 7]),
     "mask": st.sampled_from([None, "img_0001.png", "img_0009.mask.png", "/etc/x.png", 3])},
    optional={"label": _JSON, "added": _JSON},
)


@settings(max_examples=200, deadline=None)
@given(meta=st.one_of(_JSON, st.fixed_dictionaries({"name": _JSON, "format": _JSON})),
       manifest=st.one_of(_JSON, st.fixed_dictionaries({"active": _JSON, "next_seq": _JSON, "slots": st.lists(_SLOT, max_size=4)})))
def test_odd_json_documents_fail_cleanly_or_import_whole(meta, manifest):
    """Whatever profile_meta.json and manifest.json hold, the import either
    commits a manifest naming only stored objects, or fails with a 4xx error
    and writes nothing."""
    import uuid

    import backends

    data = zip_bytes([
        ("profile_meta.json", json.dumps(meta).encode()),
        ("pool/manifest.json", json.dumps(manifest).encode()),
        ("pool/img_0001.png", PNG),
        ("pool/img_0002.png", noise_png()),
    ])
    store = backends.open_store(f"memory://odd-{uuid.uuid4().hex}")
    raw = raw_of(store)
    try:
        entry = import_profile(store, io.BytesIO(data), new_id="odd1")
    except (InvalidInputError, TooLargeError):
        assert raw.keys() == set() and registry_ids(store) == []
    else:
        stored = json.loads(raw.read("odd1/manifest.json"))
        for s in stored["slots"]:
            for n in (s["image"], s["mask"]):
                assert n is None or f"odd1/{n}" in raw.keys()
        assert registry_ids(store) == [entry["id"]]
