"""One image pool: its manifest and the image and mask objects beside it.

Commit points
-------------
Every change writes new objects first (create-only, never over an existing
key) and then updates ``<id>/manifest.json`` by compare-and-swap; that update
is the commit point. Objects a change supersedes (an old mask, a removed
image) are deleted after the commit; a failure there is logged, never
raised, since the change has committed. A change that fails before its
commit removes the objects it wrote, or leaves them as unreferenced
objects, which :mod:`poolstore.check` lists.

A deleted profile's manifest is a tombstone (:func:`~poolstore.manifest.tombstone`):
every change to it raises :class:`PoolDeletedError` at its compare-and-swap,
so a change racing a delete either commits before the tombstone (and its
objects go with the pool) or is refused and removes what it wrote.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable
from typing import IO, Any

from ._layers import InvalidKeyError, KeyNotFoundError, PreconditionFailedError, Store, update_json
from .errors import ConflictError, InvalidInputError, PoolDeletedError, SlotNotFoundError
from .ids import has_unprintable, validate_id, validate_new_id
from .images import MAX_IMAGE_BYTES, as_mask_png, inspect_image
from .manifest import (
    empty_manifest,
    is_tombstone,
    named_objects,
    normalize,
    parse_manifest,
    rebuild_from_objects,
    slot_seq,
    tombstone,
)

__all__ = ["Pool", "Slot", "ImageSource"]

log = logging.getLogger("poolstore.pool")

Slot = int | str
"""A slot is addressed by its index or (stable) by its image file name."""
ImageSource = bytes | IO[bytes] | os.PathLike
"""An image to add: its bytes, a seekable binary file, or the path of a file."""

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
        """The manifest (one request). Missing: empty. Corrupt: rebuilt from objects.
        Deleted: empty, with the tombstone's ``deleted`` mark."""
        manifest = self.read_stored()
        if is_tombstone(manifest):
            return {**manifest, "active": 0, "slots": []}
        return manifest

    def read_stored(self) -> dict[str, Any]:
        """The manifest as stored: a tombstone with the slots an older version
        may have added to it (what :mod:`poolstore.check` reports)."""
        return self._load(self._raw())

    def is_deleted(self) -> bool:
        """Whether the pool's manifest is a tombstone (one request)."""
        return is_tombstone(self.read_stored())

    def _live(self) -> dict[str, Any]:
        """The manifest; :class:`PoolDeletedError` for a tombstone."""
        manifest = self.read_stored()
        self._refuse_deleted(manifest)
        return manifest

    def _refuse_deleted(self, manifest: dict[str, Any]) -> None:
        if is_tombstone(manifest):
            raise PoolDeletedError(f"pool {self.id!r} was deleted")

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

    def check_new_folder(self) -> None:
        """Refuse to make this pool's folder if Windows could not hold it: a
        device name (:func:`~poolstore.ids.validate_new_id`), or another folder
        whose name differs only in case (one folder on Windows and macOS).
        One listing of the store's folders."""
        validate_new_id(self.id)
        folded = self.id.casefold()
        twin = next((d for d in self.store.list_dirs() if d != self.id and d.casefold() == folded), None)
        if twin is not None:
            raise ConflictError(f"a pool {twin!r} exists already: ids may not differ only in case")

    def slot_index(self, manifest: dict[str, Any], slot: Slot) -> int:
        """Resolve an index or image name against ``manifest`` (a name: one scan)."""
        found = None
        if isinstance(slot, str):
            found = next((i for i, s in enumerate(manifest["slots"]) if s["image"] == slot), None)
        return _resolved(manifest, slot, found)

    # -- the one way to change the manifest ----------------------------------------
    def update(self, fn: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        """Apply ``fn`` to the manifest by compare-and-swap (the commit point).

        A tombstone refuses every change (:class:`PoolDeletedError`), checked
        inside the compare-and-swap, so no change commits after a delete's.
        """

        def apply(m: dict[str, Any]) -> dict[str, Any]:
            self._refuse_deleted(m)
            return normalize(fn(m))

        return update_json(self.store, self.manifest_key, apply, load=self._load)

    # -- changes ---------------------------------------------------------------
    def add(self, images: Iterable[ImageSource], labels: Iterable[str] | None = None) -> list[str]:
        """Add images; returns their image names in order.

        Every image is checked first (:func:`~poolstore.images.inspect_image`:
        PNG, JPEG or WebP within the limits), one at a time, so files given
        as sources are never all in memory at once; nothing is written unless
        all pass. What is stored is the image alone: bytes after its end (a
        video appended to a phone photo, padding) are left out.
        """
        sources = list(images)
        checked = [_check_image(source) for source in sources]
        labels = [_check_label(x) for x in (labels or [])]
        try:
            raw = self._raw()
        except InvalidKeyError:
            self.check_new_folder()  # a name the store cannot hold: say why
            raise
        if raw is None:  # the first add makes the pool
            self.check_new_folder()
        current = self._load(raw)
        self._refuse_deleted(current)
        start = current["next_seq"]
        names = []
        try:
            for source, (ext, digest, size) in zip(sources, checked):
                data = _image_bytes(source, digest, size)
                name, start = self._put_new(start, ext, data)
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
        that read fails, the objects stay (orphans for :mod:`poolstore.check`):
        this runs while another error propagates, so it logs and never raises.
        """
        if not names:
            return
        try:
            named = set(named_objects(self.read()))
            self.store.delete_many([self.key(n) for n in names if n not in named])
        except Exception as exc:  # noqa: BLE001 - best effort; the original error is what matters
            log.warning("could not remove the uncommitted objects of pool %s: %s", self.id, exc)

    def _put_new(self, seq: int, ext: str, data: bytes) -> tuple[str, int]:
        """Store ``data`` under the first free ``img_NNNN.ext``; never overwrites."""
        for _ in range(1000):
            name = f"img_{seq:04d}.{ext}"
            try:
                self.store.create(self.key(name), data)
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
        self._remove_superseded(removed)
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
            resolve = _slot_resolver(m)
            idx = [resolve(s) for s in order]
            if len(set(idx)) != len(idx):
                raise InvalidInputError("order must name every slot exactly once")
            if len(idx) != len(m["slots"]):
                # Distinct slots, but not all of them: the pool changed since the
                # order was made (a teammate added an image). Not the caller's bug.
                raise ConflictError(
                    f"the pool changed: the order names {len(idx)} of its {len(m['slots'])} images; reload and retry"
                )
            m["active"] = idx.index(m["active"]) if m["slots"] else 0
            m["slots"] = [m["slots"][i] for i in idx]
            return m

        return self.update(apply)

    def set_mask(self, slot: Slot, mask: bytes | None) -> dict[str, Any]:
        """Attach a mask (PNG, white = masked) to ``slot``, or clear it with ``None``.

        The mask is written as a new object; the old one is deleted after the commit.
        """
        data = as_mask_png(mask) if mask is not None else None
        current = self._live()
        image = current["slots"][self.slot_index(current, slot)]["image"]
        stem = image.rsplit(".", 1)[0]
        new_name = None
        if data is not None:
            new_name = f"{stem}.mask.{uuid.uuid4().hex[:8]}.png"
            self.store.create(self.key(new_name), data)
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
        self._remove_superseded(old)
        return manifest

    def _remove_superseded(self, names: list[str]) -> None:
        """Delete objects a committed change no longer names. The change has
        committed, so a failure is logged (the objects stay as orphans for
        :mod:`poolstore.check`), never raised."""
        try:
            self.store.delete_many([self.key(n) for n in names])
        except Exception as exc:  # noqa: BLE001 - after the commit an error answer would be wrong
            log.warning("pool %s: could not remove superseded objects %s: %s", self.id, names, exc)

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

    # -- deleting a profile's pool -------------------------------------------------
    def mark_deleted(self, name: str | None = None) -> dict[str, Any]:
        """Replace the manifest by a tombstone, by compare-and-swap (idempotent).

        From then on no change to the pool commits (each raises
        :class:`PoolDeletedError`), so nothing can bring the pool back. The
        objects stay until :meth:`discard_deleted`.
        """

        def apply(m: dict[str, Any]) -> dict[str, Any]:
            return m if is_tombstone(m) else tombstone(m, name)

        return update_json(self.store, self.manifest_key, apply, load=self._load)

    def discard_deleted(self) -> None:
        """Remove every object of a deleted pool but its tombstone (and images
        an older version may have named in it since: those are never deleted).

        Runs after the delete committed: a failure is logged, never raised;
        what stays is listed by :mod:`poolstore.check`.
        """
        try:
            objects = self.store.list(self.id)
            named = {self.key(n) for n in named_objects(self.read_stored())}
            self.store.delete_many([o.key for o in objects if o.key != self.manifest_key and o.key not in named])
        except Exception as exc:  # noqa: BLE001 - after the commit an error answer would be wrong
            log.warning("deleted pool %s: could not remove its objects from %s: %s", self.id, self.store.url, exc)


def _slot_resolver(manifest: dict[str, Any]) -> Callable[[Slot], int]:
    """``resolve(slot) -> index`` against ``manifest``, each call in constant
    time (the image names are indexed once), so resolving a whole order is
    linear in the pool's size."""
    by_image = {s["image"]: i for i, s in enumerate(manifest["slots"])}

    def resolve(slot: Slot) -> int:
        return _resolved(manifest, slot, by_image.get(slot) if isinstance(slot, str) else None)

    return resolve


def _resolved(manifest: dict[str, Any], slot: Slot, found: int | None) -> int:
    """The index of ``slot``: an int in range, or ``found`` (a name's index)."""
    count = len(manifest["slots"])
    if isinstance(slot, bool) or not isinstance(slot, (int, str)):
        raise InvalidInputError("a slot is an index or an image name")
    if isinstance(slot, int):
        if 0 <= slot < count:
            return slot
        raise SlotNotFoundError(f"no slot {slot} (the pool has {count})")
    if found is None:
        raise SlotNotFoundError(f"no slot with image {slot[:80]!r}")
    return found


def _read_source(source: ImageSource) -> bytes:
    """The bytes of an image source, refused past the image byte limit."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return source if isinstance(source, bytes) else bytes(source)
    if isinstance(source, os.PathLike):
        with open(source, "rb") as f:
            return _read_source(f)
    if not hasattr(source, "read"):
        raise InvalidInputError("an image is given as bytes or a binary file")
    source.seek(0)
    data = source.read(MAX_IMAGE_BYTES + 1)
    if not isinstance(data, bytes):
        raise InvalidInputError("an image is given as bytes or a binary file")
    return data


def _check_image(source: ImageSource) -> tuple[str, bytes, int]:
    """(extension, SHA-256, size) of the image in ``source``, decoded and checked."""
    info = inspect_image(_read_source(source))
    return info.ext, hashlib.sha256(info.data).digest(), len(info.data)


def _image_bytes(source: ImageSource, digest: bytes, size: int) -> bytes:
    """The checked image's bytes again (only the image), the same as checked."""
    data = _read_source(source)[:size]
    if hashlib.sha256(data).digest() != digest:
        raise ConflictError("an image changed while it was added; nothing was added")
    return data


def _check_label(label: object) -> str:
    if not isinstance(label, str):
        raise InvalidInputError("a label must be text")
    if len(label) > MAX_LABEL:
        raise InvalidInputError(f"a label is at most {MAX_LABEL} characters")
    if has_unprintable(label, allow="\t"):  # the names' rule; a label may hold a tab
        raise InvalidInputError("a label cannot contain control characters")
    return label
