"""The pool manifest document: parsing, normalising, rebuilding from objects.

Schema (compatible with existing pools)::

    {"active": 0, "next_seq": 3, "slots": [
        {"image": "img_0001.png", "mask": "img_0001.mask.png", "label": "", "added": 1718960000}]}

Unknown fields at either level are kept as they are.

A deleted profile's manifest stays behind as a *tombstone*, so that no late
change can bring the pool back (see :meth:`poolstore.Registry.delete`)::

    {"deleted": {"at": 1718960000, "name": "characters_A"}, "active": 0, "next_seq": 3, "slots": []}

``deleted`` is an object so that later fields can join it (a trash feature
may record where the trashed copy is); ``next_seq`` is kept, so a restored
pool never reuses an image name.
"""

from __future__ import annotations

import re
import time
from collections.abc import Container, Iterable
from typing import Any, TypeGuard

from ._layers import ObjectInfo, load_json
from .ids import is_reserved_file_name

__all__ = [
    "META_FILES",
    "empty_manifest",
    "parse_manifest",
    "normalize",
    "rebuild_from_objects",
    "is_object_name",
    "named_objects",
    "keep_present",
    "slot_seq",
    "tombstone",
    "is_tombstone",
    "without_mark",
    "portability_problem",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_IMAGE = re.compile(r"(?P<stem>.+?)\.(?P<ext>png|jpg|jpeg|webp)", re.IGNORECASE)
_MASK = re.compile(r"(?P<stem>.+?)\.mask(\.[A-Za-z0-9]+)?\.png", re.IGNORECASE)
_SEQ = re.compile(r"img_(\d+)", re.IGNORECASE)
META_FILES = {"manifest.json", "profile.json"}


def empty_manifest() -> dict[str, Any]:
    """The manifest of a pool with no images."""
    return {"active": 0, "next_seq": 1, "slots": []}


def tombstone(manifest: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    """The tombstone that replaces ``manifest`` when its profile is deleted."""
    mark: dict[str, Any] = {"at": int(time.time())}
    if name:
        mark["name"] = name
    return {"deleted": mark, "active": 0, "next_seq": manifest["next_seq"], "slots": []}


def is_tombstone(doc: dict[str, Any]) -> bool:
    """Whether the manifest ``doc`` is a deleted profile's tombstone."""
    return isinstance(doc.get("deleted"), dict)


def without_mark(manifest: dict[str, Any]) -> dict[str, Any]:
    """``manifest`` without a tombstone's ``deleted`` mark: what a copy of a
    deleted pool (which reads empty) holds, so that the copy is not deleted too."""
    return {k: v for k, v in manifest.items() if k != "deleted"}


def is_object_name(name: object) -> TypeGuard[str]:
    """A file name a manifest may point at: one safe path segment."""
    return isinstance(name, str) and bool(_NAME.fullmatch(name)) and ".." not in name


def named_objects(manifest: dict[str, Any]) -> list[str]:
    """The object names ``manifest``'s slots hold, each once, in slot order
    (an image, then its mask)."""
    return list(dict.fromkeys(n for s in manifest["slots"] for n in (s["image"], s.get("mask")) if n))


def keep_present(manifest: dict[str, Any], present: Container[str]) -> tuple[dict[str, Any], list[str]]:
    """``manifest`` naming only objects in ``present``, and the names it lost.

    A slot whose image is missing is left out; a missing mask is dropped
    from its slot (which keeps its image and label). The active slot stays
    on the same image; if that one is left out, on the slot now at its
    index (the last one past the end).
    """
    missing = [n for n in named_objects(manifest) if n not in present]
    if not missing:
        return manifest, []
    slots = []
    for slot in manifest["slots"]:
        if slot["image"] in present:
            slots.append(slot if not slot.get("mask") or slot["mask"] in present else {**slot, "mask": None})
    return {**manifest, "slots": slots, "active": _active_after(manifest, slots)}, missing


def _active_after(manifest: dict[str, Any], slots: list[dict[str, Any]]) -> int:
    old = manifest["slots"]
    if not slots:
        return 0
    if 0 <= manifest["active"] < len(old):
        image = old[manifest["active"]]["image"]
        for i, s in enumerate(slots):
            if s["image"] == image:
                return i
    return min(manifest["active"], len(slots) - 1)


def portability_problem(names: Iterable[str]) -> str | None:
    """Why a folder holding the objects ``names`` could not be made on every
    filesystem (a Windows device name, or two names that differ only in
    case), or ``None``."""
    seen: dict[str, str] = {}
    for name in names:
        if is_reserved_file_name(name):
            return f"{name[:80]!r} is a device name on Windows"
        twin = seen.setdefault(name.casefold(), name)
        if twin != name:
            return f"{twin[:80]!r} and {name[:80]!r} differ only in case"
    return None


def slot_seq(image: str) -> int:
    """The sequence number in ``img_0007.png`` (any case; 0 for other names)."""
    m = _SEQ.match(image)
    return int(m.group(1)) if m else 0


def parse_manifest(raw: bytes) -> dict[str, Any]:
    """Decode and normalise; raises ``ValueError`` when the bytes are not a
    manifest (not JSON, nested too deeply, not an object with a slot list)."""
    doc = load_json(raw)
    if not isinstance(doc, dict) or not isinstance(doc.get("slots", []), list):
        raise ValueError("not a pool manifest")
    return normalize(doc)


def normalize(doc: dict[str, Any]) -> dict[str, Any]:
    """Drop unsafe or duplicate slots, fill defaults, clamp ``active``."""
    out = dict(doc)
    slots, seen = [], set()
    for slot in doc.get("slots", []):
        if not isinstance(slot, dict) or not is_object_name(slot.get("image")):
            continue
        if slot["image"] in seen:
            continue
        seen.add(slot["image"])
        clean = dict(slot)
        if not is_object_name(clean.get("mask")):
            clean["mask"] = None
        label = clean.get("label")
        clean["label"] = label if isinstance(label, str) else ""
        if not isinstance(clean.get("added"), (int, float)):
            clean["added"] = 0
        slots.append(clean)
    out["slots"] = slots
    active = doc.get("active", 0)
    active = active if isinstance(active, int) and not isinstance(active, bool) else 0
    out["active"] = min(max(active, 0), max(len(slots) - 1, 0))
    top = max((slot_seq(s["image"]) for s in slots), default=0)
    next_seq = doc.get("next_seq", 1)
    next_seq = next_seq if isinstance(next_seq, int) and not isinstance(next_seq, bool) else 1
    out["next_seq"] = max(next_seq, top + 1, 1)
    return out


def rebuild_from_objects(objects: list[ObjectInfo], pool_id: str) -> dict[str, Any]:
    """A manifest naming the images (and latest masks) found under ``pool_id/``."""
    prefix = f"{pool_id}/"
    names = {o.key[len(prefix):]: o for o in objects if o.key.startswith(prefix) and "/" not in o.key[len(prefix):]}
    masks: dict[str, ObjectInfo] = {}
    images: list[tuple[str, str]] = []  # (name, stem)
    for name, info in names.items():
        if name in META_FILES or not is_object_name(name):
            continue
        m = _MASK.fullmatch(name)
        if m:
            best = masks.get(m.group("stem"))
            if best is None or (info.mtime or 0) >= (best.mtime or 0):
                masks[m.group("stem")] = info
            continue
        image = _IMAGE.fullmatch(name)
        if image:
            images.append((name, image.group("stem")))
    images.sort(key=lambda item: (slot_seq(item[0]), item[0]))
    slots = []
    for name, stem in images:
        mask = masks.get(stem)
        added = int(names[name].mtime or 0)
        slots.append({"image": name, "mask": mask.key[len(prefix):] if mask else None, "label": "", "added": added})
    return normalize({"active": 0, "next_seq": 1, "slots": slots})
