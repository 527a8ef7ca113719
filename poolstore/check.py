"""Find and clear what interrupted operations leave behind.

Kinds of orphan:

``profile``
    A folder with ``profile.json`` but no registry entry: a create, import,
    duplicate or copy stopped before its commit, or a delete after its commit.
    Can be removed, or adopted (registered under the name in ``profile.json``).
    While ``profiles.json`` is missing or corrupt, folders it will be rebuilt
    from are not orphans.
``partial``
    An unregistered folder with objects but no manifest and no
    ``profile.json``: a first add to a new pool that stopped before its
    commit, or a per-node pool whose manifest was lost. The two look the same,
    so fixing never deletes images here: a folder holding images gets its
    manifest rebuilt (it is a pool again, ``restorable``); one holding none is
    removed. Per-node pools (manifest, no ``profile.json``) are not orphans.
``object``
    A file inside a pool folder that its manifest does not name (a superseded
    mask whose delete was interrupted, an add that lost its commit).

Only what is older than ``min_age`` seconds counts (every object of a folder,
for the folder kinds), so work in progress is left alone. Ages come from the
backend's modification times (S3: ``LastModified``, whole seconds).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass

from ._layers import KeyNotFoundError, ObjectInfo, Store
from .errors import InvalidNameError
from .ids import ID_PATTERN, validate_name
from .manifest import META_FILES, rebuild_from_objects
from .pool import Pool
from .registry import PROFILE_META, Registry

__all__ = ["Orphan", "find_orphans", "fix_orphans"]


@dataclass(frozen=True)
class Orphan:
    """One finding: its kind, the folder (pool id), the key, and a name if known."""

    kind: str
    pool_id: str
    key: str
    name: str | None = None
    size: int = 0
    restorable: bool = False

    def action(self, *, adopt: bool = False) -> str:
        """What :func:`fix_orphans` does with this orphan: removed, adopted or restored."""
        if self.kind == "profile" and adopt:
            return "adopted"
        return "restored" if self.restorable else "removed"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def find_orphans(store: Store, *, min_age: float = 600.0) -> list[Orphan]:
    """List the orphans in ``store`` (reads only)."""
    registered = {e["id"] for e in Registry(store).effective_list()}
    cutoff = time.time() - min_age
    found: list[Orphan] = []
    for folder in store.list_dirs():
        if not ID_PATTERN.fullmatch(folder):
            continue
        objects = store.list(folder)
        names = {o.key.split("/", 1)[1] for o in objects}
        settled = bool(objects) and all((o.mtime or 0) <= cutoff for o in objects)
        size = sum(o.size for o in objects)
        if folder not in registered and PROFILE_META in names:
            if settled:
                found.append(Orphan("profile", folder, folder, _meta_name(store, folder), size))
            continue
        if folder not in registered and "manifest.json" not in names:
            if settled:
                images = rebuild_from_objects(objects, folder)["slots"]
                found.append(Orphan("partial", folder, folder, None, size, restorable=bool(images)))
            continue
        if "manifest.json" not in names:
            continue  # a profile whose manifest is lost: its images are for Pool.rebuild, not strays
        found.extend(_stray_objects(store, folder, objects, cutoff))
    return found


def _named(store: Store, folder: str) -> set[str]:
    """The object names the pool's manifest references (read after listing,
    so an add that commits meanwhile is seen)."""
    manifest = Pool(store, folder).read()
    return {n for s in manifest["slots"] for n in (s["image"], s.get("mask")) if n}


def _stray_objects(store: Store, folder: str, objects: list[ObjectInfo], cutoff: float) -> list[Orphan]:
    named = _named(store, folder)
    out = []
    for o in objects:
        name = o.key.split("/", 1)[1]
        if name in META_FILES or name in named or "/" in name:
            continue
        if (o.mtime or 0) <= cutoff:
            out.append(Orphan("object", folder, o.key, None, o.size))
    return out


def _meta_name(store: Store, folder: str) -> str | None:
    try:
        meta = json.loads(store.read(f"{folder}/{PROFILE_META}"))
        return str(meta.get("name")) if isinstance(meta, dict) and meta.get("name") else None
    except (KeyNotFoundError, ValueError):
        return None


def fix_orphans(store: Store, orphans: list[Orphan], *, adopt: bool = False) -> list[Orphan]:
    """Remove each orphan, or with ``adopt`` register orphan profiles instead;
    partial folders holding images are restored as pools (see :meth:`Orphan.action`).

    Returns what was done. Each orphan is re-checked right before it is
    removed, so a profile registered meanwhile is not touched.
    """
    registry = Registry(store)
    done = []
    for o in orphans:
        registered = {e["id"] for e in registry.effective_list()}
        if o.kind in ("profile", "partial") and o.pool_id in registered:
            continue
        if o.kind == "object" and o.key.split("/", 1)[1] in _named(store, o.pool_id):
            continue
        if o.kind == "profile" and adopt:
            entry = {"id": o.pool_id, "name": _adopt_name(o), "created": int(time.time())}
            registry.commit(entry, rename_on_collision=True)
        elif o.kind == "partial" and o.restorable:
            Pool(store, o.pool_id).rebuild()
        elif o.kind in ("profile", "partial"):
            store.delete_prefix(o.pool_id)
        else:
            store.delete(o.key)
        done.append(o)
    return done


def _adopt_name(orphan: Orphan) -> str:
    try:
        return validate_name(orphan.name)
    except InvalidNameError:
        return orphan.pool_id
