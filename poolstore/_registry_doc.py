"""The registry document ``profiles.json`` and the ``profile.json`` beside each
profile's pool: entries, reading, and rebuilding a lost or corrupt registry.

Schema::

    {"profiles": [{"id": "...", "name": "...", "created": 1718960000}, ...]}

Entries with an invalid id or name are dropped when the document is read, as
are repeated ids. A document that is not JSON or has no ``profiles`` list is
corrupt: it reads as empty, and the next write keeps it aside
(:func:`keep_aside`) and starts from the entries :func:`rebuilt_entries`
recovers. Nothing here writes the document itself: see
:meth:`poolstore.Registry.update`.
"""

from __future__ import annotations

import re
import time
from typing import Any

from ._layers import KeyNotFoundError, PreconditionFailedError, Store, content_version, load_json
from .ids import validate_id, validate_name
from .pool import Pool

__all__ = ["REGISTRY_KEY", "PROFILE_META", "unique_name", "parse", "make_entry", "is_taken", "keep_aside",
           "rebuilt_entries"]

REGISTRY_KEY = "profiles.json"
PROFILE_META = "profile.json"

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


def is_taken(entries: list[dict[str, Any]], name: str) -> bool:
    """Whether an entry has the name ``name`` (case-insensitive)."""
    folded = name.casefold()
    return any(e["name"].casefold() == folded for e in entries)


def make_entry(profile_id: str, name: str, created: Any) -> dict[str, Any]:
    """The entry ``{"id", "name", "created"}``; ``created`` defaults to now."""
    stamp = created if isinstance(created, int) and not isinstance(created, bool) else int(time.time())
    return {"id": profile_id, "name": name, "created": stamp}


def parse(raw: bytes | None) -> dict[str, Any] | None:
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
            entries.append({**e, **make_entry(ident, name, e.get("created"))})
    return {**doc, "profiles": entries}


def keep_aside(store: Store, raw: bytes) -> None:
    """Keep the corrupt registry ``raw`` as ``profiles.json.corrupt-<hash>``
    (once: the same bytes kept before are not written again)."""
    try:
        store.create(f"{REGISTRY_KEY}.corrupt-{content_version(raw)[:12]}", raw)
    except PreconditionFailedError:
        pass


def rebuilt_entries(store: Store) -> list[dict[str, Any]]:
    """Entries recovered from the ``profile.json`` files of the store's
    folders, oldest first, colliding names made unique (a deleted profile
    whose ``profile.json`` stayed is skipped)."""
    entries = []
    for folder in store.list_dirs():
        try:
            meta = load_json(store.read(f"{folder}/{PROFILE_META}"))
            entry = make_entry(validate_id(folder), validate_name(meta["name"]), meta.get("created"))
        except (KeyNotFoundError, ValueError, KeyError, TypeError):
            continue
        if not Pool(store, folder).is_deleted():
            entries.append(entry)
    entries.sort(key=lambda e: (e["created"], e["name"]))
    names: set[str] = set()
    for e in entries:
        e["name"] = unique_name(e["name"], names)
        names.add(e["name"])
    return entries
