"""A generic fsspec store for tests: fsspec's ``dir://`` filesystem over a
local folder or over fsspec's memory filesystem, opened through
``open_store`` as the plain :class:`backends.Store`, with a raw reader and
writer that reach its objects underneath it."""

from __future__ import annotations

import os
import uuid

from fsspec.implementations.memory import MemoryFileSystem

import backends

ROOT = "pools"


class GenericRaw:
    """Reads and writes a generic store's objects underneath it."""

    def __init__(self, target: str, base: str) -> None:
        self.target, self.base = target, base

    def keys(self) -> set[str]:
        if self.target == "memory":
            prefix = f"{self.base}/{ROOT}/"
            return {p[len(prefix):] for p in MemoryFileSystem.store if p.startswith(prefix)}
        top = os.path.join(self.base, ROOT)
        return {
            os.path.relpath(os.path.join(d, f), top).replace(os.sep, "/")
            for d, _dirs, files in os.walk(top) for f in files
        }

    def read(self, key: str) -> bytes:
        if self.target == "memory":
            return bytes(MemoryFileSystem.store[f"{self.base}/{ROOT}/{key}"].getvalue())
        with open(os.path.join(self.base, ROOT, *key.split("/")), "rb") as f:
            return f.read()

    def write(self, key: str, data: bytes) -> None:
        if self.target == "memory":
            MemoryFileSystem(skip_instance_cache=True).pipe_file(f"{self.base}/{ROOT}/{key}", data)
            return
        path = os.path.join(self.base, ROOT, *key.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    def forget(self) -> None:
        """Drop a memory store's objects (fsspec keeps them for the whole process)."""
        if self.target == "memory":
            for path in [p for p in MemoryFileSystem.store if p.startswith(f"{self.base}/")]:
                MemoryFileSystem.store.pop(path, None)


def open_generic(target: str, tmp_path) -> tuple[backends.Store, GenericRaw, dict]:
    """A generic store over ``target`` (``"file"``: a folder in ``tmp_path``;
    ``"memory"``), its raw accessor, and the storage options that open it."""
    base = str(tmp_path / "generic") if target == "file" else f"/generic-{uuid.uuid4().hex}"
    options = {"path": base, "target_protocol": target}
    return backends.open_store(f"dir://{ROOT}", options), GenericRaw(target, base), options
