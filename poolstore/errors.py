"""Domain errors. Each also inherits the matching built-in::

    PoolStoreError(Exception)
    ├── InvalidInputError(PoolStoreError, ValueError)        -> HTTP 400
    │   ├── InvalidIdError          an id that is not [A-Za-z0-9][A-Za-z0-9_-]{0,63}
    │   ├── InvalidNameError        empty, too long, control characters
    │   ├── InvalidImageError       not a decodable image of an allowed type
    │   └── InvalidArchiveError     a zip that is not a valid profile export
    ├── NotFoundError(PoolStoreError, FileNotFoundError)     -> HTTP 404
    │   ├── ProfileNotFoundError
    │   ├── PoolDeletedError        the pool's profile was deleted (its manifest is a tombstone)
    │   ├── SlotNotFoundError
    │   └── UnknownStoreError
    ├── NameTakenError(PoolStoreError, FileExistsError)      -> HTTP 409
    ├── ConflictError(PoolStoreError, FileExistsError)       -> HTTP 409
    └── TooLargeError(PoolStoreError, ValueError)            -> HTTP 413

Storage failures keep their own tree (:mod:`backends`); a lost race that
retries could not win surfaces as ``backends.ConflictRetriesExhausted``.
"""

from __future__ import annotations

__all__ = [
    "PoolStoreError",
    "InvalidInputError",
    "InvalidIdError",
    "InvalidNameError",
    "InvalidImageError",
    "InvalidArchiveError",
    "NotFoundError",
    "ProfileNotFoundError",
    "PoolDeletedError",
    "SlotNotFoundError",
    "UnknownStoreError",
    "NameTakenError",
    "ConflictError",
    "TooLargeError",
]


class PoolStoreError(Exception):
    """Base of every domain error."""


class InvalidInputError(PoolStoreError, ValueError):
    """Input that can never succeed as given."""


class InvalidIdError(InvalidInputError):
    """Not a valid pool or profile id."""


class InvalidNameError(InvalidInputError):
    """Not a valid profile or store name."""


class InvalidImageError(InvalidInputError):
    """Bytes that are not a decodable image of an allowed type."""


class InvalidArchiveError(InvalidInputError):
    """A zip that is not a valid, safe profile export."""


class NotFoundError(PoolStoreError, FileNotFoundError):
    """Something named does not exist."""


class ProfileNotFoundError(NotFoundError):
    """No profile with that id or name."""


class PoolDeletedError(NotFoundError):
    """The pool was deleted: its manifest is a tombstone, and no change to it commits."""


class SlotNotFoundError(NotFoundError):
    """No slot with that index or image key."""


class UnknownStoreError(NotFoundError):
    """No configured store with that name."""


class NameTakenError(PoolStoreError, FileExistsError):
    """Another profile already has that name."""


class ConflictError(PoolStoreError, FileExistsError):
    """The operation does not fit the current state (e.g. seeding a non-empty profile)."""


class TooLargeError(PoolStoreError, ValueError):
    """Input over a size, pixel or count limit."""
