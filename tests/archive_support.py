"""Helpers for the archive, transfer and CLI tests: a sample profile, its
state read around the store, and a store wrapper that fails on cue."""

from __future__ import annotations

import io
import os
import random
import threading
import zipfile
from collections.abc import Callable
from typing import Any

from PIL import Image

from support import Raw, png_bytes

import backends
from poolstore import Pool, Registry, new_id


def noise_png(size: tuple[int, int] = (32, 24), seed: int = 0) -> bytes:
    """A PNG of random pixels (does not compress)."""
    rng = random.Random(seed)
    img = Image.frombytes("RGB", size, bytes(rng.getrandbits(8) for _ in range(size[0] * size[1] * 3)))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def make_profile(store: Any, name: str = "characters_A", count: int = 3) -> str:
    """A registered profile with ``count`` images, masks on slots 0 and 2,
    labels on each, and the last slot active. Returns its id."""
    pid = new_id()
    Registry(store).create(pid, name)
    pool = Pool(store, pid)
    pool.add([noise_png((16 + i, 12), seed=i) for i in range(count)], [f"label {i}" for i in range(count)])
    for i in range(0, count, 2):
        pool.set_mask(i, png_bytes((16 + i, 12), (255, 255, 255), mode="L"))
    pool.set_active(count - 1)
    return pid


def raw_of(store: Any) -> Raw:
    return Raw(store, getattr(store, "_test_server", None))


def profile_state(store: Any, pid: str) -> dict[str, Any]:
    """Everything a profile holds, read around the store: per slot the image
    name and bytes, mask bytes and label, and the active slot."""
    import json

    raw = raw_of(store)
    manifest = json.loads(raw.read(f"{pid}/manifest.json"))
    slots = []
    for s in manifest["slots"]:
        mask = raw.read(f"{pid}/{s['mask']}") if s.get("mask") else None
        slots.append({"image": s["image"], "bytes": raw.read(f"{pid}/{s['image']}"), "mask": mask, "label": s["label"]})
    return {"active": manifest["active"], "slots": slots}


def registry_ids(store: Any) -> list[str]:
    return [e["id"] for e in Registry(store).list()]


def zip_bytes(entries: list[tuple[Any, bytes]], compression: int = zipfile.ZIP_STORED) -> bytes:
    """A zip of ``(name or ZipInfo, data)`` entries, written with :mod:`zipfile`."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def files_under(path: Any) -> set[str]:
    """Every file below ``path`` (relative paths)."""
    out = set()
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            out.add(os.path.relpath(os.path.join(dirpath, f), path))
    return out


class WriteOnly:
    """A sink with nothing but ``write``: not seekable, no ``tell``."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def write(self, data: bytes) -> int:
        self._buf += data
        return len(data)

    def getvalue(self) -> bytes:
        return bytes(self._buf)


class FailingStore:
    """A real store, wrapped: the write that ``fails(key, n)`` picks raises.

    ``n`` counts the image and mask objects written so far (1 = the first).
    Every other call goes to the wrapped store unchanged.
    """

    def __init__(self, inner: Any, fails: Callable[[str, int], bool]) -> None:
        self._inner = inner
        self._fails = fails
        self._lock = threading.Lock()
        self.object_writes = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _tick(self, key: str) -> None:
        n = 0
        if key.rsplit(".", 1)[-1] in ("png", "jpg", "webp"):
            with self._lock:
                self.object_writes += 1
                n = self.object_writes
        if self._fails(key, n):
            raise backends.StoreIOError(f"injected failure writing {key}")

    def write(self, key: str, data: bytes) -> str:
        self._tick(key)
        return self._inner.write(key, data)

    def write_if(self, key: str, data: bytes, version: str | None) -> str:
        self._tick(key)
        return self._inner.write_if(key, data, version)

    def create(self, key: str, data: bytes) -> str:
        self._tick(key)
        return self._inner.create(key, data)

    def open_write(self, key: str) -> Any:
        self._tick(key)
        return self._inner.open_write(key)

    def copy(self, src: str, dst: str) -> None:
        self._tick(dst)
        self._inner.copy(src, dst)

    def copy_from(self, other: Any, src: str, dst: str) -> None:
        self._tick(dst)
        self._inner.copy_from(getattr(other, "_inner", other), src, dst)


def fail_on_object(n: int) -> Callable[[str, int], bool]:
    """Fail the ``n``-th image or mask write."""
    return lambda key, count: count == n


__all__ = [
    "FailingStore",
    "WriteOnly",
    "fail_on_object",
    "files_under",
    "make_profile",
    "noise_png",
    "profile_state",
    "raw_of",
    "registry_ids",
    "zip_bytes",
]
