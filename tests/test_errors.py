"""The storage error tree, and the one place where backend exceptions are
translated into it (``backends._errors``)."""

from __future__ import annotations

import pytest

import backends
from backends import StoreError


def test_error_tree_inherits_builtins():
    assert issubclass(backends.KeyNotFoundError, FileNotFoundError)
    assert issubclass(backends.PreconditionFailedError, FileExistsError)
    assert issubclass(backends.StorePermissionError, PermissionError)
    assert issubclass(backends.InvalidKeyError, ValueError)
    assert issubclass(backends.StoreConfigError, ValueError)
    assert issubclass(backends.StoreIOError, OSError)
    assert issubclass(backends.ConflictRetriesExhausted, backends.PreconditionFailedError)
    for cls in [backends.KeyNotFoundError, backends.PreconditionFailedError, backends.StoreIOError]:
        assert issubclass(cls, StoreError)


def _client_error(code: str, status: int):
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "PutObject")


def _azure_errors() -> list:
    """azure.core exceptions and their translations (none where the azure
    extra is not installed)."""
    try:
        from azure.core import exceptions as az
    except ImportError:
        return []
    return [
        (az.ResourceModifiedError("The condition specified using HTTP conditional header(s) is not met."),
         backends.PreconditionFailedError),
        (az.ResourceExistsError("The specified blob already exists."), backends.PreconditionFailedError),
        (az.ResourceNotFoundError("The specified blob does not exist."), backends.KeyNotFoundError),
        (az.ClientAuthenticationError("Server failed to authenticate the request."), backends.StorePermissionError),
        (az.HttpResponseError("Internal error"), backends.StoreIOError),
        (az.ServiceRequestError("Cannot connect to host"), backends.StoreIOError),
    ]


@pytest.mark.parametrize(
    "exc, expected",
    [
        *_azure_errors(),
        (_client_error("PreconditionFailed", 412), backends.PreconditionFailedError),
        (_client_error("ConditionalRequestConflict", 409), backends.PreconditionFailedError),
        (_client_error("", 412), backends.PreconditionFailedError),
        (_client_error("NoSuchKey", 404), backends.KeyNotFoundError),
        (_client_error("AccessDenied", 403), backends.StorePermissionError),
        (_client_error("InternalError", 500), backends.StoreIOError),
        (OSError(5, "At least one of the pre-conditions you specified did not hold (PreconditionFailed)"),
         backends.PreconditionFailedError),
        (FileExistsError("exists"), backends.PreconditionFailedError),
        (FileNotFoundError("gone"), backends.KeyNotFoundError),
        (PermissionError("no"), backends.StorePermissionError),
        (OSError("disk full"), backends.StoreIOError),
    ],
)
def test_backend_errors_are_translated_in_one_place(exc, expected):
    from backends._errors import translate_errors

    with pytest.raises(expected) as info:
        with translate_errors("doc.json"):
            raise exc
    assert type(info.value) is expected
    assert info.value.__cause__ is exc and "doc.json" in str(info.value)


def test_other_errors_pass_untranslated():
    from backends._errors import translate_errors

    with pytest.raises(KeyError):
        with translate_errors("k"):
            raise KeyError("a bug, not a storage failure")


def test_a_translated_message_is_one_line_without_url_queries():
    from backends._errors import translate_errors

    message = ("Connection failed for https://acct.blob.core.windows.net/c/p/a.png?sv=2023-01-03&sig=SECRETSIG%3D "
               "(http://127.0.0.1:9000/bucket/k?X-Amz-Signature=SECRETSIG2)\nRequestId:1\nContent: <Error/>")
    with pytest.raises(backends.StoreIOError) as info:
        with translate_errors("p/a.png"):
            raise OSError(message)
    shown = str(info.value)
    assert "SECRETSIG" not in shown and "\n" not in shown
    assert "https://acct.blob.core.windows.net/c/p/a.png" in shown and "(p/a.png)" in shown
