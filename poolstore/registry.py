"""The profile registry: ``profiles.json`` maps friendly names to stable ids.

Commit points
-------------
The registry is the index. Data is written first, then the registry update
(compare-and-swap on ``profiles.json``) commits it. So the registry never
names missing data, and an interrupted operation leaves at most orphans
(see :mod:`poolstore.check`). What follows a commit (removing superseded
data, rewriting ``profile.json`` after a rename) is logged when it fails,
never raised: the answer reports a change that has happened.

Deleting first turns the pool's manifest into a tombstone (by its own
compare-and-swap), so that no add, label, mask or reorder racing the delete,
or coming after it, commits; then removing the entry commits the delete;
then the objects go. An interrupted delete leaves a registered profile whose
pool is a tombstone (it reads empty and refuses changes): deleting again, or
``check --fix``, finishes it.

Each profile folder also holds ``profile.json`` (``{"id", "name", "created"}``),
written before the entry: a lost or corrupt registry is rebuilt from these,
never silently overwritten (the corrupt bytes are kept aside first).
"""

from __future__ import annotations

import builtins
import itertools
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from ._layers import InvalidKeyError, KeyNotFoundError, PreconditionFailedError, Store, content_version, dump_json, load_json, update_json
from .errors import ConflictError, NameTakenError, PoolDeletedError, ProfileNotFoundError
from .ids import validate_id, validate_name
from .manifest import portability_problem
from .pool import Pool

__all__ = ["Registry", "REGISTRY_KEY", "unique_name", "Progress"]

log = logging.getLogger("poolstore.registry")

REGISTRY_KEY = "profiles.json"
PROFILE_META = "profile.json"
Progress = Callable[[int, int, int, int], None]
"""``progress(files_done, files_total, bytes_done, bytes_total)``."""

COPY_WORKERS = 4
"""Objects :func:`copy_pool` copies concurrently."""

_SUFFIX = re.compile(r"^(?P<base>.*?) \((?P<n>\d+)\)$")


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name (2)``, ``name (3)``... whichever is free (case-insensitive)."""
    folded = {t.casefold() for t in taken}
    if name.casefold() not in folded:
        return name
    m = _SUFFIX.match(name)
    base, n = (m.group("base"), int(m.group("n"))) if m else (name, 1)
    while True:
        n += 1
        candidate = f"{base} ({n})"
        if candidate.casefold() not in folded:
            return candidate


class Registry:
    """The named profiles of one store. Does not own the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- reading ---------------------------------------------------------------
    def list(self) -> list[dict[str, Any]]:
        """All entries, in creation order (one request while the registry is sound)."""
        try:
            raw = self.store.read(REGISTRY_KEY)
        except KeyNotFoundError:
            raw = None
        doc = _parse(raw)
        # Missing or corrupt reads as empty; the next write rebuilds it (see _load_for_write).
        return doc["profiles"] if doc is not None else []

    def effective_list(self) -> builtins.list[dict[str, Any]]:
        """The entries, or while ``profiles.json`` is missing or corrupt, the
        entries the next write will rebuild it with (from ``profile.json`` files).

        What decides whether a folder is an orphan: a lost registry must not
        make every profile look like one.
        """
        try:
            raw = self.store.read(REGISTRY_KEY)
        except KeyNotFoundError:
            raw = None
        doc = _parse(raw)
        return doc["profiles"] if doc is not None else self._rebuilt()["profiles"]

    def get(self, profile_id: str) -> dict[str, Any]:
        """The entry with id ``profile_id``."""
        validate_id(profile_id)
        for entry in self.list():
            if entry["id"] == profile_id:
                return entry
        raise ProfileNotFoundError(f"no profile with id {profile_id!r}")

    def find(self, name_or_id: str) -> dict[str, Any]:
        """The entry whose id, else name (case-insensitive), is ``name_or_id``."""
        entries = self.list()
        for entry in entries:
            if entry["id"] == name_or_id:
                return entry
        folded = str(name_or_id).strip().casefold()
        for entry in entries:
            if entry["name"].casefold() == folded:
                return entry
        raise ProfileNotFoundError(f"no profile named {str(name_or_id)[:80]!r}")

    # -- the one way to change the registry ----------------------------------------
    def update(
        self, fn: Callable[[builtins.list[dict[str, Any]]], builtins.list[dict[str, Any]]]
    ) -> builtins.list[dict[str, Any]]:
        """Apply ``fn`` to the entry list by compare-and-swap (the commit point)."""

        def apply(doc: dict[str, Any]) -> dict[str, Any]:
            return {**doc, "profiles": fn(doc["profiles"])}

        return update_json(self.store, REGISTRY_KEY, apply, load=self._load_for_write)["profiles"]

    def _load_for_write(self, raw: bytes | None) -> dict[str, Any]:
        doc = _parse(raw)
        if doc is not None:
            return doc
        if raw is not None:
            self._keep_aside(raw)
        return self._rebuilt()

    def _keep_aside(self, raw: bytes) -> None:
        key = f"{REGISTRY_KEY}.corrupt-{content_version(raw)[:12]}"
        try:
            self.store.create(key, raw)
        except PreconditionFailedError:
            pass

    def _rebuilt(self) -> dict[str, Any]:
        """Entries recovered from the ``profile.json`` files of the store's
        folders (a deleted profile whose ``profile.json`` stayed is skipped)."""
        entries = []
        for folder in self.store.list_dirs():
            try:
                meta = load_json(self.store.read(f"{folder}/{PROFILE_META}"))
                entry = _entry(validate_id(folder), validate_name(meta["name"]), meta.get("created"))
            except (KeyNotFoundError, ValueError, KeyError, TypeError):
                continue
            if not Pool(self.store, folder).is_deleted():
                entries.append(entry)
        entries.sort(key=lambda e: (e["created"], e["name"]))
        names: set[str] = set()
        for e in entries:
            e["name"] = unique_name(e["name"], names)
            names.add(e["name"])
        return {"profiles": entries}

    # -- operations --------------------------------------------------------------
    def create(self, profile_id: str, name: str, created: int | None = None) -> dict[str, Any]:
        """Register a new, empty profile; a taken name is refused.

        ``profile_id`` must be unused (no entry, no data). ``profile.json`` is
        written first; the registry update is the commit point. On failure
        the new folder is removed again, unless the entry was committed.
        """
        entry = _entry(validate_id(profile_id), validate_name(name), created)
        self.check_new(entry, name_must_be_free=True)
        self.write_meta(entry)
        try:
            return self.commit(entry, rename_on_collision=False)
        except BaseException:
            self.undo_new(entry["id"])
            raise

    def check_new(self, entry: dict[str, Any], *, name_must_be_free: bool) -> None:
        """Refuse an id in use (registered, or holding data), one that could not
        be a folder on Windows (a device name, or differing only in case from
        another folder) and, optionally, a taken name, before anything is
        written. :meth:`commit` checks again."""
        Pool(self.store, entry["id"]).check_new_folder()
        entries = self.list()
        if any(e["id"] == entry["id"] for e in entries):
            raise ConflictError(f"profile id {entry['id']!r} is in use already")
        if name_must_be_free and _taken(entries, entry["name"]):
            raise NameTakenError(f"a profile named {entry['name']!r} exists already")
        if Pool(self.store, entry["id"]).exists():
            raise ConflictError(f"a pool with id {entry['id']!r} exists already; adopt it instead")

    def undo_new(self, profile_id: str) -> None:
        """Remove a new profile's folder after a failure, unless it was committed
        (a server may report an error after it stored the registry update).

        Called while another error propagates: a failure here is logged and
        leaves an orphan for :mod:`poolstore.check`, never a second error.
        """
        try:
            if any(e["id"] == profile_id for e in self.list()):
                return
            Pool(self.store, profile_id).delete_all()
        except Exception as exc:  # noqa: BLE001 - unsure: leave an orphan, never lose data
            log.warning("could not remove the partial profile %s from %s: %s", profile_id, self.store.url, exc)

    def commit(self, entry: dict[str, Any], *, rename_on_collision: bool) -> dict[str, Any]:
        """Add ``entry`` to the registry (the commit point of create/import/copy).

        With ``rename_on_collision`` a taken name becomes ``name (2)``; else it
        raises :class:`NameTakenError`. Re-committing the same id is a no-op.
        """
        result: dict[str, Any] = {}

        def apply(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
            for e in entries:
                if e["id"] == entry["id"]:  # stored by an attempt whose answer was lost
                    result.clear()
                    result.update(e)
                    return entries
                if e["id"].casefold() == entry["id"].casefold():
                    raise ConflictError(f"profile {e['id']!r} exists already: ids may not differ only in case")
            taken = {e["name"] for e in entries}
            name = entry["name"]
            if _taken(entries, name):
                if not rename_on_collision:
                    raise NameTakenError(f"a profile named {name!r} exists already")
                name = unique_name(name, taken)
            result.clear()
            result.update({**entry, "name": name})
            return [*entries, dict(result)]

        self.update(apply)
        if result["name"] != entry["name"]:
            self._rewrite_meta(result)
        return dict(result)

    def write_meta(self, entry: dict[str, Any]) -> None:
        """Write the profile's self-description ``<id>/profile.json``."""
        meta = {"id": entry["id"], "name": entry["name"], "created": entry["created"]}
        self.store.write(f"{entry['id']}/{PROFILE_META}", dump_json(meta))

    def _rewrite_meta(self, entry: dict[str, Any]) -> None:
        """:meth:`write_meta` after the registry committed a new name: a
        failure is logged (the stale name matters only if the registry is
        rebuilt), never raised."""
        try:
            self.write_meta(entry)
        except Exception as exc:  # noqa: BLE001 - after the commit an error answer would be wrong
            log.warning("profile %s is now %r, but its %s could not be rewritten: %s",
                        entry["id"], entry["name"], PROFILE_META, exc)

    def rename(self, profile_id: str, name: str) -> dict[str, Any]:
        """Give a profile a new name; a name another profile has is refused."""
        validate_id(profile_id)
        name = validate_name(name)
        result: dict[str, Any] = {}

        def apply(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
            target = next((e for e in entries if e["id"] == profile_id), None)
            if target is None:
                raise ProfileNotFoundError(f"no profile with id {profile_id!r}")
            if _taken([e for e in entries if e["id"] != profile_id], name):
                raise NameTakenError(f"a profile named {name!r} exists already")
            target["name"] = name
            result.update(target)
            return entries

        self.update(apply)
        self._rewrite_meta(result)
        return result

    def delete(self, profile_id: str) -> None:
        """Delete a profile: tombstone its pool, remove the entry (the commit
        point), then remove the data (failures there are logged, not raised).

        Once this returns, no change can bring the pool back: a change racing
        the delete either committed before the tombstone (its objects go with
        the rest) or raises :class:`PoolDeletedError` and removes what it wrote.
        """
        entry = self.get(profile_id)
        pool = Pool(self.store, profile_id)
        try:
            pool.mark_deleted(entry["name"])
            reachable = True
        except InvalidKeyError:
            # The folder is a link, which a local store never follows: no
            # change can reach the pool either, so there is nothing to
            # tombstone; only the link goes, after the commit.
            reachable = False
        attempts: list[None] = []

        def apply(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
            attempts.append(None)
            if not any(e["id"] == profile_id for e in entries):
                if len(attempts) > 1:  # gone since our first attempt: the goal is met
                    return entries
                raise ProfileNotFoundError(f"no profile with id {profile_id!r}")
            return [e for e in entries if e["id"] != profile_id]

        self.update(apply)
        if reachable:
            pool.discard_deleted()
            return
        try:
            self.store.delete_prefix(profile_id)
        except Exception as exc:  # noqa: BLE001 - after the commit an error answer would be wrong
            log.warning("deleted profile %s: could not remove its folder from %s: %s", profile_id, self.store.url, exc)

    def duplicate(
        self, src_id: str, new_id: str, name: str | None = None, progress: Progress | None = None
    ) -> dict[str, Any]:
        """Copy a profile's data (server-side where the store can) under ``new_id``,
        then register it; a taken name becomes ``name (2)``."""
        source = self.get(src_id)
        validate_id(new_id)
        name = validate_name(name) if name is not None else source["name"]
        entry = _entry(new_id, name, None)
        self.check_new(entry, name_must_be_free=False)
        self.write_meta(entry)
        try:
            copy_pool(Pool(self.store, src_id), Pool(self.store, new_id), progress)
            return self.commit(entry, rename_on_collision=True)
        except BaseException:
            self.undo_new(new_id)
            raise

    def seed(self, from_pool: str, to_id: str, progress: Progress | None = None) -> dict[str, Any]:
        """Copy the contents of pool ``from_pool`` into the empty profile ``to_id``.

        The target's manifest update is the commit point; it is refused (and
        the copied objects removed) if the target got images meanwhile.
        """
        source = Pool(self.store, from_pool)
        self.get(to_id)
        target = Pool(self.store, to_id)
        if target.read()["slots"]:
            raise ConflictError("the profile is not empty; seeding only fills an empty profile")
        return copy_pool(source, target, progress, only_if_empty=True)

    def adopt(self, pool_id: str, name: str) -> dict[str, Any]:
        """Register the existing, unnamed pool ``pool_id`` under ``name``."""
        pool = Pool(self.store, pool_id)
        name = validate_name(name)
        entries = self.list()
        if any(e["id"] == pool_id for e in entries):
            raise ConflictError(f"pool {pool_id!r} is a registered profile already")
        if _taken(entries, name):
            raise NameTakenError(f"a profile named {name!r} exists already")
        if not pool.exists():
            raise ProfileNotFoundError(f"no pool with id {pool_id!r}")
        if pool.is_deleted():
            raise PoolDeletedError(f"pool {pool_id!r} was deleted")
        pool.check_new_folder()
        entry = _entry(pool_id, name, None)
        self.write_meta(entry)
        try:
            return self.commit(entry, rename_on_collision=False)
        except BaseException:
            # The pool's data is the user's: only the self-description goes.
            if not any(e["id"] == pool_id for e in self.list()):
                self.store.delete(pool.key(PROFILE_META))
            raise


def copy_pool(
    src: Pool, dst: Pool, progress: Progress | None = None, *, only_if_empty: bool = False
) -> dict[str, Any]:
    """Copy the objects ``src``'s manifest names into ``dst`` (inside one store,
    server-side where capable, or across stores), then commit ``dst``'s manifest.

    The manifest read first is the snapshot copied; ``dst``'s manifest update
    is the commit point. Up to :data:`COPY_WORKERS` objects are copied at
    once (a copy is a request round trip on remote stores).

    With ``only_if_empty`` (seeding a profile that exists already) the commit
    is refused if ``dst`` got images meanwhile, and every object is copied
    under a fresh name: a name ``dst`` used before (an image since removed)
    or one a concurrent add is writing is never given other bytes.
    """
    manifest = src.read()
    if only_if_empty:
        manifest = _renamed_for(manifest, dst.read()["next_seq"])
    else:
        refuse_unportable(manifest)
    pairs: list[tuple[str, str]] = []
    for slot in manifest["slots"]:
        pairs.append((slot.pop("_from_image", slot["image"]), slot["image"]))
        old_mask = slot.pop("_from_mask", slot.get("mask"))
        if old_mask:
            pairs.append((old_mask, slot["mask"]))
    same = src.store is dst.store
    copied: list[str] = []

    def apply(m: dict[str, Any]) -> dict[str, Any]:
        if only_if_empty and m["slots"]:
            raise ConflictError("the profile is not empty any more")
        return {**manifest, "next_seq": max(manifest["next_seq"], m["next_seq"])}

    def copy_one(pair: tuple[str, str]) -> int:
        old, new = pair
        if same:
            dst.store.copy(src.key(old), dst.key(new))
        else:
            dst.store.copy_from(src.store, src.key(old), dst.key(new))
        copied.append(new)  # by the worker, so a failure elsewhere still sees it
        return 0

    finished = itertools.count(1)

    def done(_size: int) -> None:
        if progress:
            progress(next(finished), len(pairs), 0, 0)

    try:
        from ._staging import run_bounded  # late: _staging builds on this module

        run_bounded(pairs, copy_one, max_workers=COPY_WORKERS, done=done)
        return dst.update(apply)
    except BaseException:
        dst.discard_uncommitted(copied)
        raise


def refuse_unportable(manifest: dict[str, Any]) -> None:
    """:class:`ConflictError` if copying the objects ``manifest`` names would
    make a folder some filesystems cannot hold (see
    :func:`~poolstore.manifest.portability_problem`)."""
    problem = portability_problem(n for s in manifest["slots"] for n in (s["image"], s.get("mask")) if n)
    if problem:
        raise ConflictError(f"the profile cannot be copied as it is: {problem} (not allowed on Windows)")


def _renamed_for(manifest: dict[str, Any], next_seq: int) -> dict[str, Any]:
    """``manifest`` with every image and mask given a fresh, unique name.

    Names are ``img_<seq>-<token>.<ext>`` from ``next_seq`` on; the token makes
    them unique even against a concurrent add. Each slot remembers its source
    names under ``_from_image``/``_from_mask`` for :func:`copy_pool`.
    """
    slots = []
    for seq, slot in enumerate(manifest["slots"], start=next_seq):
        stem = f"img_{seq:04d}-{uuid.uuid4().hex[:6]}"
        ext = slot["image"].rsplit(".", 1)[-1].lower()
        mask = slot.get("mask")
        slots.append({
            **slot,
            "_from_image": slot["image"],
            "_from_mask": mask,
            "image": f"{stem}.{ext}",
            "mask": f"{stem}.mask.{uuid.uuid4().hex[:8]}.png" if mask else None,
        })
    return {**manifest, "slots": slots, "next_seq": next_seq + len(slots)}


def _taken(entries: list[dict[str, Any]], name: str) -> bool:
    folded = name.casefold()
    return any(e["name"].casefold() == folded for e in entries)


def _entry(profile_id: str, name: str, created: Any) -> dict[str, Any]:
    stamp = created if isinstance(created, int) and not isinstance(created, bool) else int(time.time())
    return {"id": profile_id, "name": name, "created": stamp}


def _parse(raw: bytes | None) -> dict[str, Any] | None:
    """The registry document, or ``None`` when absent or corrupt."""
    if raw is None:
        return None
    try:
        doc = load_json(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("profiles"), list):
        return None
    entries, seen = [], set()
    for e in doc["profiles"]:
        try:
            ident, name = validate_id(e["id"]), validate_name(e["name"])
        except (KeyError, TypeError, ValueError):
            continue
        if ident not in seen:
            seen.add(ident)
            entries.append({**e, "id": ident, "name": name, "created": _entry(ident, name, e.get("created"))["created"]})
    return {**doc, "profiles": entries}
