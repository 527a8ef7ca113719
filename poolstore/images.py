"""Untrusted image bytes, decoded one way only.

Every image the project decodes (an upload, an archive entry, an object found
in a store) goes through :func:`decoded`, or :func:`inspect_image` and
:func:`as_mask_png` built on it:

* only PNG, JPEG and WebP are opened (``formats=`` on ``Image.open``): no other
  Pillow plugin ever sees the bytes, so a PostScript file named ``.png`` never
  reaches Ghostscript, and BMP, GIF, TIFF... are refused, not converted;
* the byte limit is checked before opening (:func:`read_image_object` reads a
  stored object no further), the pixel limit on the header, before a pixel is
  decoded;
* decoding holds one of :data:`DECODE_SLOTS` process-wide slots
  (:data:`DECODING`), so however many requests arrive at once, at most that
  many images are in memory decoded.

What is stored of an image is the image alone: :func:`image_length` finds
where it ends (PNG: the IEND chunk; JPEG: the EOI marker of the main image;
WebP: the RIFF size), and bytes after it are not part of it.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import struct
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image

from ._layers import Store
from .errors import InvalidImageError, TooLargeError

__all__ = [
    "ImageInfo",
    "decoded",
    "read_image_object",
    "inspect_image",
    "as_mask_png",
    "image_length",
    "DecodeSlots",
    "DECODING",
    "ALLOWED_FORMATS",
    "MAX_IMAGE_BYTES",
    "MAX_PIXELS",
    "DECODE_SLOTS",
    "IMAGE_EXTS",
]

MAX_IMAGE_BYTES = 64 * 1024 * 1024
MAX_PIXELS = 8192 * 8192
DECODE_SLOTS = min(2, max(1, (os.cpu_count() or 2) - 1))
"""Images decoded at once in this process: 2, or 1 on a machine with two cores or
fewer, so that a core stays free for everything else (one decoded 8192x8192 RGBA
image is 256 MiB)."""
ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP")
# Pillow names a JPEG with a multi-picture index (MPO) apart; its main image is a JPEG.
_EXTS = {"PNG": "png", "JPEG": "jpg", "MPO": "jpg", "WEBP": "webp"}
IMAGE_EXTS = ("png", "jpg", "jpeg", "webp")
_NOT_AN_IMAGE = "not a readable image (PNG, JPEG or WebP)"


@dataclass(frozen=True)
class ImageInfo:
    """An accepted image: the bytes to store (the image alone), its extension,
    its size, and how many bytes after its end were left out."""

    data: bytes
    ext: str
    width: int
    height: int
    trailing: int = 0


class DecodeSlots:
    """At most ``limit`` threads decode at once; the others wait their turn.

    A thread that holds a slot may enter again (an image and its mask decoded
    together take one slot). ``busy`` and ``peak`` count the slots in use.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._free = threading.BoundedSemaphore(limit)
        self._held = threading.local()
        self._lock = threading.Lock()
        self.busy = 0
        self.peak = 0

    def __enter__(self) -> DecodeSlots:
        depth = getattr(self._held, "depth", 0)
        if depth == 0:
            self._free.acquire()
            with self._lock:
                self.busy += 1
                self.peak = max(self.peak, self.busy)
        self._held.depth = depth + 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._held.depth -= 1
        if self._held.depth == 0:
            with self._lock:
                self.busy -= 1
            self._free.release()


DECODING = DecodeSlots(DECODE_SLOTS)
"""The process-wide decode slots every :func:`decoded` call takes."""


@contextlib.contextmanager
def decoded(data: bytes, *, draft: tuple[str, tuple[int, int]] | None = None) -> Iterator[Image.Image]:
    """The image in ``data``, fully decoded, while the block runs in a decode slot.

    Parameters
    ----------
    data
        Untrusted bytes: a PNG, JPEG or WebP image of at most
        :data:`MAX_IMAGE_BYTES` bytes and :data:`MAX_PIXELS` pixels.
    draft
        ``(mode, size)`` for :meth:`PIL.Image.Image.draft`: a JPEG may be
        decoded at a reduced scale (thumbnails). The pixel limit applies to
        the size the header declares.

    Raises
    ------
    InvalidImageError
        Not one of the three formats, or damaged data.
    TooLargeError
        Over the byte or the pixel limit.

    Notes
    -----
    Work on the pixels belongs inside the block: the slot bounds how many
    decoded images this process holds at once (see :data:`DECODING`).
    """
    with DECODING:
        img = _open(data)
        if draft is not None:
            img.draft(*draft)
        _load(img)
        yield img


def read_image_object(store: Store, key: str) -> bytes:
    """The bytes of the stored image or mask ``key``, read no further than the
    byte limit: an object anyone put in the store may be of any size."""
    data = store.read_head(key, MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise TooLargeError(f"{key.rsplit('/', 1)[-1]!r} is over {MAX_IMAGE_BYTES // (1024 * 1024)} MB: not an image of the pool")
    return data


def inspect_image(data: bytes) -> ImageInfo:
    """Check that ``data`` is a PNG, JPEG or WebP image within the limits.

    The returned ``data`` is the image alone: bytes after its end (a video
    appended to a phone photo, padding) are cut off and counted in ``trailing``.
    """
    with decoded(data) as img:
        fmt, width, height = img.format or "", img.width, img.height
    end = image_length(data, fmt)
    kept = data if end == len(data) else bytes(data[:end])
    return ImageInfo(kept, _EXTS[fmt], width, height, len(data) - end)


def as_mask_png(data: bytes) -> bytes:
    """Check a mask upload; return it as PNG bytes (a PNG is kept, up to its end)."""
    with decoded(data) as img:
        if img.format == "PNG":
            return bytes(data[: image_length(data, "PNG")])
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        return buf.getvalue()


def _open(data: bytes) -> Image.Image:
    if not isinstance(data, (bytes, bytearray, memoryview)) or not data:
        raise InvalidImageError("empty upload: not an image")
    if len(data) > MAX_IMAGE_BYTES:
        raise TooLargeError(f"image is over {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    try:
        with warnings.catch_warnings():
            # Our own pixel limit (below Pillow's) is checked right after.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError as exc:  # raised by open() itself past twice Pillow's limit
        raise TooLargeError(f"image is over the {MAX_PIXELS:,} pixel limit") from exc
    except (OSError, ValueError, SyntaxError, struct.error) as exc:
        raise InvalidImageError(_NOT_AN_IMAGE) from exc
    width, height = img.size
    if width * height > MAX_PIXELS:
        raise TooLargeError(f"image is {width}x{height}: over the {MAX_PIXELS:,} pixel limit")
    return img


def _load(img: Image.Image) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooLargeError("image is too large to decode safely") from exc
    except (OSError, ValueError, SyntaxError, EOFError, struct.error) as exc:
        raise InvalidImageError("the image data is damaged or truncated") from exc


# -- where an image ends -----------------------------------------------------------------
def image_length(data: bytes, fmt: str) -> int:
    """How many bytes of ``data`` the ``fmt`` image (decoded already) spans.

    Raises :class:`InvalidImageError` when its end is missing.
    """
    if fmt == "PNG":
        return _png_length(data)
    if fmt in ("JPEG", "MPO"):
        return _jpeg_length(data)
    if fmt == "WEBP":
        return _webp_length(data)
    raise InvalidImageError(_NOT_AN_IMAGE)


def _png_length(data: bytes) -> int:
    """Chunk by chunk from the signature to the end of IEND."""
    at = 8
    while at + 12 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, at)
        at += 12 + size
        if kind == b"IEND":
            return at if at <= len(data) else _truncated()
    return _truncated()


# A marker: 0xFF then a code that is not a stuffed zero, a restart (D0-D7) or fill.
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_JPEG_EOI, _JPEG_STANDALONE = 0xD9, {0x01, 0xD8}


def _jpeg_length(data: bytes) -> int:
    """Segment by segment (skipping each by its length, so an embedded EXIF
    thumbnail is never mistaken for the end) to the main image's EOI."""
    at = 2  # after SOI
    while (found := _JPEG_MARKER.search(data, at)) is not None:
        code, at = data[found.start() + 1], found.end()
        if code == _JPEG_EOI:
            return at
        if code not in _JPEG_STANDALONE:
            if at + 2 > len(data):
                break
            at += struct.unpack_from(">H", data, at)[0]
    return _truncated()


def _webp_length(data: bytes) -> int:
    """The RIFF header's size (plus its pad byte when the size is odd)."""
    size = struct.unpack_from("<I", data, 4)[0]
    end = 8 + size
    if end > len(data):
        return _truncated()
    if size % 2 and data[end : end + 1] == b"\0":
        end += 1
    return end


def _truncated() -> int:
    raise InvalidImageError("the image data is damaged or truncated")
