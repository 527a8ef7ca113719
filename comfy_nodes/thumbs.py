"""Thumbnails: made once with Pillow, kept in a local :class:`DiskCache`.

A stored object may be anything a teammate put in the folder or bucket: it is
decoded only through :func:`poolstore.images.decoded` (PNG, JPEG or WebP,
within the byte and pixel limits).
"""

from __future__ import annotations

import io

from PIL import ImageOps

from ._layers import Store, decoded, read_image_object
from .cache import DiskCache, cache_token

__all__ = ["Thumbnails", "make_thumbnail", "MIN_SIZE", "MAX_SIZE", "DEFAULT_SIZE"]

MIN_SIZE, MAX_SIZE, DEFAULT_SIZE = 32, 512, 192
_PNG_SIGNATURE = b"\x89PNG"


def make_thumbnail(data: bytes, size: int) -> bytes:
    """A JPEG (or PNG when the image has transparency) at most ``size`` pixels
    on its longer side, EXIF orientation applied.

    Raises :class:`~poolstore.InvalidImageError` or :class:`~poolstore.TooLargeError`
    for bytes that are not an image within the limits.
    """
    with decoded(data, draft=("RGB", (size, size))) as img:
        img = ImageOps.exif_transpose(img)
        img.thumbnail((size, size))
    out = io.BytesIO()
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img.convert("RGBA").save(out, format="PNG", optimize=True)
    else:
        img.convert("L" if img.mode in ("L", "1", "I", "I;16", "F") else "RGB").save(out, format="JPEG", quality=85)
    return out.getvalue()


def content_type(thumb: bytes) -> str:
    """The media type of a thumbnail made by :func:`make_thumbnail`."""
    return "image/png" if thumb.startswith(_PNG_SIGNATURE) else "image/jpeg"


class Thumbnails:
    """Thumbnails of store objects, cached on local disk by (store, key, size)."""

    def __init__(self, cache: DiskCache) -> None:
        self.cache = cache

    @staticmethod
    def token(store: Store, key: str, size: int) -> str:
        """The cache token (also the HTTP ``ETag``) of a thumbnail."""
        return cache_token(store, key, f"thumb{size}")

    def cached(self, store: Store, key: str, size: int) -> tuple[bytes, str] | None:
        """The cached thumbnail and its media type, or ``None`` (light: no decoding)."""
        thumb = self.cache.get(self.token(store, key, size))
        return (thumb, content_type(thumb)) if thumb is not None else None

    def get(self, store: Store, key: str, size: int) -> tuple[bytes, str]:
        """The thumbnail bytes and media type (blocking: reads the store once
        and decodes the image on a cache miss)."""
        token = self.token(store, key, size)
        thumb = self.cache.get(token)
        if thumb is None:
            thumb = make_thumbnail(read_image_object(store, key), size)
            self.cache.put(token, thumb)
        return thumb, content_type(thumb)
