"""Copy or move a profile between stores (local disk, buckets, memory).

Objects are copied server-side when the destination reaches the same
service with the same credentials as the source (S3 ``CopyObject`` between
buckets), otherwise streamed in chunks on a few threads, so memory stays
bounded whatever the profile's size.

Commit points
-------------
The copy commits like an import: ``profile.json``, the objects, the manifest,
then the registry entry in the destination last; a failure before it removes
what was written there. A move then deletes the source (its registry entry
first, then its data), only after the destination is committed and only if
the source did not change meanwhile.
"""

from __future__ import annotations

from typing import Any

from ._layers import Store
from ._staging import build_profile, read_snapshot
from .errors import ConflictError, ProfileNotFoundError
from .ids import validate_id, validate_name
from .registry import Progress, Registry, refuse_unportable

__all__ = ["copy_profile"]


def copy_profile(
    src_store: Store,
    profile_id: str,
    dst_store: Store,
    *,
    new_id: str,
    name: str | None = None,
    move: bool = False,
    progress: Progress | None = None,
    max_workers: int = 4,
) -> dict[str, Any]:
    """Copy the profile ``profile_id`` of ``src_store`` into ``dst_store``.

    Parameters
    ----------
    src_store, dst_store
        Source and destination; they may be the same store.
    profile_id
        A registered profile of ``src_store`` (:class:`ProfileNotFoundError`).
    new_id
        The fresh id in ``dst_store`` (:class:`ConflictError` if in use).
    name
        The name in ``dst_store``; default the source's. A taken name
        becomes ``name (2)``.
    move
        Delete the source after the destination is committed.
    progress
        ``progress(files_done, files_total, bytes_done, bytes_total)``.
    max_workers
        Objects copied concurrently.

    Returns
    -------
    dict
        The destination's committed registry entry.

    Raises
    ------
    ConflictError
        With ``move``, when the source changed during the copy: the copy is
        committed, and the source is kept so that nothing is lost.
    """
    source = Registry(src_store).get(profile_id)
    validate_id(new_id)
    name = validate_name(name) if name is not None else source["name"]
    snap = read_snapshot(src_store, profile_id)
    refuse_unportable(snap.manifest)

    def copy_one(obj: str) -> int:
        src_key, dst_key = f"{profile_id}/{obj}", f"{new_id}/{obj}"
        if dst_store is src_store:
            dst_store.copy(src_key, dst_key)
        else:
            dst_store.copy_from(src_store, src_key, dst_key)
        return snap.sizes[obj]

    entry = build_profile(
        dst_store,
        new_id,
        name,
        snap.manifest,
        snap.names,
        copy_one,
        sizes=snap.sizes,
        progress=progress,
        max_workers=max_workers,
        streamed=not (dst_store is src_store or dst_store.same_backend(src_store)),
    )
    if move:
        _delete_source(src_store, profile_id, snap.manifest, entry)
    return entry


def _delete_source(store: Store, profile_id: str, copied: dict[str, Any], entry: dict[str, Any]) -> None:
    """Delete the moved profile, unless it changed after it was read."""
    if read_snapshot(store, profile_id).manifest != copied:
        raise ConflictError(
            f"the profile changed while it was moved: the copy was saved as {entry['name']!r}, "
            "and the original was kept"
        )
    try:
        Registry(store).delete(profile_id)
    except ProfileNotFoundError:
        pass  # deleted by someone else meanwhile: the move's goal is reached
