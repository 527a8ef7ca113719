"""Shared steps of making a profile from stored data (import, copy, duplicate,
seed): a snapshot of a pool, writing many objects at a bounded concurrency
with progress, and building a new profile under a fresh id that becomes
visible only at its commit.

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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from ._layers import Store
from ._registry_doc import make_entry
from .ids import validate_id, validate_name
from .manifest import keep_present, named_objects, without_mark
from .pool import Pool
from .progress import Progress, Tracker
from .registry import Registry

__all__ = ["Snapshot", "read_snapshot", "warn_missing", "write_all", "build_profile", "run_bounded"]

log = logging.getLogger("poolstore.transfer")
T = TypeVar("T")
BIG_OBJECT = 1024 * 1024
"""Streamed objects larger than this are copied one at a time (see :func:`run_bounded`)."""


@dataclass(frozen=True)
class Snapshot:
    """What the pool ``pool_id`` of ``store`` holds at one moment.

    ``original`` is its manifest as read; ``manifest`` the same naming only
    objects the store holds (:func:`~poolstore.manifest.keep_present`);
    ``sizes`` maps each object ``manifest`` names to its size in bytes, in
    slot order (an image, then its mask).
    """

    store: Store
    pool_id: str
    original: dict[str, Any]
    manifest: dict[str, Any]
    sizes: dict[str, int]

    @property
    def names(self) -> list[str]:
        return list(self.sizes)

    @property
    def total_bytes(self) -> int:
        return sum(self.sizes.values())


def read_snapshot(store: Store, pool_id: str) -> Snapshot:
    """Read the manifest once, then list the folder once for sizes.

    What the manifest names but the folder lacks is left out, with a
    warning (:func:`warn_missing`): a snapshot never names absent objects.
    A deleted pool's snapshot is an empty pool, without the tombstone's mark.
    """
    original = Pool(store, pool_id).read()
    present = {o.key.split("/", 1)[1]: o.size for o in store.list(pool_id)}
    manifest, missing = keep_present(without_mark(original), present)
    warn_missing(pool_id, missing)
    return Snapshot(store, pool_id, original, manifest, {n: present[n] for n in named_objects(manifest)})


def warn_missing(pool_id: str, names: Iterable[str]) -> None:
    """Log each object of ``pool_id`` a manifest names that is not there."""
    for name in names:
        log.warning("%s/%s is named by the manifest but missing; left out", pool_id, name)


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


def write_all(
    write: Callable[[str], int],
    sizes: dict[str, int],
    *,
    progress: Progress | None = None,
    max_workers: int = 4,
    streamed: bool = True,
) -> None:
    """Run ``write(name)`` (which stores one object and returns its size) for
    each object of ``sizes`` (name to size in bytes), up to ``max_workers`` at
    a time, reporting ``progress`` before the first and after each one.

    ``streamed`` writes pass the bytes through this process, so objects over
    :data:`BIG_OBJECT` bytes go one at a time (see :func:`run_bounded`);
    server-side copies all run on ``max_workers`` threads.
    """
    tracker = Tracker(progress, len(sizes), sum(sizes.values()))
    tracker.start()
    run_bounded(sizes, write, max_workers=max_workers, done=tracker.file_done,
                weight=sizes.__getitem__ if streamed else None)


def build_profile(
    store: Store,
    profile_id: str,
    name: str,
    sizes: dict[str, int],
    write: Callable[[str], int],
    manifest: Callable[[], dict[str, Any]],
    *,
    progress: Progress | None = None,
    max_workers: int = 4,
    streamed: bool = True,
) -> dict[str, Any]:
    """Make the profile ``profile_id`` called ``name`` in ``store``.

    ``write(name)`` stores the object ``<profile_id>/<name>`` of each name
    of ``sizes`` (see :func:`write_all`); ``manifest()``, called after every
    object is written, gives the profile's manifest. Returns the committed
    registry entry (its name may have become ``name (2)``). Raises
    :class:`ConflictError` when the id is in use.
    """
    registry = Registry(store)
    entry = make_entry(validate_id(profile_id), validate_name(name), None)
    registry.check_new(entry, name_must_be_free=False)
    try:
        registry.write_meta(entry)
        write_all(write, sizes, progress=progress, max_workers=max_workers, streamed=streamed)
        Pool(store, profile_id).update(lambda _current: manifest())
        return registry.commit(entry, rename_on_collision=True)
    except BaseException:
        registry.undo_new(profile_id)
        raise
