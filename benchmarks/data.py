"""The benchmark data: photo-like PNGs with masks, and profiles built from them.

Images are smooth colour fields (a few random control points upsampled
bicubically) plus Gaussian noise, so that like photographs they neither
compress to nothing nor are pure noise: about 1.9 MB per 1024x1024 PNG.
Every tenth image has no mask. Profiles are written into a store directly
(objects, manifest, ``profile.json``, registry entry), the way the library
lays them out, without decoding each image again.
"""

from __future__ import annotations

import concurrent.futures
import io
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from backends import Store, dump_json
from poolstore import Registry

__all__ = ["Item", "DataSet", "generate", "build_profile", "photo_png", "mask_png"]


@dataclass(frozen=True)
class Item:
    """One generated image file and its mask file (or ``None``)."""

    image: Path
    mask: Path | None
    label: str


@dataclass
class DataSet:
    """The generated files; ``total_bytes`` counts images and masks."""

    items: list[Item]
    size: int

    @property
    def total_bytes(self) -> int:
        return sum(i.image.stat().st_size + (i.mask.stat().st_size if i.mask else 0) for i in self.items)


def photo_png(seed: int, size: int) -> bytes:
    """A photo-like RGB PNG of ``size`` x ``size`` pixels."""
    rng = np.random.default_rng(seed)
    control = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(control).resize((size, size), Image.BICUBIC), dtype=np.float32)
    pixels = np.clip(base + rng.normal(0.0, 5.0, base.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def mask_png(seed: int, size: int) -> bytes:
    """A white ellipse (masked) on black, as a greyscale PNG."""
    rng = np.random.default_rng(seed + 7_919)
    img = Image.new("L", (size, size), 0)
    x0, y0 = (int(v) for v in rng.integers(0, size // 2, 2))
    w, h = (int(v) for v in rng.integers(size // 8, size // 2, 2))
    ImageDraw.Draw(img).ellipse((x0, y0, x0 + w, y0 + h), fill=255)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _write_one(folder: Path, i: int, size: int) -> Item:
    image = folder / f"photo_{i:04d}.png"
    image.write_bytes(photo_png(i, size))
    mask = None
    if i % 10 != 9:
        mask = folder / f"photo_{i:04d}.mask.png"
        mask.write_bytes(mask_png(i, size))
    return Item(image, mask, f"photo {i}")


def generate(folder: Path, count: int, size: int) -> DataSet:
    """Write ``count`` images (and masks) of ``size`` px into ``folder``, on every core."""
    folder.mkdir(parents=True, exist_ok=True)
    workers = max(os.cpu_count() or 1, 1)
    with concurrent.futures.ProcessPoolExecutor(workers) as pool:
        items = list(pool.map(_write_one, [folder] * count, range(count), [size] * count))
    return DataSet(items, size)


def build_profile(store: Store, profile_id: str, name: str, items: list[Item], *, slots: int | None = None) -> int:
    """Write a registered profile made of ``items`` into ``store``; returns its bytes.

    With ``slots`` larger than ``len(items)`` the items repeat under new image
    names (each slot still has objects of its own).
    """
    count = slots or len(items)
    manifest_slots, total = [], 0
    now = int(time.time())
    for n in range(count):
        item = items[n % len(items)]
        image = f"img_{n + 1:04d}.png"
        data = item.image.read_bytes()
        store.write(f"{profile_id}/{image}", data)
        total += len(data)
        mask = None
        if item.mask is not None:
            mask = f"img_{n + 1:04d}.mask.png"
            mask_data = item.mask.read_bytes()
            store.write(f"{profile_id}/{mask}", mask_data)
            total += len(mask_data)
        manifest_slots.append({"image": image, "mask": mask, "label": item.label, "added": now})
    manifest = {"active": 0, "next_seq": count + 1, "slots": manifest_slots}
    store.write(f"{profile_id}/manifest.json", dump_json(manifest))
    registry = Registry(store)
    entry = {"id": profile_id, "name": name, "created": now}
    registry.write_meta(entry)
    registry.commit(entry, rename_on_collision=True)
    return total


def register_many(store: Store, count: int, prefix: str = "bulk") -> None:
    """Put ``count`` entries into the registry at once (their folders hold a
    ``profile.json`` only): the cheap way to a store with many profiles."""
    now = int(time.time())
    entries = [{"id": f"{prefix}{i:05d}", "name": f"{prefix} profile {i}", "created": now} for i in range(count)]
    registry = Registry(store)
    registry.update(lambda current: [*current, *entries])
