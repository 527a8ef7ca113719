"""poolstore: curated image pools (image + mask + label per slot) and named,
portable profiles of them, on any store :mod:`backends` opens.

The domain layer: it imports neither aiohttp, torch nor ComfyUI.
"""

from .check import Orphan, find_orphans, fix_orphans
from .errors import (
    ConflictError,
    InvalidArchiveError,
    InvalidIdError,
    InvalidImageError,
    InvalidInputError,
    InvalidNameError,
    NameTakenError,
    NotFoundError,
    PoolDeletedError,
    PoolStoreError,
    ProfileNotFoundError,
    SlotNotFoundError,
    TooLargeError,
    UnknownStoreError,
)
from .ids import new_id, parse_qualified, qualify, validate_id, validate_name, validate_store_name
from .pool import Pool
from .registry import Registry, unique_name
from .stores import StoreSet
from .transfer import adopt_pool, copy_profile, seed_profile

__all__ = [
    "ConflictError",
    "InvalidArchiveError",
    "InvalidIdError",
    "InvalidImageError",
    "InvalidInputError",
    "InvalidNameError",
    "NameTakenError",
    "NotFoundError",
    "Orphan",
    "Pool",
    "PoolDeletedError",
    "PoolStoreError",
    "ProfileNotFoundError",
    "Registry",
    "SlotNotFoundError",
    "StoreSet",
    "TooLargeError",
    "UnknownStoreError",
    "adopt_pool",
    "copy_profile",
    "find_orphans",
    "fix_orphans",
    "new_id",
    "parse_qualified",
    "qualify",
    "seed_profile",
    "unique_name",
    "validate_id",
    "validate_name",
    "validate_store_name",
]
