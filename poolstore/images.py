"""Image checks with Pillow: decode fully, bounded size and pixel count."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from .errors import InvalidImageError, TooLargeError

__all__ = ["ImageInfo", "inspect_image", "as_mask_png", "MAX_IMAGE_BYTES", "MAX_PIXELS", "IMAGE_EXTS"]

MAX_IMAGE_BYTES = 64 * 1024 * 1024
MAX_PIXELS = 8192 * 8192
# Formats kept as uploaded; anything else decodable is stored as PNG.
_KEEP = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
IMAGE_EXTS = ("png", "jpg", "jpeg", "webp")


@dataclass(frozen=True)
class ImageInfo:
    """What an accepted image is: its bytes to store, extension and size."""

    data: bytes
    ext: str
    width: int
    height: int


def _open(data: bytes) -> Image.Image:
    if not isinstance(data, (bytes, bytearray)) or not data:
        raise InvalidImageError("empty upload: not an image")
    if len(data) > MAX_IMAGE_BYTES:
        raise TooLargeError(f"image is over {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    try:
        with warnings.catch_warnings():
            # Our own pixel limit (below Pillow's) is checked right after.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:  # raised by open() itself past twice Pillow's limit
        raise TooLargeError(f"image is over the {MAX_PIXELS:,} pixel limit") from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InvalidImageError("not a readable image (PNG, JPEG or WebP)") from exc
    width, height = img.size
    if width * height > MAX_PIXELS:
        raise TooLargeError(f"image is {width}x{height}: over the {MAX_PIXELS:,} pixel limit")
    return img


def _decode(img: Image.Image) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooLargeError("image is too large to decode safely") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidImageError("the image data is damaged or truncated") from exc


def inspect_image(data: bytes) -> ImageInfo:
    """Check that ``data`` decodes as an image within the limits.

    PNG, JPEG and WebP keep their bytes; other decodable formats are stored as PNG.
    """
    img = _open(data)
    fmt = img.format or ""
    _decode(img)
    if fmt in _KEEP:
        return ImageInfo(bytes(data), _KEEP[fmt], img.width, img.height)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return ImageInfo(buf.getvalue(), "png", img.width, img.height)


def as_mask_png(data: bytes) -> bytes:
    """Check a mask upload and return it as PNG bytes (kept as-is when already PNG)."""
    img = _open(data)
    fmt = img.format
    _decode(img)
    if fmt == "PNG":
        return bytes(data)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
