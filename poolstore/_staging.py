"""Shared steps of import and copy: a consistent snapshot of a profile, and
building a new profile under a fresh id that becomes visible only at its commit.

Commit point
------------
:func:`build_profile` writes ``<id>/profile.json`` first, then the objects,
then ``<id>/manifest.json``, and commits with the registry entry last
(``Registry.commit``, a taken name becomes ``name (2)``). Any failure before
the commit removes everything written under the id.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from ._layers import Store
from .ids import validate_id, validate_name
from .pool import Pool
from .progress import Tracker
from .registry import Progress, Registry

__all__ = ["Snapshot", "read_snapshot", "build_profile", "run_bounded"]

log = logging.getLogger("poolstore.transfer")
T = TypeVar("T")
BIG_OBJECT = 1024 * 1024
"""Streamed objects larger than this are copied one at a time (see :func:`run_bounded`)."""


@dataclass(frozen=True)
class Snapshot:
    """What a profile holds at one moment: its manifest and object sizes.

    ``names`` lists the objects the manifest names, in slot order (image,
    then mask); ``sizes`` maps each name to its size in bytes.
    """

    manifest: dict[str, Any]
    names: list[str]
    sizes: dict[str, int]

    @property
    def total_bytes(self) -> int:
        return sum(self.sizes.values())


def read_snapshot(store: Store, pool_id: str) -> Snapshot:
    """Read the manifest once, then list the folder once for sizes.

    Slots whose image is missing are left out (with a warning), missing
    masks are dropped from their slot: a copy never names absent objects.
    """
    manifest = Pool(store, pool_id).read()
    present = {o.key.split("/", 1)[1]: o.size for o in store.list(pool_id)}
    slots = []
    for slot in manifest["slots"]:
        if slot["image"] not in present:
            log.warning("%s/%s is named by the manifest but missing; left out", pool_id, slot["image"])
            continue
        if slot.get("mask") and slot["mask"] not in present:
            log.warning("%s/%s is named by the manifest but missing; left out", pool_id, slot["mask"])
            slot = {**slot, "mask": None}
        slots.append(slot)
    manifest = {**manifest, "slots": slots, "active": _active_after(manifest, slots)}
    names = list(dict.fromkeys(n for s in slots for n in (s["image"], s.get("mask")) if n))
    return Snapshot(manifest, names, {n: present[n] for n in names})


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


def run_bounded(
    items: Iterable[T],
    work: Callable[[T], int],
    *,
    max_workers: int,
    done: Callable[[int], None],
    weight: Callable[[T], int] | None = None,
    big: int = BIG_OBJECT,
) -> None:
    """Run ``work(item)`` for every item, small ones on up to ``max_workers`` threads.

    With ``weight`` (an item's size in bytes), items over ``big`` bytes run
    one at a time on the calling thread while the small ones run on the
    pool: large streamed objects are bandwidth-bound, and their buffers then
    stay in one allocator arena instead of one per thread. ``done(result)``
    is called in this thread as each item finishes, so an exception it
    raises stops the run. On any failure the items not started are
    cancelled, those running are waited for, and the error is re-raised.
    """
    items = list(items)
    size = weight or (lambda _item: 0)
    large = [item for item in items if size(item) > big]
    small = iter([item for item in items if size(item) <= big])
    if max_workers <= 1:
        for item in items:
            done(work(item))
        return
    with cf.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="poolstore") as pool:
        pending: set[cf.Future[int]] = set()

        def refill() -> None:
            while len(pending) < max_workers and (item := next(small, _END)) is not _END:
                pending.add(pool.submit(work, item))

        def collect(wait: bool) -> None:
            finished, _ = cf.wait(pending, timeout=None if wait else 0, return_when=cf.FIRST_COMPLETED)
            pending.difference_update(finished)
            for future in finished:
                done(future.result())

        try:
            refill()
            for item in large:
                done(work(item))
                collect(wait=False)
                refill()
            while pending:
                collect(wait=True)
                refill()
        except BaseException:
            for future in pending:
                future.cancel()
            cf.wait(pending)
            raise


_END: Any = object()


def build_profile(
    store: Store,
    profile_id: str,
    name: str,
    manifest: dict[str, Any],
    names: list[str],
    write: Callable[[str], int],
    *,
    sizes: dict[str, int],
    progress: Progress | None = None,
    max_workers: int = 4,
    streamed: bool = True,
) -> dict[str, Any]:
    """Make the profile ``profile_id`` called ``name`` in ``store``.

    ``write(name)`` stores the object ``<profile_id>/<name>`` (of
    ``sizes[name]`` bytes) and returns its size; ``streamed`` writes pass
    the bytes through this process, so objects over :data:`BIG_OBJECT`
    bytes go one at a time (server-side copies all run on ``max_workers``).
    Returns the committed
    registry entry (its name may have become ``name (2)``). Raises
    :class:`ConflictError` when the id is in use.
    """
    registry = Registry(store)
    entry = {"id": validate_id(profile_id), "name": validate_name(name), "created": int(time.time())}
    registry.check_new(entry, name_must_be_free=False)
    tracker = Tracker(progress, len(names), sum(sizes[n] for n in names))
    try:
        registry.write_meta(entry)
        tracker.start()
        run_bounded(names, write, max_workers=max_workers, done=tracker.file_done,
                    weight=sizes.__getitem__ if streamed else None)
        Pool(store, profile_id).update(lambda _current: dict(manifest))
        return registry.commit(entry, rename_on_collision=True)
    except BaseException:
        registry.undo_new(profile_id)
        raise
