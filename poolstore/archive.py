"""Portable profiles: a streamed zip export and a validated import.

The format (version 1, the one earlier exports use)::

    profile_meta.json        {"name", "format": 1, "created", "id", "exported", "count"}
    pool/manifest.json       the pool manifest (slots, labels, masks, active slot)
    pool/img_0001.png        images, stored (not deflated)
    pool/img_0001.mask.png   masks

Older archives without ``profile_meta.json`` or ``pool/manifest.json``
import too: the name then comes from the caller or the file name, the
manifest is rebuilt from the images present.

Commit points
-------------
* Export writes nothing to the store.
* Import validates the whole archive first (:mod:`poolstore._zipcheck`),
  then writes ``<id>/profile.json``, the objects and the manifest, and
  commits with the registry entry last; on failure it removes what it wrote.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import struct
import time
import unicodedata
import zipfile
import zlib
from typing import IO, Any, Protocol

from ._layers import Store, dump_json
from ._staging import build_profile, read_snapshot
from ._zipcheck import FORMAT, MANIFEST_NAME, META_NAME, POOL_DIR, ArchiveFile, ArchiveLimits, check_archive
from .errors import InvalidArchiveError
from .ids import portable_file_name, validate_id, validate_name
from .manifest import portability_problem
from .progress import Progress, Tracker
from .registry import Registry

__all__ = [
    "ArchiveLimits",
    "export_profile",
    "import_profile",
    "safe_zip_filename",
    "FORMAT",
]

_CHUNK = 1 << 20
_FILE_MODE = 0o100644 << 16
# What zipfile raises on damaged input (besides OSError): bad structures,
# bad deflate data, unknown versions or methods, short records.
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError, RuntimeError, struct.error)


class Sink(Protocol):
    """Anything with ``write(bytes)``; it need not be seekable."""

    def write(self, data: bytes, /) -> Any: ...


# -- export ------------------------------------------------------------------------
def export_profile(store: Store, profile_id: str, sink: Sink, *, progress: Progress | None = None) -> int:
    """Write the profile ``profile_id`` as a zip to ``sink``, incrementally.

    Parameters
    ----------
    store
        The store holding the profile (read only).
    profile_id
        A registered profile's id; :class:`ProfileNotFoundError` otherwise.
    sink
        Any object with ``write(bytes)``; it is never seeked, closed or
        flushed beyond ``flush()`` if it has one.
    progress
        ``progress(files_done, files_total, bytes_done, bytes_total)`` after
        each image or mask.

    Returns
    -------
    int
        Bytes written to ``sink``.

    Notes
    -----
    The manifest is read once and only the objects it names are exported,
    so the zip is one consistent state of the profile. Memory use does not
    depend on the profile's size: each object is copied in 1 MB chunks. If
    anything fails midway, the zip is left without its central directory, so
    no reader takes the partial stream for a complete archive.
    """
    entry = Registry(store).get(profile_id)
    snap = read_snapshot(store, profile_id)
    out = _CountingSink(sink)
    tracker = Tracker(progress, len(snap.names), snap.total_bytes)
    zf = zipfile.ZipFile(out, "w", allowZip64=True)
    try:
        now = time.localtime()
        stamp = (now.tm_year, now.tm_mon, now.tm_mday, now.tm_hour, now.tm_min, now.tm_sec)
        _put_json(zf, META_NAME, _meta(entry, snap.manifest), stamp)
        _put_json(zf, MANIFEST_NAME, snap.manifest, stamp)
        tracker.start()
        for name in snap.names:
            _put_object(zf, store, f"{profile_id}/{name}", POOL_DIR + name, snap.sizes[name], stamp)
            tracker.file_done(snap.sizes[name])
    except BaseException:
        out.abort()
        _close_quietly(zf)
        raise
    zf.close()
    out.flush()
    return out.count


def _meta(entry: dict[str, Any], manifest: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": entry["name"],
        "format": FORMAT,
        "created": entry["created"],
        "id": entry["id"],
        "exported": int(time.time()),
        "count": len(manifest["slots"]),
    }


def _put_json(zf: zipfile.ZipFile, arcname: str, doc: Any, stamp: _DateTime) -> None:
    info = zipfile.ZipInfo(arcname, date_time=stamp)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = _FILE_MODE
    zf.writestr(info, dump_json(doc))


def _put_object(zf: zipfile.ZipFile, store: Store, key: str, arcname: str, size: int, stamp: _DateTime) -> None:
    """Copy one object into the zip, stored (images do not deflate)."""
    info = zipfile.ZipInfo(arcname, date_time=stamp)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = _FILE_MODE
    info.file_size = size  # lets zipfile choose ZIP64 for large objects up front
    with store.open_read(key) as reader, zf.open(info, "w") as writer:
        while chunk := reader.read(_CHUNK):
            writer.write(chunk)


def _close_quietly(zf: zipfile.ZipFile) -> None:
    try:
        zf.close()
    except (ValueError, OSError):
        pass


_DateTime = tuple[int, int, int, int, int, int]
"""A zip entry's date: year, month, day, hour, minute, second."""


class _CountingSink:
    """Forwards writes and counts them; ``tell`` without ``seek`` makes
    :mod:`zipfile` stream with data descriptors."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.count = 0
        self.aborted = False

    def write(self, data: bytes) -> int:
        if self.aborted:
            return len(data)
        self.sink.write(data)
        self.count += len(data)
        return len(data)

    def tell(self) -> int:
        return self.count

    def flush(self) -> None:
        flush = getattr(self.sink, "flush", None)
        if flush is not None and not self.aborted:
            flush()

    def abort(self) -> None:
        """Drop every later write (the central directory of a failed export)."""
        self.aborted = True

    def close(self) -> None:
        """Nothing: the sink is the caller's (zipfile never closes a file it was given)."""


# -- import ------------------------------------------------------------------------
def import_profile(
    store: Store,
    source: str | os.PathLike[str] | IO[bytes],
    *,
    new_id: str,
    name: str | None = None,
    progress: Progress | None = None,
    limits: ArchiveLimits | None = None,
    max_workers: int = 4,
) -> dict[str, Any]:
    """Import a profile zip into ``store`` as the new profile ``new_id``.

    Parameters
    ----------
    store
        The destination store.
    source
        A filesystem path, or a seekable binary file object (not closed).
    new_id
        The fresh id to store it under (:class:`ConflictError` if in use).
    name
        The profile name; default: the one in the archive, else the file
        name. A taken name becomes ``name (2)``.
    progress
        ``progress(files_done, files_total, bytes_done, bytes_total)`` as
        objects are stored (after validation).
    limits
        Bounds on entries and sizes; :class:`ArchiveLimits` defaults.
    max_workers
        Objects stored concurrently.

    Returns
    -------
    dict
        The committed registry entry ``{"id", "name", "created"}``.

    Raises
    ------
    InvalidArchiveError
        Not a zip, unsafe paths, links, unexpected files, damaged data,
        undecodable images, an invalid manifest.
    TooLargeError
        Over a limit of ``limits`` or of :mod:`poolstore.images`.

    Notes
    -----
    The whole archive is validated before anything is written. The registry
    entry is the commit point; a failure before it removes every object
    written under ``new_id``.
    """
    validate_id(new_id)
    if name is not None:
        name = validate_name(name)
    with _open_zip(source) as zf:
        checked = check_archive(zf, limits or ArchiveLimits())
        problem = portability_problem(f.name for f in checked.files)
        if problem:
            raise InvalidArchiveError(f"the archive cannot be imported: {problem}")
        chosen = name or _usable_name(checked.name) or _name_from_source(source)
        files = {f.name: f for f in checked.files}
        return build_profile(
            store,
            new_id,
            chosen,
            {n: f.size for n, f in files.items()},
            functools.partial(_store_entry, zf, store, new_id, files),
            lambda: checked.manifest,
            progress=progress,
            max_workers=max_workers,
        )


def _open_zip(source: str | os.PathLike[str] | IO[bytes]) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(source if isinstance(source, (str, os.PathLike)) else _check_seekable(source))
    except OSError as exc:
        raise InvalidArchiveError(f"cannot read the archive: {exc.strerror or exc}") from exc
    except _DAMAGED as exc:
        raise InvalidArchiveError(f"not a zip archive, or a damaged one ({exc})") from exc


def _check_seekable(f: IO[bytes]) -> IO[bytes]:
    if not (hasattr(f, "seek") and getattr(f, "seekable", lambda: True)()):
        raise InvalidArchiveError("the archive must be given as a path or a seekable file")
    return f


def _store_entry(zf: zipfile.ZipFile, store: Store, new_id: str, files: dict[str, ArchiveFile], name: str) -> int:
    """Stream one validated entry into the store; its bytes must be the ones checked."""
    expected = files[name]
    digest = hashlib.sha256()
    size = 0
    with _member(zf, expected.arcname) as reader, store.open_write(f"{new_id}/{name}") as writer:
        while chunk := _read(reader, expected.arcname):
            size += len(chunk)
            digest.update(chunk)
            if size > expected.size:
                break
            writer.write(chunk)
        if size != expected.size or digest.hexdigest() != expected.digest:
            raise InvalidArchiveError(f"{expected.arcname!r} changed while it was imported")
    return size


def _member(zf: zipfile.ZipFile, arcname: str) -> IO[bytes]:
    try:
        return zf.open(arcname)
    except _DAMAGED as exc:
        raise InvalidArchiveError(f"{arcname!r} changed while it was imported ({exc})") from exc


def _read(reader: IO[bytes], arcname: str) -> bytes:
    """A chunk of an archive member; zip errors (not the store's) become archive errors."""
    try:
        return reader.read(_CHUNK)
    except _DAMAGED as exc:
        raise InvalidArchiveError(f"{arcname!r} changed while it was imported ({exc})") from exc


def _usable_name(name: str | None) -> str | None:
    try:
        return validate_name(name) if name is not None else None
    except ValueError:
        return None


def _name_from_source(source: object) -> str:
    if isinstance(source, (str, os.PathLike)):  # a file object's name may be a temp file's
        stem = os.path.splitext(os.path.basename(os.fspath(source)))[0]
        usable = _usable_name(stem)
        if usable:
            return usable
    return "Imported profile"


# -- names -----------------------------------------------------------------------
_UNSAFE_FILE_CHARS = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;]+')


def safe_zip_filename(name: str) -> str:
    """A download file name for the profile ``name``: ``<name>.zip``, with
    quotes, slashes, control and reserved characters replaced by ``_``, and
    valid on Windows (no trailing dots or spaces, ``CON`` becomes ``CON_``).

    The result is safe inside a quoted ``Content-Disposition`` filename; it
    may contain non-ASCII letters (use ``filename*`` for those).
    """
    text = unicodedata.normalize("NFC", str(name)).strip()
    text = _UNSAFE_FILE_CHARS.sub("_", text).strip(" .")
    return portable_file_name(f"{text[:100].rstrip(' .') or 'profile'}.zip")
