"""Storage errors, and the one place where backend exceptions are translated.

The tree (each class also inherits the matching built-in, so callers may catch
either)::

    StoreError(Exception)
    ├── StoreConfigError(StoreError, ValueError)      bad URL or storage_options
    ├── InvalidKeyError(StoreError, ValueError)       a key that would escape the root
    ├── KeyNotFoundError(StoreError, FileNotFoundError)
    ├── StorePermissionError(StoreError, PermissionError)
    ├── PreconditionFailedError(StoreError, FileExistsError)
    │       a conditional write lost: the object changed, or exists already
    └── StoreIOError(StoreError, OSError)             anything else the backend raised

What is translated: ``OSError`` and its subclasses (fsspec, s3fs, the local
store), botocore/aiobotocore errors by their S3 error code, and
``azure.core`` exceptions by class (``ResourceModifiedError`` and
``ResourceExistsError`` → precondition failed, ``ResourceNotFoundError`` →
not found, ``ClientAuthenticationError`` or a 403 → permission). Any other
exception is a bug and passes unchanged. A message keeps the backend's first
line only, with the query of any URL in it removed (a SAS token, a presigned
signature).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

__all__ = [
    "StoreError",
    "StoreConfigError",
    "InvalidKeyError",
    "KeyNotFoundError",
    "StorePermissionError",
    "PreconditionFailedError",
    "StoreIOError",
    "translate_errors",
]


class StoreError(Exception):
    """Base of every error raised by a store."""


class StoreConfigError(StoreError, ValueError):
    """The URL or the storage options cannot open a store."""


class InvalidKeyError(StoreError, ValueError):
    """A key that is empty, absolute, or would leave the store's root."""


class KeyNotFoundError(StoreError, FileNotFoundError):
    """No object under that key."""


class StorePermissionError(StoreError, PermissionError):
    """The backend refused access (credentials, ACL, read-only folder)."""


class PreconditionFailedError(StoreError, FileExistsError):
    """A conditional write found a different version (or an existing object)."""


class StoreIOError(StoreError, OSError):
    """Any other failure reported by the backend."""


# S3-compatible servers report a lost precondition in several ways.
_CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}
_NOT_FOUND_CODES = {"NoSuchKey", "NotFound", "404", "NoSuchBucket"}
_DENIED_CODES = {"AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"}


def _client_error_code(exc: BaseException) -> str | None:
    """The S3 error code (or HTTP status) of a botocore error in the cause chain."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        response = getattr(cur, "response", None)
        if isinstance(response, dict):
            code = response.get("Error", {}).get("Code")
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            return str(code or status or "")
        cur = cur.__cause__ or cur.__context__
    return None


def _azure_class(exc: BaseException) -> type[StoreError] | None:
    """The store error class of an ``azure.core`` exception (``None``: not one)."""
    if not type(exc).__module__.startswith("azure."):
        return None
    from azure.core import exceptions as az

    if isinstance(exc, (az.ResourceModifiedError, az.ResourceExistsError)):
        return PreconditionFailedError  # 412 ConditionNotMet, 409 BlobAlreadyExists
    if isinstance(exc, az.ResourceNotFoundError):
        return KeyNotFoundError
    if isinstance(exc, az.ClientAuthenticationError) or getattr(exc, "status_code", None) == 403:
        return StorePermissionError
    return StoreIOError


def classify(exc: BaseException) -> type[StoreError]:
    """Pick the store error class that matches a backend exception."""
    if isinstance(exc, StoreError):
        return type(exc)
    azure = _azure_class(exc)
    if azure is not None:
        return azure
    code = _client_error_code(exc)
    if code in _CONFLICT_CODES:
        return PreconditionFailedError
    if code in _NOT_FOUND_CODES or isinstance(exc, FileNotFoundError):
        return KeyNotFoundError
    if code in _DENIED_CODES or isinstance(exc, PermissionError):
        return StorePermissionError
    if isinstance(exc, FileExistsError):
        return PreconditionFailedError
    text = str(exc)
    if "PreconditionFailed" in text or "ConditionalRequestConflict" in text:
        return PreconditionFailedError
    return StoreIOError


# Packages whose exceptions are storage failures (the rest are bugs, and pass).
_TRANSLATED_MODULES = {"botocore", "aiobotocore", "s3fs", "aiohttp", "azure", "adlfs"}
# The query of a URL inside a message: a SAS token or a presigned signature.
_URL_QUERY = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s?#'\"<>]*)\?[^\s'\"<>]*", re.IGNORECASE)


@contextlib.contextmanager
def translate_errors(key: str = "") -> Iterator[None]:
    """Re-raise any backend exception as the matching :class:`StoreError`."""
    try:
        yield
    except StoreError:
        raise
    except OSError as exc:
        raise _mapped(exc, key) from exc
    except Exception as exc:  # botocore ClientError and friends
        backend = _backend_exception(exc)
        if backend is None:
            raise
        raise _mapped(backend, key) from exc


def _backend_exception(exc: BaseException) -> BaseException | None:
    """``exc`` if a storage library raised it, else the first such exception
    it was raised from (adlfs wraps a failed upload in a ``RuntimeError``)."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if type(cur).__module__.split(".")[0] in _TRANSLATED_MODULES:
            return cur
        cur = cur.__cause__
    return None


def _mapped(exc: BaseException, key: str) -> StoreError:
    cls = classify(exc)
    where = f" ({key})" if key else ""
    return cls(f"{_detail(exc)}{where}")


def _detail(exc: BaseException) -> str:
    """What the backend said, on one line (Azure adds request ids and the
    answer's XML below), without the query of any URL it names."""
    lines = str(exc).strip().splitlines()
    detail = lines[0] if lines else type(exc).__name__
    code = getattr(exc, "error_code", None)  # Azure's: an enum member, or a string
    code = getattr(code, "value", code)
    if code and str(code) not in detail:
        detail = f"{detail} [{code}]"
    return _URL_QUERY.sub(r"\1?…", detail)
