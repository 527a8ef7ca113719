"""Validation of ids, names and store names: nothing from outside becomes a key unchecked."""

from __future__ import annotations

import re
import uuid

from .errors import InvalidIdError, InvalidNameError

__all__ = [
    "ID_PATTERN",
    "validate_id",
    "validate_new_id",
    "is_reserved_file_name",
    "portable_file_name",
    "validate_name",
    "validate_store_name",
    "parse_qualified",
    "qualify",
    "new_id",
    "DEFAULT_STORE",
    "UNPRINTABLE",
    "has_unprintable",
    "escape_unprintable",
]

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_STORE_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
MAX_NAME = 120
DEFAULT_STORE = "default"


def validate_id(value: object) -> str:
    """Return ``value`` if it is a pool/profile id, else raise :class:`InvalidIdError`.

    Enough to read a pool; a new one needs :func:`validate_new_id` as well.
    """
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        shown = repr(value)[:40]
        raise InvalidIdError(f"invalid id {shown}: use 1-64 letters, digits, '-' or '_'")
    return value


def validate_new_id(value: object) -> str:
    """:func:`validate_id`, and not a name Windows reserves for a device
    (a folder ``CON`` cannot exist there). Existing folders with such names
    stay readable: only making new ones is refused."""
    ident = validate_id(value)
    if is_reserved_file_name(ident):
        raise InvalidIdError(f"{ident!r} is a device name on Windows and cannot be a new id")
    return ident


_RESERVED = re.compile(r"(con|prn|aux|nul|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3]|conin\$|conout\$)", re.IGNORECASE)


def is_reserved_file_name(name: str) -> bool:
    """Whether Windows takes the file name ``name`` for a device: CON, PRN, AUX,
    NUL, COM0-9, LPT0-9 (any case), also with an extension (``nul.txt``) or
    trailing spaces before it."""
    return bool(_RESERVED.fullmatch(name.split(".", 1)[0].rstrip(" ")))


def portable_file_name(name: str) -> str:
    """``name`` as a valid Windows file name: trailing dots and spaces dropped,
    and a device name's stem followed by ``_`` (``CON.zip`` -> ``CON_.zip``)."""
    name = name.rstrip(" .")
    if is_reserved_file_name(name):
        stem, dot, rest = name.partition(".")
        name = f"{stem.rstrip(' ')}_{dot}{rest}"
    return name or "_"


def validate_name(value: object) -> str:
    """A display name: trimmed, 1-120 characters, no control characters."""
    if not isinstance(value, str):
        raise InvalidNameError("a name must be text")
    name = value.strip()
    if not name:
        raise InvalidNameError("a name cannot be empty")
    if len(name) > MAX_NAME:
        raise InvalidNameError(f"a name is at most {MAX_NAME} characters")
    if has_unprintable(name):
        raise InvalidNameError("a name cannot contain control characters")
    return name


UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f"  # C0 controls, DEL, C1 controls (CSI, NEL...)
    "\u2028\u2029\u202a-\u202e\u2066-\u2069"  # line/paragraph separators, bidi overrides and isolates
    "\ud800-\udfff\ue000-\uf8ff\U000f0000-\U0010ffff]"  # lone surrogates, private use
)
"""What names and labels may not hold, and what text output escapes: characters
a terminal acts on, or that make text display as something else. Joiners
(emoji sequences) stay allowed."""


def has_unprintable(text: str, allow: str = "") -> bool:
    """Whether ``text`` holds a character of :data:`UNPRINTABLE` not in ``allow``."""
    return any(m.group() not in allow for m in UNPRINTABLE.finditer(text))


def escape_unprintable(text: str) -> str:
    """``text`` with each :data:`UNPRINTABLE` character written as an escape
    (``\\x1b``, ``\\u202e``): safe to print on a terminal, still readable."""
    return UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape", "backslashreplace").decode("ascii"), text)


def validate_store_name(value: object) -> str:
    """A configured store's name: 1-32 of lower-case letters, digits, '-', '_'."""
    if not isinstance(value, str) or not _STORE_PATTERN.fullmatch(value):
        raise InvalidNameError(f"invalid store name {repr(value)[:40]}")
    return value


def parse_qualified(value: object) -> tuple[str | None, str]:
    """Split ``"team:<id>"`` into ``("team", id)``; an unqualified id gives ``(None, id)``."""
    if not isinstance(value, str):
        raise InvalidIdError("an id must be text")
    store, sep, ident = value.partition(":")
    if not sep:
        return None, validate_id(value)
    return validate_store_name(store), validate_id(ident)


def qualify(store: str | None, ident: str) -> str:
    """The store-qualified form of ``ident`` (plain for the default store)."""
    validate_id(ident)
    if store is None or store == DEFAULT_STORE:
        return ident
    return f"{validate_store_name(store)}:{ident}"


def new_id() -> str:
    """A fresh profile id (uuid4 hex)."""
    return uuid.uuid4().hex
