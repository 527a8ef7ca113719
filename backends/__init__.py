"""How bytes are stored: fsspec filesystems behind one small :class:`Store` API.

Nothing here knows about pools or profiles. Open a store with
:func:`open_store`; update shared JSON documents with :func:`update_json`;
reach files below a local folder without following links with
:func:`open_folder` (what the local store and the local caches use).
"""

from ._cas import MAX_JSON_DEPTH, ConflictRetriesExhausted, dump_json, load_json, update_json
from ._errors import (
    InvalidKeyError,
    KeyNotFoundError,
    PreconditionFailedError,
    StoreConfigError,
    StoreError,
    StoreIOError,
    StorePermissionError,
)
from ._fsspec import FsspecStore
from ._keys import check_key, is_hidden, join_key
from ._localfs import TEMP_SUFFIX, LocalFolder, open_folder
from ._open import open_store, redact_url
from ._store import Capabilities, ObjectInfo, Store, content_version

__all__ = [
    "MAX_JSON_DEPTH",
    "Capabilities",
    "ConflictRetriesExhausted",
    "FsspecStore",
    "InvalidKeyError",
    "KeyNotFoundError",
    "LocalFolder",
    "ObjectInfo",
    "PreconditionFailedError",
    "Store",
    "StoreConfigError",
    "StoreError",
    "StoreIOError",
    "StorePermissionError",
    "TEMP_SUFFIX",
    "check_key",
    "content_version",
    "dump_json",
    "is_hidden",
    "join_key",
    "load_json",
    "open_folder",
    "open_store",
    "redact_url",
    "update_json",
]
