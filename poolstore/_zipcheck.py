"""Validation of a profile zip, whole, before anything is stored.

The checks, in order: the central directory (entry count, safe relative
names, no links or special files, no duplicates, no encryption, declared
sizes and ratios, of each entry and of the whole archive, within
:class:`ArchiveLimits`, only the files a profile holds), the layout (each
entry's local header agrees with the directory, and no two entries share a
byte: overlapping entries would count the same bytes twice), then every entry
is read through and counted (actual bytes and ratios, CRC checked by
:mod:`zipfile`), every image decoded as PNG, JPEG or WebP and required to end
where the entry ends, and the manifest parsed (or rebuilt from the images
present). Nothing here writes anywhere.
"""

from __future__ import annotations

import hashlib
import json
import re
import stat
import struct
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

from ._layers import ObjectInfo, load_json
from .errors import InvalidArchiveError, InvalidImageError, TooLargeError
from .images import IMAGE_EXTS, MAX_IMAGE_BYTES, inspect_image
from .manifest import is_object_name, named_objects, parse_manifest, rebuild_from_objects

__all__ = ["ArchiveLimits", "ArchiveFile", "CheckedArchive", "check_archive", "META_NAME", "POOL_DIR"]

META_NAME = "profile_meta.json"
POOL_DIR = "pool/"
MANIFEST_NAME = "pool/manifest.json"
PROFILE_NAME = "pool/profile.json"
FORMAT = 1
_JSON_NAMES = {META_NAME, MANIFEST_NAME, PROFILE_NAME}
_DRIVE = re.compile(r"^[A-Za-z]:")
_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_CHUNK = 1 << 20
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError, ValueError, struct.error)


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds an imported archive must stay within.

    Attributes
    ----------
    max_entries
        Entries in the zip (files and folders).
    max_total_bytes
        Sum of the uncompressed sizes, counted as read.
    max_entry_bytes
        Uncompressed size of one image or mask.
    max_json_bytes
        Uncompressed size of one JSON document.
    max_ratio
        Uncompressed / compressed size of one entry, checked for entries
        larger than ``ratio_floor`` bytes (small entries compress well).
    ratio_floor
        Entries up to this size are exempt from the ratio check.
    max_total_ratio
        Uncompressed size of the whole archive / the compressed size of its
        entries (at most the upload's size), checked once the archive unpacks
        to more than ``total_ratio_floor`` bytes. Images hardly compress, so
        a real profile stays near 1.
    total_ratio_floor
        Archives unpacking to at most this many bytes are exempt from the
        whole-archive ratio check.
    """

    max_entries: int = 8000
    max_total_bytes: int = 8 * 1024**3
    max_entry_bytes: int = MAX_IMAGE_BYTES
    max_json_bytes: int = 16 * 1024**2
    max_ratio: float = 200.0
    ratio_floor: int = 1024**2
    max_total_ratio: float = 20.0
    total_ratio_floor: int = 16 * 1024**2

    def check_total(self, unpacked: int, packed: int) -> None:
        """Raise :class:`TooLargeError` when ``unpacked`` bytes from ``packed``
        compressed ones pass the absolute or the whole-archive ratio limit."""
        if unpacked > self.max_total_bytes:
            raise TooLargeError(f"the archive unpacks to more than {self.max_total_bytes:,} bytes")
        if unpacked > self.total_ratio_floor and unpacked > self.max_total_ratio * max(packed, 1):
            raise TooLargeError(
                f"the archive unpacks to {unpacked:,} bytes, {unpacked / max(packed, 1):.0f} times its "
                f"compressed size of {packed:,} (at most {self.max_total_ratio:g} times): a zip bomb?"
            )


@dataclass(frozen=True)
class ArchiveFile:
    """An image or mask of the archive to store: entry, file name, size, SHA-256."""

    arcname: str
    name: str
    size: int
    digest: str


@dataclass
class CheckedArchive:
    """A validated archive: its metadata, the manifest to commit, the files it names."""

    meta: dict[str, Any]
    manifest: dict[str, Any]
    files: list[ArchiveFile]
    profile: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str | None:
        """The profile name the archive carries, if any."""
        for doc in (self.meta, self.profile):
            if isinstance(doc.get("name"), str) and doc["name"].strip():
                return doc["name"]
        return None


def check_archive(zf: zipfile.ZipFile, limits: ArchiveLimits) -> CheckedArchive:
    """Validate ``zf`` completely; raise :class:`InvalidArchiveError` or
    :class:`TooLargeError` naming the first problem found."""
    infos = _check_directory(zf, limits)
    _check_layout(zf)
    counter = _Budget(limits, sum(i.compress_size for i in infos))
    docs: dict[str, Any] = {}
    found: dict[str, ArchiveFile] = {}
    dates: dict[str, float] = {}
    for info in infos:
        if info.filename in _JSON_NAMES:
            docs[info.filename] = _read_json(zf, info, counter)
        else:
            found[info.filename[len(POOL_DIR):]] = _read_image(zf, info, counter)
            dates[info.filename[len(POOL_DIR):]] = _timestamp(info)
    meta = _check_meta(docs.get(META_NAME))
    manifest = _manifest(docs.get(MANIFEST_NAME), found, dates)
    profile = docs.get(PROFILE_NAME)
    files = [found[n] for n in named_objects(manifest)]
    return CheckedArchive(meta, manifest, files, profile if isinstance(profile, dict) else {})


# -- the central directory ------------------------------------------------------------
def _check_directory(zf: zipfile.ZipFile, limits: ArchiveLimits) -> list[zipfile.ZipInfo]:
    """The file entries to read, after every per-entry check that needs no reading."""
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise TooLargeError(f"the archive has {len(infos):,} entries; at most {limits.max_entries:,} are allowed")
    seen: set[str] = set()
    declared = 0
    files = []
    for info in infos:
        name = _check_name(info)
        if name.casefold() in seen:
            raise InvalidArchiveError(f"the archive holds {_shown(name)} twice")
        seen.add(name.casefold())
        _check_kind(info)
        if info.is_dir():
            if name != POOL_DIR:
                raise InvalidArchiveError(f"unexpected folder {_shown(name)} in the archive")
            continue
        _check_type(name)
        _check_declared(info, limits)
        declared += info.file_size
        if declared > limits.max_total_bytes:
            raise TooLargeError(f"the archive unpacks to more than {limits.max_total_bytes:,} bytes")
        files.append(info)
    limits.check_total(declared, sum(i.compress_size for i in files))
    return files


_LOCAL_HEADER = struct.Struct("<4s5H3I2H")  # signature ... name length, extra length
_LOCAL_SIGNATURE = b"PK\x03\x04"


def _check_layout(zf: zipfile.ZipFile) -> None:
    """Every entry's local header agrees with the directory, and the entries
    (header and data) lie one after another before the directory, sharing no byte."""
    spans = sorted(_span(zf, info) for info in zf.infolist())
    for (_start, end, name), (start, _end, other) in zip(spans, spans[1:]):
        if start < end:
            raise InvalidArchiveError(f"entries {_shown(name)} and {_shown(other)} overlap in the archive")


def _span(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[int, int, str]:
    """(first byte, end, name) of an entry: its local header and its data."""
    if not 0 <= info.header_offset < zf.start_dir:
        raise InvalidArchiveError(f"{_shown(info.filename)}: no entry where the archive's directory says")
    fp = zf.fp
    assert fp is not None  # the archive is open while it is checked
    try:
        fp.seek(info.header_offset)
        head = fp.read(_LOCAL_HEADER.size)
        fields = _LOCAL_HEADER.unpack(head) if len(head) == _LOCAL_HEADER.size else None
        raw_name = fp.read(fields[9]) if fields else b""
    except OSError as exc:
        raise InvalidArchiveError(f"cannot read the archive: {exc.strerror or exc}") from exc
    if fields is None or fields[0] != _LOCAL_SIGNATURE:
        raise InvalidArchiveError(f"{_shown(info.filename)}: no entry where the archive's directory says")
    _sig, _version, _flags, method, *_rest, name_len, extra_len = fields
    # decoded as zipfile decodes it, by the directory's UTF-8 flag
    name = raw_name.decode("utf-8" if info.flag_bits & 0x800 else "cp437", "replace")
    if name != info.orig_filename or method != info.compress_type:
        raise InvalidArchiveError(f"{_shown(info.filename)}: the entry does not match the archive's directory")
    end = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len + info.compress_size
    if end > zf.start_dir:
        raise InvalidArchiveError(f"{_shown(info.filename)} overlaps the archive's directory")
    return info.header_offset, end, info.filename


def _check_name(info: zipfile.ZipInfo) -> str:
    """The entry name if it is a safe relative path, else raise."""
    name = info.filename
    raw = info.orig_filename
    unsafe = (
        not name
        or "\x00" in raw
        or "\\" in raw
        or raw.startswith("/")
        or _DRIVE.match(raw)
        or any(ord(c) < 32 or ord(c) == 127 for c in raw)
        or any(part in ("", ".", "..") for part in name.rstrip("/").split("/"))
    )
    if unsafe:
        raise InvalidArchiveError(f"unsafe path {_shown(raw)} in the archive")
    return name


def _check_kind(info: zipfile.ZipInfo) -> None:
    """Only plain files and folders: no links, devices or pipes."""
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        raise InvalidArchiveError(f"{_shown(info.filename)} is a link; links are not allowed in a profile archive")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise InvalidArchiveError(f"{_shown(info.filename)} is not a plain file")
    if info.flag_bits & 0x1:
        raise InvalidArchiveError(f"{_shown(info.filename)} is encrypted; encrypted archives are not supported")
    if info.compress_type not in _METHODS:
        raise InvalidArchiveError(f"{_shown(info.filename)} uses an unsupported compression method")


def _check_type(name: str) -> None:
    """Only the files a profile holds: its JSON documents, images and masks."""
    if name in _JSON_NAMES:
        return
    if name.startswith(POOL_DIR):
        base = name[len(POOL_DIR):]
        ext = base.rsplit(".", 1)[-1].lower() if "." in base else ""
        if "/" not in base and is_object_name(base) and ext in IMAGE_EXTS:
            return
    raise InvalidArchiveError(
        f"unexpected file {_shown(name)} in the archive: a profile holds profile_meta.json, "
        "pool/manifest.json and images or masks under pool/"
    )


def _check_declared(info: zipfile.ZipInfo, limits: ArchiveLimits) -> None:
    cap = limits.max_json_bytes if info.filename in _JSON_NAMES else limits.max_entry_bytes
    if info.file_size > cap:
        raise TooLargeError(f"{_shown(info.filename)} unpacks to {info.file_size:,} bytes; the limit is {cap:,}")
    if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(info.compress_size, 1):
        raise TooLargeError(f"{_shown(info.filename)} is compressed suspiciously well (a zip bomb?)")


# -- reading entries ---------------------------------------------------------------
class _Budget:
    """Counts the bytes actually unpacked, against the total limits."""

    def __init__(self, limits: ArchiveLimits, packed: int) -> None:
        self.limits = limits
        self.packed = packed
        self.total = 0

    def read(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> tuple[bytes, str]:
        """The entry's bytes and SHA-256, stopping as soon as a limit is passed."""
        chunks: list[bytes] = []
        size = 0
        digest = hashlib.sha256()
        try:
            with zf.open(info) as f:
                while chunk := f.read(_CHUNK):
                    chunks.append(chunk)
                    size += len(chunk)
                    digest.update(chunk)
                    self._check(info, size, cap, len(chunk))
        except _ZIP_ERRORS as exc:
            raise InvalidArchiveError(f"{_shown(info.filename)} cannot be read: the archive is damaged ({exc})") from exc
        data = b"".join(chunks)  # one copy; images.inspect_image then keeps this object
        chunks.clear()
        return data, digest.hexdigest()

    def _check(self, info: zipfile.ZipInfo, size: int, cap: int, step: int) -> None:
        self.total += step
        if size > cap:
            raise TooLargeError(f"{_shown(info.filename)} unpacks to more than {cap:,} bytes")
        self.limits.check_total(self.total, self.packed)
        if size > self.limits.ratio_floor and size > self.limits.max_ratio * max(info.compress_size, 1):
            raise TooLargeError(f"{_shown(info.filename)} is compressed suspiciously well (a zip bomb?)")


def _read_json(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget) -> Any:
    data, _ = budget.read(zf, info, budget.limits.max_json_bytes)
    try:
        return load_json(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArchiveError(f"{_shown(info.filename)} is not valid JSON") from exc


def _read_image(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget) -> ArchiveFile:
    """Decode an image entry; it must hold one image and nothing after its end."""
    data, digest = budget.read(zf, info, budget.limits.max_entry_bytes)
    try:
        checked = inspect_image(data)
    except InvalidImageError as exc:
        raise InvalidArchiveError(f"{_shown(info.filename)}: {exc}") from exc
    except TooLargeError as exc:
        raise TooLargeError(f"{_shown(info.filename)}: {exc}") from exc
    if checked.trailing:
        raise InvalidArchiveError(
            f"{_shown(info.filename)} has {checked.trailing:,} bytes after the end of the image; "
            "an entry holds one image and nothing else"
        )
    return ArchiveFile(info.filename, info.filename[len(POOL_DIR):], len(data), digest)


def _timestamp(info: zipfile.ZipInfo) -> float:
    try:
        return time.mktime((*info.date_time, 0, 0, -1))
    except (OverflowError, ValueError):
        return 0.0


# -- documents -------------------------------------------------------------------
def _check_meta(meta: Any) -> dict[str, Any]:
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise InvalidArchiveError(f"{META_NAME} is not a JSON object")
    fmt = meta.get("format", FORMAT)
    if not isinstance(fmt, int) or isinstance(fmt, bool) or fmt < 1:
        raise InvalidArchiveError(f"{META_NAME} has an invalid format number")
    if fmt > FORMAT:
        raise InvalidArchiveError(f"the archive has format {fmt}; this version reads format {FORMAT}")
    return meta


def _manifest(doc: Any, found: dict[str, ArchiveFile], dates: dict[str, float]) -> dict[str, Any]:
    """The manifest to commit: the archive's, checked against its files, or rebuilt."""
    if doc is None:
        objects = [ObjectInfo(f"x/{n}", f.size, dates[n]) for n, f in found.items()]
        return rebuild_from_objects(objects, "x")
    try:
        manifest = parse_manifest(json.dumps(doc).encode("utf-8"))
    except ValueError as exc:
        raise InvalidArchiveError(f"{MANIFEST_NAME} is not a pool manifest") from exc
    for slot in manifest["slots"]:
        for name in (slot["image"], slot.get("mask")):
            if name and name not in found:
                raise InvalidArchiveError(f"{MANIFEST_NAME} names {_shown(name)}, which the archive lacks")
    return manifest


def _shown(name: str) -> str:
    """An entry name made safe to show in a one-line message."""
    return repr(name if len(name) <= 80 else name[:77] + "...")
