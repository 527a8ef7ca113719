"""Mask conventions: what a stored mask means, and turning uploads into it.

A stored mask is a PNG where white (255) = masked. Uploads and stored masks
may also come the way ComfyUI's MaskEditor saves them: an RGBA image whose
alpha channel holds the mask, transparent (alpha 0) = masked (ComfyUI's
``LoadImage`` reads ``mask = 1 - alpha``). The rule, applied everywhere:

* an image with an alpha channel that is not fully opaque is an alpha mask:
  ``mask = 255 - alpha`` (its colour channels are ignored);
* anything else is read as grey levels: ``mask = luminance``.
"""

from __future__ import annotations

import io

from PIL import Image

from ._layers import decoded

__all__ = ["mask_levels", "canonical_mask_png"]


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (img.mode == "P" and "transparency" in img.info)


def mask_levels(img: Image.Image) -> Image.Image:
    """An ``L`` image of ``img`` read as a mask: 255 = masked."""
    if _has_alpha(img):
        inverted = img.convert("RGBA").getchannel("A").point(lambda a: 255 - a)
        if inverted.getbbox() is not None:  # some pixel is not opaque
            return inverted
    return img.convert("L")


def canonical_mask_png(data: bytes) -> bytes:
    """PNG bytes of an uploaded mask in the stored convention: a grey ``L``
    image, white = masked. A grey PNG is kept as is. Decoded through
    :func:`poolstore.images.decoded` (PNG, JPEG or WebP within the limits)."""
    with decoded(data) as img:
        if img.format == "PNG" and img.mode == "L":
            return data
        out = io.BytesIO()
        mask_levels(img).save(out, format="PNG")
        return out.getvalue()
