"""One image pool: its manifest and the image and mask objects beside it.

Commit points
-------------
Every change writes new objects first (create-only, never over an existing
key) and then updates ``<id>/manifest.json`` by compare-and-swap; that update
is the commit point. Objects a change supersedes (an old mask, a removed
image) are deleted after the commit. A change that fails before its commit
leaves at most unreferenced objects, which :mod:`poolstore.check` lists.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from ._layers import KeyNotFoundError, PreconditionFailedError, Store, update_json
from .errors import ConflictError, InvalidInputError, SlotNotFoundError
from .ids import validate_id
from .images import as_mask_png, inspect_image
from .manifest import empty_manifest, normalize, parse_manifest, rebuild_from_objects, slot_seq

__all__ = ["Pool", "Slot"]

Slot = int | str
"""A slot is addressed by its index or (stable) by its image file name."""

MAX_LABEL = 500


class Pool:
    """The pool ``pool_id`` in ``store``.

    Parameters
    ----------
    store
        Where the pool lives; the pool does not own or close it.
    pool_id
        A validated id (``[A-Za-z0-9][A-Za-z0-9_-]{0,63}``).
    """

    def __init__(self, store: Store, pool_id: str) -> None:
        self.store = store
        self.id = validate_id(pool_id)
        self.manifest_key = f"{self.id}/manifest.json"

    def key(self, name: str) -> str:
        """The store key of a file of this pool."""
        return f"{self.id}/{name}"

    # -- reading ---------------------------------------------------------------
    def read(self) -> dict[str, Any]:
        """The manifest (one request). Missing: empty. Corrupt: rebuilt from objects."""
        return self._load(self._raw())

    def _raw(self) -> bytes | None:
        try:
            return self.store.read(self.manifest_key)
        except KeyNotFoundError:
            return None

    def _load(self, raw: bytes | None) -> dict[str, Any]:
        if raw is None:
            return empty_manifest()
        try:
            return parse_manifest(raw)
        except (ValueError, UnicodeDecodeError):
            return rebuild_from_objects(self.store.list(self.id), self.id)

    def exists(self) -> bool:
        """Whether the pool has a manifest or any object (one listing request)."""
        return bool(self.store.list(self.id))

    def slot_index(self, manifest: dict[str, Any], slot: Slot) -> int:
        """Resolve an index or image name against ``manifest``."""
        slots = manifest["slots"]
        if isinstance(slot, bool):
            raise InvalidInputError("a slot is an index or an image name")
        if isinstance(slot, int):
            if 0 <= slot < len(slots):
                return slot
            raise SlotNotFoundError(f"no slot {slot} (the pool has {len(slots)})")
        if isinstance(slot, str):
            for i, s in enumerate(slots):
                if s["image"] == slot:
                    return i
            raise SlotNotFoundError(f"no slot with image {slot[:80]!r}")
        raise InvalidInputError("a slot is an index or an image name")

    # -- the one way to change the manifest ----------------------------------------
    def update(self, fn: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        """Apply ``fn`` to the manifest by compare-and-swap (the commit point)."""
        return update_json(self.store, self.manifest_key, lambda m: normalize(fn(m)), load=self._load)

    # -- changes ---------------------------------------------------------------
    def add(self, images: Iterable[bytes], labels: Iterable[str] | None = None) -> list[str]:
        """Add images (validated by decoding); returns their image names in order."""
        infos = [inspect_image(data) for data in images]
        labels = [_check_label(x) for x in (labels or [])]
        start = self.read()["next_seq"]
        names = []
        try:
            for info in infos:
                name, start = self._put_new(start, info.ext, info.data)
                names.append(name)
            now = int(time.time())

            def apply(m: dict[str, Any]) -> dict[str, Any]:
                present = {s["image"] for s in m["slots"]}
                for i, name in enumerate(names):
                    if name not in present:
                        label = labels[i] if i < len(labels) else ""
                        m["slots"].append({"image": name, "mask": None, "label": label, "added": now})
                m["next_seq"] = max(m["next_seq"], *(slot_seq(n) + 1 for n in names))
                return m

            if names:
                self.update(apply)
        except BaseException:
            self.discard_uncommitted(names)
            raise
        return names

    def discard_uncommitted(self, names: list[str]) -> None:
        """Delete objects of a failed change that its manifest does not name.

        The manifest is read again first: a server may report an error after
        it stored the update, and then the objects are committed data. If even
        that read fails, the objects stay (orphans for :mod:`poolstore.check`).
        """
        if not names:
            return
        try:
            named = {n for s in self.read()["slots"] for n in (s["image"], s.get("mask")) if n}
        except Exception:  # noqa: BLE001 - best effort; the original error is what matters
            return
        self.store.delete_many([self.key(n) for n in names if n not in named])

    def _put_new(self, seq: int, ext: str, data: bytes) -> tuple[str, int]:
        """Store ``data`` under the first free ``img_NNNN.ext``; never overwrites."""
        for _ in range(1000):
            name = f"img_{seq:04d}.{ext}"
            try:
                _create(self.store, self.key(name), data)
                return name, seq + 1
            except PreconditionFailedError:
                seq += 1
        raise PreconditionFailedError("could not find a free image name")

    def remove(self, slot: Slot) -> dict[str, Any]:
        """Remove a slot; its image and mask objects are deleted after the commit."""
        removed: list[str] = []
        attempts: list[None] = []

        def apply(m: dict[str, Any]) -> dict[str, Any]:
            attempts.append(None)
            if isinstance(slot, str) and len(attempts) > 1 and all(s["image"] != slot for s in m["slots"]):
                return m  # removed since our first attempt: the goal is met
            i = self.slot_index(m, slot)
            gone = m["slots"].pop(i)
            removed[:] = [gone["image"]] + ([gone["mask"]] if gone.get("mask") else [])
            if m["active"] > i or m["active"] >= len(m["slots"]):
                m["active"] = max(m["active"] - 1, 0)
            return m

        manifest = self.update(apply)
        self.store.delete_many([self.key(n) for n in removed])
        return manifest

    def set_active(self, slot: Slot) -> dict[str, Any]:
        """Make ``slot`` the active (selected) one."""
        return self.update(lambda m: {**m, "active": self.slot_index(m, slot)})

    def set_label(self, slot: Slot, label: str) -> dict[str, Any]:
        """Set the label of ``slot``."""
        label = _check_label(label)

        def apply(m: dict[str, Any]) -> dict[str, Any]:
            m["slots"][self.slot_index(m, slot)]["label"] = label
            return m

        return self.update(apply)

    def reorder(self, order: list[Slot]) -> dict[str, Any]:
        """Put the slots in ``order`` (every slot once, by index or image name).

        The active slot stays the same image. An order that misses slots added
        meanwhile raises :class:`ConflictError`; a repeated slot is invalid input.
        """
        if not isinstance(order, list):
            raise InvalidInputError("order must be a list of slots")

        if not order:
            raise InvalidInputError("order must name every slot exactly once")

        def apply(m: dict[str, Any]) -> dict[str, Any]:
            idx = [self.slot_index(m, s) for s in order]
            if len(set(idx)) != len(idx):
                raise InvalidInputError("order must name every slot exactly once")
            if len(idx) != len(m["slots"]):
                # Distinct slots, but not all of them: the pool changed since the
                # order was made (a teammate added an image). Not the caller's bug.
                raise ConflictError(
                    f"the pool changed: the order names {len(idx)} of its {len(m['slots'])} images; reload and retry"
                )
            active_image = m["slots"][m["active"]]["image"] if m["slots"] else None
            m["slots"] = [m["slots"][i] for i in idx]
            m["active"] = next((i for i, s in enumerate(m["slots"]) if s["image"] == active_image), 0)
            return m

        return self.update(apply)

    def set_mask(self, slot: Slot, mask: bytes | None) -> dict[str, Any]:
        """Attach a mask (PNG, white = masked) to ``slot``, or clear it with ``None``.

        The mask is written as a new object; the old one is deleted after the commit.
        """
        data = as_mask_png(mask) if mask is not None else None
        current = self.read()
        image = current["slots"][self.slot_index(current, slot)]["image"]
        stem = image.rsplit(".", 1)[0]
        new_name = f"{stem}.mask.{uuid.uuid4().hex[:8]}.png" if data is not None else None
        if data is not None:
            _create(self.store, self.key(new_name), data)
        old: list[str] = []

        def apply(m: dict[str, Any]) -> dict[str, Any]:
            s = m["slots"][self.slot_index(m, image)]
            old[:] = [s["mask"]] if s.get("mask") and s["mask"] != new_name else []
            s["mask"] = new_name
            return m

        try:
            manifest = self.update(apply)
        except BaseException:
            self.discard_uncommitted([new_name] if new_name else [])
            raise
        self.store.delete_many([self.key(n) for n in old])
        return manifest

    def rebuild(self) -> dict[str, Any]:
        """Rebuild the manifest from the objects present, by compare-and-swap.

        Images keep their label, mask and order from a readable manifest;
        images it does not name are appended, slots whose image is gone are
        dropped. A corrupt manifest loses its labels.
        """

        def apply(m: dict[str, Any]) -> dict[str, Any]:
            objects = self.store.list(self.id)
            present = {o.key[len(self.id) + 1 :] for o in objects}
            fresh = {s["image"]: s for s in rebuild_from_objects(objects, self.id)["slots"]}
            kept = [s for s in m["slots"] if s["image"] in present]
            for s in kept:
                if s.get("mask") and s["mask"] not in present:
                    s["mask"] = fresh.get(s["image"], {}).get("mask")
            known = {s["image"] for s in kept}
            return {**m, "slots": kept + [s for name, s in fresh.items() if name not in known]}

        return self.update(apply)

    def delete_all(self) -> None:
        """Remove the pool's folder and everything in it."""
        self.store.delete_prefix(self.id)


def _create(store: Store, key: str, data: bytes) -> None:
    if store.capabilities.conditional_write:
        store.create(key, data)
        return
    if store.exists(key):
        raise PreconditionFailedError(f"{key} exists already")
    store.write(key, data)


def _check_label(label: object) -> str:
    if not isinstance(label, str):
        raise InvalidInputError("a label must be text")
    if len(label) > MAX_LABEL:
        raise InvalidInputError(f"a label is at most {MAX_LABEL} characters")
    if any(ord(c) < 32 and c not in "\t" for c in label):
        raise InvalidInputError("a label cannot contain control characters")
    return label
