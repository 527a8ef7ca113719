"""Compare-and-swap updates of JSON documents several writers share.

Read the body and its version together, apply a pure function, write only if
the version is unchanged, retry with jittered backoff when another writer got
there first. The conditional write is the commit point. Update functions must
be idempotent (set, not append-by-count): a server may report an error after
it stored the write, and the function then runs again on its own result.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from ._errors import KeyNotFoundError, PreconditionFailedError
from ._store import Store

__all__ = ["update_json", "ConflictRetriesExhausted", "dump_json"]

log = logging.getLogger("poolstore.store")

MAX_ATTEMPTS = 40


class ConflictRetriesExhausted(PreconditionFailedError):
    """Other writers kept winning; the update was not applied."""


def dump_json(doc: Any) -> bytes:
    """The canonical encoding of stored JSON documents."""
    return json.dumps(doc, indent=1, ensure_ascii=False).encode("utf-8")


def _default_load(raw: bytes | None) -> Any:
    return None if raw is None else json.loads(raw)


def _stored_as(raw: bytes | None, doc: Any) -> bool:
    """Whether the stored bytes already hold ``doc``."""
    if raw is None:
        return False
    try:
        return bool(json.loads(raw) == doc)
    except (ValueError, UnicodeDecodeError):
        return False


def update_json(
    store: Store,
    key: str,
    fn: Callable[[Any], Any],
    *,
    load: Callable[[bytes | None], Any] = _default_load,
    max_attempts: int = MAX_ATTEMPTS,
) -> Any:
    """Apply ``fn`` to the document at ``key`` atomically; return the new document.

    ``load`` turns the stored bytes (``None`` when absent) into the document
    given to ``fn``. When ``fn`` returns a document equal to the one read and
    to the stored JSON itself, nothing is written (a document ``load`` had to
    repair or rebuild is written even by a no-op ``fn``). Exceptions from
    ``fn`` propagate and nothing is written.
    """
    conditional = store.capabilities.conditional_write
    for attempt in range(max_attempts):
        try:
            raw, version = store.read_versioned(key)
        except KeyNotFoundError:
            raw, version = None, None
        doc = load(raw)
        new = fn(copy.deepcopy(doc))
        if new == doc and _stored_as(raw, new):
            return new
        data = dump_json(new)
        if not conditional:
            store.write(key, data)
            return new
        try:
            store.write_if(key, data, version)
            return new
        except PreconditionFailedError:
            store.stats["cas_retries"] += 1
            time.sleep(random.uniform(0, min(0.25, 0.004 * 2**attempt)))
    raise ConflictRetriesExhausted(f"{key}: gave up after {max_attempts} conflicting attempts")
