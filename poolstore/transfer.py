"""Making a profile from another pool: duplicate, copy, move, seed and adopt.

This is the one path for all of them: the registry, the command line and the
HTTP routes call these functions. A duplicate is a copy into the same store.

* :func:`copy_profile` makes a new profile from a registered one, in the same
  store (a duplicate) or another (local disk, buckets, memory), and with
  ``move`` deletes the source after.
* :func:`seed_profile` fills an empty profile with the images of any pool.
* :func:`adopt_pool` registers an unnamed pool under a name, in place.

Objects are copied server-side inside one store, or between stores the same
service reaches with the same credentials (S3 ``CopyObject`` between
buckets); otherwise they are streamed in chunks on a few threads, so memory
stays bounded whatever the profile's size.

Missing objects
---------------
An object the source's manifest names but the store lacks (lost outside
poolstore, or removed by a change racing the copy) leaves its slot out of
the new profile, or, for a mask, only the mask; everything else is copied,
and a warning names what was left out. The lost object cannot be copied
either way, while refusing would keep the intact rest of the profile from
being duplicated, moved or seeded until someone repaired it; an export
leaves the same slots out, so a zip and a copy of one profile agree.

Commit points
-------------
A copy commits like an import: ``profile.json``, the objects, the manifest,
then the registry entry in the destination last; a failure before it removes
what was written there. A move then deletes the source (its tombstone, its
registry entry, then its data), only after the destination is committed and
only if the source did not change meanwhile. A seed commits with the
target's manifest update, refused if the target got images meanwhile; a
failure before it removes the objects it copied. An adoption commits with
the registry entry, written after the pool's ``profile.json``.
"""

from __future__ import annotations

import uuid
from typing import Any

from ._layers import KeyNotFoundError, Store
from ._registry_doc import PROFILE_META, is_taken, make_entry
from ._staging import Snapshot, build_profile, read_snapshot, warn_missing, write_all
from .errors import ConflictError, InvalidInputError, NameTakenError, PoolDeletedError, ProfileNotFoundError
from .ids import validate_id, validate_name
from .manifest import keep_present, named_objects, portability_problem
from .pool import Pool
from .progress import Progress
from .registry import Registry

__all__ = ["copy_profile", "seed_profile", "adopt_pool"]


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
        Source and destination; the same store makes a duplicate.
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
        When the profile holds names some filesystems cannot (nothing is
        written); with ``move``, when the source changed during the copy:
        the copy is committed, and the source is kept so that nothing is lost.
    """
    source = Registry(src_store).get(profile_id)
    validate_id(new_id)
    name = validate_name(name) if name is not None else source["name"]
    snap = read_snapshot(src_store, profile_id)
    _refuse_unportable(snap.manifest)
    copier = _Copier(snap, dst_store, new_id)
    entry = build_profile(dst_store, new_id, name, snap.sizes, copier, copier.manifest, progress=progress,
                          max_workers=max_workers, streamed=_streamed(src_store, dst_store))
    if move:
        _delete_source(snap, entry)
    return entry


def seed_profile(
    src_store: Store,
    pool_id: str,
    dst_store: Store,
    profile_id: str,
    *,
    progress: Progress | None = None,
    max_workers: int = 4,
) -> dict[str, Any]:
    """Copy the images of the pool ``pool_id`` of ``src_store`` (a profile's or
    a per-node pool) into the empty profile ``profile_id`` of ``dst_store``.

    Every object is copied under a fresh name: a name the profile used before
    (an image since removed) or one a concurrent add is writing is never
    given other bytes. Returns the profile's committed manifest.

    Raises
    ------
    ProfileNotFoundError
        ``profile_id`` is not a registered profile of ``dst_store``.
    InvalidInputError
        The pool is the profile itself.
    ConflictError
        The profile holds images, or got some before the commit.
    """
    validate_id(pool_id)
    Registry(dst_store).get(profile_id)
    if src_store is dst_store and pool_id == profile_id:
        raise InvalidInputError("a profile cannot be seeded from itself")
    target = Pool(dst_store, profile_id)
    current = target.read()
    if current["slots"]:
        raise ConflictError("the profile is not empty; seeding only fills an empty profile")
    snap = read_snapshot(src_store, pool_id)
    copier = _Copier(snap, dst_store, profile_id, _fresh_names(snap.manifest, current["next_seq"]))

    def fill(m: dict[str, Any]) -> dict[str, Any]:
        if m["slots"]:
            raise ConflictError("the profile is not empty any more")
        made = copier.manifest()
        return {**made, "next_seq": max(made["next_seq"], m["next_seq"])}

    try:
        write_all(copier, snap.sizes, progress=progress, max_workers=max_workers,
                  streamed=_streamed(src_store, dst_store))
        return target.update(fill)
    except BaseException:
        target.discard_uncommitted(copier.written)
        raise


def adopt_pool(store: Store, pool_id: str, name: str) -> dict[str, Any]:
    """Register the existing, unnamed pool ``pool_id`` of ``store`` as the
    profile ``name`` (in place: nothing is copied); a taken name is refused.

    ``profile.json`` is written first, the registry entry commits. On failure
    only ``profile.json`` goes again: the pool's data is the user's.
    """
    registry = Registry(store)
    pool = Pool(store, pool_id)
    name = validate_name(name)
    entries = registry.list()
    if any(e["id"] == pool_id for e in entries):
        raise ConflictError(f"pool {pool_id!r} is a registered profile already")
    if is_taken(entries, name):
        raise NameTakenError(f"a profile named {name!r} exists already")
    if not pool.exists():
        raise ProfileNotFoundError(f"no pool with id {pool_id!r}")
    if pool.is_deleted():
        raise PoolDeletedError(f"pool {pool_id!r} was deleted")
    pool.check_new_folder()
    entry = make_entry(pool_id, name, None)
    registry.write_meta(entry)
    try:
        return registry.commit(entry, rename_on_collision=False)
    except BaseException:
        if not any(e["id"] == pool_id for e in registry.list()):
            store.delete(pool.key(PROFILE_META))
        raise


class _Copier:
    """Copies the objects of ``snap`` into the pool ``dst_id`` of ``dst_store``,
    each under the name ``renames`` gives it (default: its own); called with
    one object name at a time, from several threads.

    An object gone since the snapshot was read is left out like one missing
    then (see the module docstring); :meth:`manifest` is the snapshot's
    manifest without it, under the new names.
    """

    def __init__(self, snap: Snapshot, dst_store: Store, dst_id: str, renames: dict[str, str] | None = None) -> None:
        self.snap, self.dst_store, self.dst_id = snap, dst_store, dst_id
        self.renames = renames or {}
        self.missing: set[str] = set()
        self.written: list[str] = []

    def __call__(self, name: str) -> int:
        src_key = f"{self.snap.pool_id}/{name}"
        new = self.renames.get(name, name)
        try:
            if self.dst_store is self.snap.store:
                self.dst_store.copy(src_key, f"{self.dst_id}/{new}")
            else:
                self.dst_store.copy_from(self.snap.store, src_key, f"{self.dst_id}/{new}")
        except KeyNotFoundError:
            if self.snap.store.exists(src_key):
                raise  # something else is missing: not a lost object
            warn_missing(self.snap.pool_id, [name])
            self.missing.add(name)
            return 0
        self.written.append(new)  # by the worker, so a failure elsewhere still sees it
        return self.snap.sizes[name]

    def manifest(self) -> dict[str, Any]:
        kept, _lost = keep_present(self.snap.manifest, self.snap.sizes.keys() - self.missing)
        if not self.renames:
            return kept
        slots = [
            {**s, "image": self.renames[s["image"]], "mask": self.renames[s["mask"]] if s.get("mask") else None}
            for s in kept["slots"]
        ]
        return {**kept, "slots": slots}


def _fresh_names(manifest: dict[str, Any], next_seq: int) -> dict[str, str]:
    """A new name for each object ``manifest`` names: ``img_<seq>-<token>.<ext>``
    from ``next_seq`` on, and ``<stem>.mask.<token>.png`` for its mask. The
    token makes them unique even against a concurrent add."""
    names = {}
    for seq, slot in enumerate(manifest["slots"], start=next_seq):
        stem = f"img_{seq:04d}-{uuid.uuid4().hex[:6]}"
        names[slot["image"]] = f"{stem}.{slot['image'].rsplit('.', 1)[-1].lower()}"
        if slot.get("mask"):
            names[slot["mask"]] = f"{stem}.mask.{uuid.uuid4().hex[:8]}.png"
    return names


def _streamed(src: Store, dst: Store) -> bool:
    """Whether copies from ``src`` to ``dst`` pass the bytes through this process."""
    return not (dst is src or dst.same_backend(src))


def _refuse_unportable(manifest: dict[str, Any]) -> None:
    """:class:`ConflictError` if copying the objects ``manifest`` names would
    make a folder some filesystems cannot hold (see
    :func:`~poolstore.manifest.portability_problem`)."""
    problem = portability_problem(named_objects(manifest))
    if problem:
        raise ConflictError(f"the profile cannot be copied as it is: {problem} (not allowed on Windows)")


def _delete_source(snap: Snapshot, entry: dict[str, Any]) -> None:
    """Delete the moved profile, unless it changed after it was read."""
    if Pool(snap.store, snap.pool_id).read() != snap.original:
        raise ConflictError(
            f"the profile changed while it was moved: the copy was saved as {entry['name']!r}, "
            "and the original was kept"
        )
    try:
        Registry(snap.store).delete(snap.pool_id)
    except ProfileNotFoundError:
        pass  # deleted by someone else meanwhile: the move's goal is reached
