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
never silently overwritten (the corrupt bytes are kept aside first; see
:mod:`poolstore._registry_doc`).

Making a profile from another pool (duplicate, copy, move, seed, adopt) is
:mod:`poolstore.transfer`; it builds on :meth:`Registry.check_new`,
:meth:`Registry.write_meta`, :meth:`Registry.commit` and :meth:`Registry.undo_new`.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable
from typing import Any

from ._layers import InvalidKeyError, KeyNotFoundError, Store, dump_json, update_json
from ._registry_doc import PROFILE_META, REGISTRY_KEY, is_taken, keep_aside, make_entry, parse, rebuilt_entries, unique_name
from .errors import ConflictError, NameTakenError, ProfileNotFoundError
from .ids import validate_id, validate_name
from .pool import Pool

__all__ = ["Registry", "REGISTRY_KEY", "unique_name"]

log = logging.getLogger("poolstore.registry")


class Registry:
    """The named profiles of one store. Does not own the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- reading ---------------------------------------------------------------
    def list(self) -> list[dict[str, Any]]:
        """All entries, in creation order (one request while the registry is sound)."""
        doc = self._stored()
        # Missing or corrupt reads as empty; the next write rebuilds it (see _load_for_write).
        return doc["profiles"] if doc is not None else []

    def effective_list(self) -> builtins.list[dict[str, Any]]:
        """The entries, or while ``profiles.json`` is missing or corrupt, the
        entries the next write will rebuild it with (from ``profile.json`` files).

        What decides whether a folder is an orphan: a lost registry must not
        make every profile look like one.
        """
        doc = self._stored()
        return doc["profiles"] if doc is not None else rebuilt_entries(self.store)

    def _stored(self) -> dict[str, Any] | None:
        """The stored registry document; ``None`` when missing or corrupt."""
        try:
            return parse(self.store.read(REGISTRY_KEY))
        except KeyNotFoundError:
            return None

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
        doc = parse(raw)
        if doc is not None:
            return doc
        if raw is not None:
            keep_aside(self.store, raw)
        return {"profiles": rebuilt_entries(self.store)}

    # -- operations --------------------------------------------------------------
    def create(self, profile_id: str, name: str, created: int | None = None) -> dict[str, Any]:
        """Register a new, empty profile; a taken name is refused.

        ``profile_id`` must be unused (no entry, no data). ``profile.json`` is
        written first; the registry update is the commit point. On failure
        the new folder is removed again, unless the entry was committed.
        """
        entry = make_entry(validate_id(profile_id), validate_name(name), created)
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
        if name_must_be_free and is_taken(entries, entry["name"]):
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
            if is_taken(entries, name):
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
            if is_taken([e for e in entries if e["id"] != profile_id], name):
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
