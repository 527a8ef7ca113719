"""Find and clear what interrupted operations leave behind.

Kinds of orphan:

``profile``
    A folder with ``profile.json`` but no registry entry: a create, import,
    duplicate or copy stopped before its commit. Can be removed, or adopted
    (registered under the name in ``profile.json``). One whose manifest
    names images is ``kept`` by ``--fix`` (only adopting touches it): fixing
    never deletes images a manifest names. While ``profiles.json`` is
    missing or corrupt, folders it will be rebuilt from are not orphans.
``partial``
    An unregistered folder with objects but no manifest and no
    ``profile.json``: a first add to a new pool that stopped before its
    commit, or a per-node pool whose manifest was lost. The two look the same,
    so fixing never deletes images here: a folder holding images gets its
    manifest rebuilt (it is a pool again, ``restorable``); one holding none is
    removed. Per-node pools (manifest, no ``profile.json``) are not orphans.
``object``
    A file inside a pool folder that its manifest does not name (a superseded
    mask whose delete was interrupted, an add that lost its commit). In a
    deleted pool, every file but the tombstone (``profile.json`` too).
``deleted``
    A registered profile whose pool is a tombstone: a delete stopped between
    its tombstone and its registry update. Fixing finishes the delete.
``revived``
    A tombstone whose slots name images: an older version added them to the
    pool after it was deleted. Reported and ``kept`` (there is no trash to
    move them to); nothing here deletes them.

Only what is older than ``min_age`` seconds counts (every object of a folder,
for the folder kinds), so work in progress is left alone. Ages come from the
backend's modification times (S3: ``LastModified``, whole seconds).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from ._layers import KeyNotFoundError, ObjectInfo, Store, load_json
from .errors import ConflictError, InvalidNameError, ProfileNotFoundError
from .ids import ID_PATTERN, validate_name
from .manifest import META_FILES, is_tombstone, named_objects, rebuild_from_objects
from .pool import Pool
from ._registry_doc import PROFILE_META
from .registry import Registry

__all__ = ["Orphan", "find_orphans", "fix_orphans"]


MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Orphan:
    """One finding: its kind, the folder (pool id), the key, and a name if known.

    ``kept``: it holds images a manifest names, which fixing never deletes.
    """

    kind: str
    pool_id: str
    key: str
    name: str | None = None
    size: int = 0
    restorable: bool = False
    kept: bool = False

    def action(self, *, adopt: bool = False) -> str:
        """What :func:`fix_orphans` does with this orphan: removed, adopted,
        restored, deleted (an interrupted delete finished) or kept."""
        if self.kind == "profile" and adopt:
            return "adopted"
        if self.kept:
            return "kept"
        if self.kind == "deleted":
            return "deleted"
        return "restored" if self.restorable else "removed"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def find_orphans(store: Store, *, min_age: float = 600.0) -> list[Orphan]:
    """List the orphans in ``store`` (reads only)."""
    registered = {e["id"] for e in Registry(store).effective_list()}
    cutoff = time.time() - min_age
    found: list[Orphan] = []
    for folder in store.list_dirs():
        if ID_PATTERN.fullmatch(folder):
            found.extend(_folder_orphans(store, folder, folder in registered, cutoff))
    return found


def _folder_orphans(store: Store, folder: str, registered: bool, cutoff: float) -> list[Orphan]:
    objects = store.list(folder)
    names = {o.key.split("/", 1)[1] for o in objects}
    settled = bool(objects) and all((o.mtime or 0) <= cutoff for o in objects)
    size = sum(o.size for o in objects)
    # Read after listing, so an add that commits meanwhile is seen.
    manifest = Pool(store, folder).read_stored() if MANIFEST in names else None
    if manifest is not None and is_tombstone(manifest):
        return _deleted_pool(folder, manifest, objects, registered, cutoff)
    if not registered and PROFILE_META in names:
        named = bool(manifest and manifest["slots"])
        return [Orphan("profile", folder, folder, _meta_name(store, folder), size, kept=named)] if settled else []
    if not registered and manifest is None:
        if not settled:
            return []
        images = rebuild_from_objects(objects, folder)["slots"]
        return [Orphan("partial", folder, folder, None, size, restorable=bool(images))]
    if manifest is None:
        return []  # a profile whose manifest is lost: its images are for Pool.rebuild, not strays
    return _stray_objects(folder, objects, set(named_objects(manifest)), cutoff, META_FILES)


def _deleted_pool(
    folder: str, manifest: dict, objects: list[ObjectInfo], registered: bool, cutoff: float
) -> list[Orphan]:
    """Orphans of a deleted (tombstoned) pool."""
    mark = manifest["deleted"]
    name = mark.get("name") if isinstance(mark.get("name"), str) else None
    named = set(named_objects(manifest))
    found = []
    tomb = next(o for o in objects if o.key == f"{folder}/{MANIFEST}")
    if registered and (tomb.mtime or 0) <= cutoff:
        found.append(Orphan("deleted", folder, folder, name, sum(o.size for o in objects)))
    if named:
        size = sum(o.size for o in objects if o.key.split("/", 1)[1] in named)
        found.append(Orphan("revived", folder, folder, name, size, kept=True))
    return found + _stray_objects(folder, objects, named, cutoff, {MANIFEST})


def _named(store: Store, folder: str) -> set[str]:
    """The object names the pool's stored manifest references."""
    return set(named_objects(Pool(store, folder).read_stored()))


def _stray_objects(
    folder: str, objects: list[ObjectInfo], named: set[str], cutoff: float, keep: set[str]
) -> list[Orphan]:
    out = []
    for o in objects:
        name = o.key.split("/", 1)[1]
        if name in keep or name in named or "/" in name:
            continue
        if (o.mtime or 0) <= cutoff:
            out.append(Orphan("object", folder, o.key, None, o.size))
    return out


def _meta_name(store: Store, folder: str) -> str | None:
    try:
        meta = load_json(store.read(f"{folder}/{PROFILE_META}"))
        return str(meta.get("name")) if isinstance(meta, dict) and meta.get("name") else None
    except (KeyNotFoundError, ValueError):
        return None


def fix_orphans(store: Store, orphans: list[Orphan], *, adopt: bool = False) -> list[Orphan]:
    """Remove each orphan, or with ``adopt`` register orphan profiles instead;
    partial folders holding images are restored as pools, interrupted deletes
    finished, and images a manifest names kept (see :meth:`Orphan.action`).

    Returns what was done (``kept`` orphans included). Each orphan is
    re-checked right before it is changed, so a profile registered meanwhile,
    or an image a manifest names meanwhile, is not touched.
    """
    registry = Registry(store)
    done = []
    for o in orphans:
        if not _still_orphan(store, registry, o):
            continue
        action = o.action(adopt=adopt)
        if action == "adopted":
            entry = {"id": o.pool_id, "name": _adopt_name(o), "created": int(time.time())}
            try:
                registry.commit(entry, rename_on_collision=True)
            except ConflictError:
                continue  # its id differs only in case from a profile's: left as it is
        elif action == "deleted":
            try:
                registry.delete(o.pool_id)
            except ProfileNotFoundError:
                continue  # finished by someone else meanwhile
        elif action == "restored":
            Pool(store, o.pool_id).rebuild()
        elif action == "removed" and o.kind in ("profile", "partial"):
            store.delete_prefix(o.pool_id)
        elif action == "removed":
            store.delete(o.key)
        done.append(o)
    return done


def _still_orphan(store: Store, registry: Registry, o: Orphan) -> bool:
    """Whether ``o`` is still what it was found to be."""
    if o.kind == "object":
        return o.key.split("/", 1)[1] not in _named(store, o.pool_id)
    if o.kind in ("deleted", "revived"):
        return True
    if o.pool_id in {e["id"] for e in registry.effective_list()}:
        return False
    # A profile or partial folder: removing it must not take images a
    # manifest started to name meanwhile.
    return o.kept or o.restorable or not _named(store, o.pool_id)


def _adopt_name(orphan: Orphan) -> str:
    try:
        return validate_name(orphan.name)
    except InvalidNameError:
        return orphan.pool_id
