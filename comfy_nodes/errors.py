"""The one place where exceptions become HTTP answers.

Every handler is wrapped by :func:`json_errors`. Bad input gets a 4xx JSON
body ``{"error": {"code", "message"}}``; anything else is logged and answered
with a generic 5xx JSON body, never a traceback.

=====================================================  ======  ===============
exception                                              status  code
=====================================================  ======  ===============
``poolstore.InvalidInputError``, ``InvalidKeyError``   400     ``invalid``
``poolstore.NotFoundError``, ``KeyNotFoundError``      404     ``not_found``
``poolstore.PoolDeletedError`` (a deleted pool)        404     ``not_found``
``poolstore.NameTakenError``                           409     ``name_taken``
``ConflictError``, ``PreconditionFailedError``         409     ``conflict``
``poolstore.TooLargeError``                            413     ``too_large``
:class:`Unsupported`                                   501     ``unsupported``
:class:`Busy`                                          503     ``busy``
``StorePermissionError``, ``StoreIOError``             502     ``storage_error``
anything else                                          500     ``internal``
=====================================================  ======  ===============
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from ._layers import backends, poolstore

__all__ = ["json_errors", "error_response", "Unsupported", "Busy", "StreamAborted", "Handler"]

log = logging.getLogger("poolstore.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Unsupported(poolstore.PoolStoreError):
    """The route needs something this server does not have (e.g. ComfyUI)."""


class Busy(poolstore.PoolStoreError):
    """As many of a bounded kind of answer (export streams) run as allowed;
    the client may try again later."""


class StreamAborted(Exception):
    """A streamed answer failed after it started: the connection is dropped,
    so the client sees an incomplete download rather than a wrong one."""


# (exception class, status, code, message or None to show the exception's own)
_MAP: list[tuple[type[BaseException], int, str, str | None]] = [
    (poolstore.TooLargeError, 413, "too_large", None),
    (poolstore.InvalidInputError, 400, "invalid", None),
    (backends.InvalidKeyError, 400, "invalid", "invalid name or id"),
    (poolstore.NotFoundError, 404, "not_found", None),
    (backends.KeyNotFoundError, 404, "not_found", "no such object in the store"),
    (poolstore.NameTakenError, 409, "name_taken", None),
    (poolstore.ConflictError, 409, "conflict", None),
    (backends.PreconditionFailedError, 409, "conflict", "another change got there first; try again"),
    (Unsupported, 501, "unsupported", None),
    (Busy, 503, "busy", None),
    (backends.StorePermissionError, 502, "storage_error", "the store refused access"),
    (backends.StoreError, 502, "storage_error", "the store could not complete the request"),
]


def error_response(status: int, code: str, message: str) -> web.Response:
    """The JSON error answer."""
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _answer(exc: Exception) -> web.Response:
    for cls, status, code, message in _MAP:
        if isinstance(exc, cls):
            if status >= 500:
                log.warning("poolstore: %s: %s", type(exc).__name__, exc)
            return error_response(status, code, message or str(exc) or code)
    log.exception("poolstore: unexpected error")
    return error_response(500, "internal", "internal error; see the server log")


def json_errors(handler: Handler) -> Handler:
    """Wrap ``handler`` so that any exception becomes a JSON error answer."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except (web.HTTPException, StreamAborted):
            raise
        except Exception as exc:
            return _answer(exc)

    return wrapped
