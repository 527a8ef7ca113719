"""What the route handlers share: the configured stores, caches and limits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ._layers import IMAGE_EXTS, META_FILES, InvalidInputError, Pool, Registry, StoreSet, is_object_name
from .config import StoreProvider
from .streaming import Streams
from .thumbs import Thumbnails

__all__ = ["Api", "MAX_ADD_BYTES", "MAX_ADD_IMAGES", "MAX_IMPORT_BYTES"]

MAX_ADD_BYTES = 512 * 1024 * 1024
"""Bytes of one ``add`` request (spooled to disk, not held in memory)."""
MAX_ADD_IMAGES = 64
"""Images in one ``add`` request."""
MAX_IMPORT_BYTES = 8 * 1024 * 1024 * 1024


@dataclass
class Api:
    """Everything a handler needs; methods that take ids validate them first.

    Attributes
    ----------
    stores
        Gives the :class:`StoreSet` (may open it on first call: blocking).
    thumbs
        The thumbnail cache.
    streams
        Threads and bound of streamed answers (exports).
    stage_dir
        Folder where slot images are staged for ComfyUI's MaskEditor
        (inside ComfyUI's ``input`` folder); ``None`` outside ComfyUI.
    max_add_bytes, max_add_images, max_import_bytes
        Upload limits (413 past them).
    spool_dir
        Where uploads are spooled (``None``: the system temp folder).
    """

    stores: StoreProvider
    thumbs: Thumbnails
    streams: Streams
    stage_dir: Path | None = None
    max_add_bytes: int = MAX_ADD_BYTES
    max_import_bytes: int = MAX_IMPORT_BYTES
    spool_dir: str | None = None
    max_add_images: int = MAX_ADD_IMAGES

    def store_set(self) -> StoreSet:
        return self.stores()

    def pool(self, qualified_id: object) -> tuple[str, Pool]:
        """(store name, pool) for a possibly store-qualified pool id."""
        if qualified_id in (None, ""):
            raise InvalidInputError("'pool_id' is required")
        name, store, ident = self.store_set().resolve(qualified_id)
        return name, Pool(store, ident)

    def registry(self, qualified_id: object, field: str = "id") -> tuple[str, Registry, str]:
        """(store name, registry, bare id) for a possibly qualified profile id."""
        if qualified_id in (None, ""):
            raise InvalidInputError(f"'{field}' is required")
        name, store, ident = self.store_set().resolve(qualified_id)
        return name, Registry(store), ident


def image_name(value: object) -> str:
    """``value`` if it can name an image or mask file of a pool, else raise."""
    if is_object_name(value) and value not in META_FILES and value.rsplit(".", 1)[-1].lower() in IMAGE_EXTS:
        return value
    raise InvalidInputError("'image' must be an image file name of the pool")
