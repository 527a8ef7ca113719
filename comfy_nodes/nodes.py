"""The ComfyUI nodes: ``GridImagePool`` ("Image Pool (Grid)") and ``PoolProfile``.

Plain classes in ComfyUI's classic node API, usable without ComfyUI. Their
widgets hold ids only (``pool_id``, ``profile_id``); which store an id lives
in is server-side configuration (:mod:`comfy_nodes.config`), so workflows
never carry a credential. torch and numpy are imported when a node runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps

from ._layers import DEFAULT_STORE, Pool, decoded, parse_qualified, qualify
from .cache import DiskCache, ReadCache, default_cache_dir
from .config import configured_stores, images_cache_bytes
from .masks import mask_levels

__all__ = ["GridImagePool", "PoolProfile", "Selection", "select"]

MAX_INDEX = 1_000_000
_UNLINKED = object()  # IS_CHANGED's ``profile`` when the input is not connected


@dataclass(frozen=True)
class Selection:
    """What a pool node runs: its pool, the chosen slot (``None`` when empty)."""

    pool: Pool | None
    count: int
    index: int
    slot: dict[str, Any] | None

    def fingerprint(self, effective: str) -> str:
        """A hash of what the node's outputs depend on (objects are immutable
        under their keys, so keys stand for bytes)."""
        slot = self.slot or {}
        parts = [effective, self.index, self.count, slot.get("image"), slot.get("mask"), slot.get("label")]
        return hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()


def effective_id(pool_id: str | None, profile: str | None) -> str:
    """The pool a node reads: a connected ``profile`` wins over its own ``pool_id``."""
    return (profile or pool_id or "").strip()


def select(index: int, effective: str) -> Selection:
    """Resolve ``effective`` (maybe store-qualified) and pick the slot with one
    manifest read: ``index`` -1 means the active slot, else it is clamped."""
    if not effective:
        return Selection(None, 0, 0, None)
    store_name, ident = parse_qualified(effective)
    pool = Pool(configured_stores().get(store_name), ident)
    manifest = pool.read()
    slots = manifest["slots"]
    if not slots:
        return Selection(pool, 0, 0, None)
    chosen = manifest["active"] if index < 0 else min(index, len(slots) - 1)
    return Selection(pool, len(slots), chosen, slots[chosen])


def _read_cache() -> ReadCache:
    return ReadCache(DiskCache(default_cache_dir() / "images", images_cache_bytes))


def _image_tensor(data: bytes) -> Any:
    import numpy as np  # numpy and torch when a node runs: heavy, and torch is ComfyUI's
    import torch

    with decoded(data) as img:
        array = np.asarray(ImageOps.exif_transpose(img).convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array)[None, ...]


def _mask_tensor(data: bytes | None, width: int, height: int) -> Any:
    import numpy as np  # heavy: see _image_tensor
    import torch

    if data is None:
        return torch.zeros((1, height, width), dtype=torch.float32)
    with decoded(data) as img:
        levels = mask_levels(img)
        if levels.size != (width, height):
            levels = levels.resize((width, height), Image.Resampling.BILINEAR)
        array = np.asarray(levels, dtype=np.float32) / 255.0
    return torch.from_numpy(array)[None, ...]


class GridImagePool:
    """Image Pool (Grid): outputs the selected image of a pool with its mask,
    index, the pool's size and the slot's label.

    Masks are white (1.0) = masked, resized to the image; a mask stored the
    way ComfyUI's MaskEditor saves it (alpha 0 = masked) is read the same
    way ComfyUI's ``LoadImage`` reads it (see :mod:`comfy_nodes.masks`). An
    empty pool gives a 1x1 black image, a zero mask and count 0.
    """

    CATEGORY = "image/pool"
    FUNCTION = "run"
    RETURN_TYPES = ("IMAGE", "MASK", "INT", "INT", "STRING")
    RETURN_NAMES = ("image", "mask", "index", "count", "label")
    DESCRIPTION = "A curated pool of images, each with its own mask and label; outputs the selected one."

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "index": ("INT", {"default": -1, "min": -1, "max": MAX_INDEX, "step": 1,
                                  "tooltip": "-1: the slot clicked in the grid; 0 or more: that slot (clamped)"}),
                "pool_id": ("STRING", {"default": "", "tooltip": "set by the grid; do not edit"}),
            },
            "optional": {"profile": ("POOL_PROFILE", {"tooltip": "a Pool Profile; when connected it wins"})},
        }

    @classmethod
    def IS_CHANGED(cls, index: int = -1, pool_id: str = "", profile: Any = _UNLINKED) -> str | float:
        """Changes when the selected image, its mask, the selection or its label
        changes; one manifest read whatever the pool's size.

        ComfyUI calls this before upstream nodes run, so a connected
        ``profile`` arrives as ``None`` (its value is not known yet): the
        answer is then NaN, which never equals itself, and the node runs
        each time (cheap: one manifest read, images from the read cache).
        """
        if profile is None:
            return float("nan")
        effective = effective_id(pool_id, profile if profile is not _UNLINKED else None)
        return select(int(index), effective).fingerprint(effective)

    def run(self, index: int = -1, pool_id: str = "", profile: str | None = None) -> tuple[Any, ...]:
        import torch  # heavy: see _image_tensor

        chosen = select(int(index), effective_id(pool_id, profile))
        if chosen.pool is None or chosen.slot is None:
            return (torch.zeros((1, 1, 1, 3)), torch.zeros((1, 1, 1)), 0, 0, "")
        cache, pool = _read_cache(), chosen.pool
        image = _image_tensor(cache.read(pool.store, pool.key(chosen.slot["image"])))
        mask_name = chosen.slot.get("mask")
        mask_bytes = cache.read(pool.store, pool.key(mask_name)) if mask_name else None
        mask = _mask_tensor(mask_bytes, image.shape[2], image.shape[1])
        return (image, mask, chosen.index, chosen.count, chosen.slot.get("label", ""))


class PoolProfile:
    """Pool Profile: outputs the selected profile's (store-qualified) id for the
    ``profile`` input of Image Pool nodes; ``default`` when none is selected.

    The ``profile`` dropdown (names) is filled by the frontend; the hidden
    ``profile_id`` holds the id. Any dropdown value is accepted.
    """

    CATEGORY = "image/pool"
    FUNCTION = "run"
    RETURN_TYPES = ("POOL_PROFILE",)
    RETURN_NAMES = ("profile",)
    DESCRIPTION = "Selects a named, portable profile for connected Image Pool nodes."

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "profile": ([DEFAULT_STORE], {"tooltip": "the profile; manage profiles with the buttons"}),
                "profile_id": ("STRING", {"default": "", "tooltip": "set by the dropdown; do not edit"}),
            }
        }

    @classmethod
    def VALIDATE_INPUTS(cls, profile: Any = None, profile_id: Any = None) -> bool | str:
        """Accept any dropdown value (the list is filled at edit time); the id
        must be a valid (store-qualified) id or empty."""
        try:
            if profile_id:
                parse_qualified(profile_id)
        except ValueError as exc:
            return str(exc)
        return True

    @classmethod
    def IS_CHANGED(cls, profile: Any = None, profile_id: str = "") -> str:
        return profile_id or DEFAULT_STORE

    def run(self, profile: Any = None, profile_id: str = "") -> tuple[str]:
        if not profile_id:
            return (DEFAULT_STORE,)
        return (qualify(*parse_qualified(profile_id)),)
