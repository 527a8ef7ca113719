"""Keys: ``/``-joined strings relative to a store's root, checked before use."""

from __future__ import annotations

from ._errors import InvalidKeyError

__all__ = ["check_key", "check_prefix", "join_key", "is_hidden", "is_listed", "TEMP_SUFFIX"]

_MAX_KEY = 1024
TEMP_SUFFIX = ".partial"
"""The end of a temporary file an atomic write renames over its name when done."""


def check_key(key: str, *, allow_empty: bool = False) -> str:
    """Return ``key`` if it names something inside the root, else raise.

    A key is relative, uses ``/`` only, and has no empty, ``.`` or ``..``
    segment, no backslash and no control character.
    """
    if not isinstance(key, str):
        raise InvalidKeyError(f"key must be a string, not {type(key).__name__}")
    if key == "" and allow_empty:
        return key
    if not key or len(key) > _MAX_KEY:
        raise InvalidKeyError("key must be 1 to 1024 characters")
    if key.startswith("/") or "\\" in key or any(ord(c) < 32 or ord(c) == 127 for c in key):
        raise InvalidKeyError(f"invalid key {key!r}")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise InvalidKeyError(f"invalid key {key!r}")
    if ":" in key.split("/")[0]:
        raise InvalidKeyError(f"invalid key {key!r}")
    return key


def check_prefix(prefix: str, *, allow_empty: bool = True) -> str:
    """A folder key: like :func:`check_key`, one trailing ``/`` allowed.

    ``""`` names the root (when ``allow_empty``); ``"/"`` or an absolute path
    is refused rather than quietly made relative.
    """
    if isinstance(prefix, str) and prefix.endswith("/") and prefix != "/":
        prefix = prefix[:-1]
    return check_key(prefix, allow_empty=allow_empty)


def join_key(*parts: str) -> str:
    """Join key segments with ``/`` (never ``os.path.join``) and check the result."""
    return check_key("/".join(p.strip("/") for p in parts if p))


def is_hidden(key: str) -> bool:
    """Keys with a segment starting with ``.`` hold store housekeeping (locks, probes)."""
    return any(part.startswith(".") for part in key.split("/"))


def is_listed(key: str) -> bool:
    """Whether a store's listing shows ``key``: not housekeeping (:func:`is_hidden`)
    and not the temporary file of a write in progress (``…`` + :data:`TEMP_SUFFIX`)."""
    return not is_hidden(key) and not key.endswith(TEMP_SUFFIX)
