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

__all__ = ["update_json", "ConflictRetriesExhausted", "dump_json", "load_json", "MAX_JSON_DEPTH"]

log = logging.getLogger("poolstore.store")

MAX_ATTEMPTS = 40
MAX_JSON_DEPTH = 64
"""Arrays and objects nest at most this deep in a document :func:`load_json` accepts."""


class ConflictRetriesExhausted(PreconditionFailedError):
    """Other writers kept winning; the update was not applied."""


def dump_json(doc: Any) -> bytes:
    """The canonical encoding of stored JSON documents."""
    return json.dumps(doc, indent=1, ensure_ascii=False).encode("utf-8")


def load_json(raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Decode a JSON document from outside (a stored document, a request body).

    Raises ``ValueError`` for anything that is not JSON, including a document
    nested deeper than ``max_depth`` (the parser's own recursion limit is a
    ``RecursionError``; a shallower but still deep document would break the
    recursive copies and comparisons made of it later).
    """
    try:
        doc = json.loads(raw)
    except RecursionError as exc:
        raise ValueError("the JSON document is nested too deeply") from exc
    _check_depth(doc, max_depth)
    return doc


def _check_depth(doc: Any, max_depth: int) -> None:
    """Walk ``doc`` level by level (no recursion); ``ValueError`` past ``max_depth``."""
    level = [doc] if type(doc) in (dict, list) else []
    for _depth in range(max_depth):
        level = [c for node in level for c in (node.values() if type(node) is dict else node) if type(c) in (dict, list)]
        if not level:
            return
    raise ValueError(f"the JSON document nests deeper than {max_depth} levels")


def _default_load(raw: bytes | None) -> Any:
    return None if raw is None else load_json(raw)


def _stored_as(raw: bytes | None, doc: Any) -> bool:
    """Whether the stored bytes already hold ``doc``."""
    if raw is None:
        return False
    try:
        return bool(load_json(raw) == doc)
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
