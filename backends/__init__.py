"""How bytes are stored: backends behind one small :class:`Store` interface.

Nothing here knows about pools or profiles. Open a store with
:func:`open_store` (local disk, memory, S3, Azure Blob Storage, plug-ins
registered under :data:`ENTRY_POINT_GROUP`, any other fsspec URL through
:class:`FsspecStore`); update shared JSON documents with :func:`update_json`;
reach files below a local folder without following links with
:func:`open_folder` (what the local store and the local caches use). The
contract every backend passes ships as :mod:`backends.testing`; see
docs/BACKENDS.md.
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
from ._keys import check_key, check_prefix, is_hidden, join_key
from ._localfs import TEMP_SUFFIX, LocalFolder, open_folder
from ._open import ENTRY_POINT_GROUP, open_store, redact_url
from ._store import Capabilities, ObjectInfo, Store, content_version

__all__ = [
    "ENTRY_POINT_GROUP",
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
    "check_prefix",
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
