"""The one entry point from a URL plus ``storage_options`` to a :class:`Store`."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

from fsspec.core import split_protocol

from ._errors import StoreConfigError
from ._fsspec import FsspecStore
from ._paths import LOCAL_PROTOCOLS, local_path
from ._plugins import ENTRY_POINT_GROUP, find_plugin, open_with_plugin
from ._store import Store

__all__ = ["open_store", "redact_url", "ENTRY_POINT_GROUP"]

# Filesystem options that would break the store's guarantees if a caller
# changed them: another machine's writes must be visible to the next decision,
# and no other code may share the store's filesystem instance.
_FORCED = {"use_listings_cache": False, "skip_instance_cache": True}
# s3fs defaults that a caller may change. Streamed reads and writes buffer one
# block per open file; s3fs's own 50 MiB would make memory grow with the image
# size (and with the number of concurrent transfers).
_S3_DEFAULTS = {"default_block_size": 8 * 1024 * 1024}
# The same for adlfs (its own default block is 50 MiB too).
_AZURE_DEFAULTS = {"blocksize": 8 * 1024 * 1024}
AZURE_PROTOCOLS = ("az", "abfs", "abfss")
# 3 to 63 lowercase letters, digits and single hyphens, starting and ending
# with a letter or digit (Azure's container naming rules).
_CONTAINER = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")


def open_store(url: str, storage_options: dict[str, Any] | None = None) -> Store:
    """Open the store at ``url``.

    Parameters
    ----------
    url
        A local path or ``file://`` URL (Windows drive letters and UNC paths
        included, see :func:`~backends._paths.local_path`), ``s3://bucket[/prefix]``,
        ``az://container[/prefix]`` (also ``abfs://``, ``abfss://``; needs the
        ``azure`` extra), ``memory://name``, a scheme a plug-in backend
        registers (entry point group :data:`ENTRY_POINT_GROUP`), or another
        fsspec URL (the generic :class:`FsspecStore`).
    storage_options
        Passed to the filesystem (for S3: ``endpoint_url``, ``key``,
        ``secret``, ``profile``, ``client_kwargs``...; for Azure:
        ``account_name``, ``account_key``, ``connection_string``,
        ``sas_token``...). An option the backend does not take is an error,
        never silently ignored.

    Returns
    -------
    Store
        A store that owns a filesystem instance of its own.

    Notes
    -----
    Built-in schemes come first, then plug-ins (a plug-in cannot take over
    ``s3://``), then fsspec's own registry.
    """
    if not isinstance(url, str) or not url.strip():
        raise StoreConfigError("a store URL is required")
    options = dict(storage_options or {})
    protocol, rest = split_protocol(url)  # "C:\\x", "C://x": a drive, not a protocol
    protocol = (protocol or "file").lower()
    if "://" in url:
        _refuse_credentials(protocol, rest)
    opener = _BUILT_IN.get(protocol)
    if opener is not None:
        return opener(url, rest, options)
    plugin = find_plugin(protocol)
    if plugin is not None:
        return open_with_plugin(plugin, url, options)
    return _open_generic(url, options)


# ``user[:secret]@`` before the host, up to its last '@' (a secret may hold
# one). A secret pasted raw may hold '/', so a ':' in the first segment that
# is not a port ("host:9000/") starts one too (up to the last '@' at all).
_USERINFO = re.compile(r"[^/]*@|[^/@:]*:(?![0-9]*(?:/|$)).*@")


def redact_url(url: str) -> str:
    """``url`` without user information, query or fragment (safe to show).

    Never fails: a malformed URL is cut down rather than shown whole.
    """
    if "://" not in url:
        return url
    scheme, _, rest = url.partition("://")
    userinfo = _USERINFO.match(rest)
    if userinfo:
        rest = rest[userinfo.end() :]
    return f"{scheme}://{re.split('[?#]', rest, maxsplit=1)[0]}"


def _refuse_credentials(protocol: str, rest: str) -> None:
    """Credentials in a URL would show wherever the URL does (logs, errors,
    answers): refuse them, without repeating any of the URL."""
    bucket = rest.split("/", 1)[0]
    if protocol in AZURE_PROTOCOLS and "@" in bucket:
        raise StoreConfigError(
            "an Azure store URL looks like az://container/prefix; the account goes in the storage "
            "options (account_name with account_key or sas_token, or a connection_string)"
        )
    if _USERINFO.match(rest) or (protocol in ("s3", "s3a") and (":" in bucket or "@" in bucket)):
        raise StoreConfigError(
            "credentials in the store URL are not accepted (a URL is shown in logs and messages); "
            "give them as storage options (key, secret; -o on the command line, [stores] in the config "
            "file) or through the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE)"
        )


def _no_options(kind: str, options: dict[str, Any]) -> None:
    if options:
        names = ", ".join(sorted(options))
        raise StoreConfigError(f"{kind} stores take no storage options (got: {names})")


def _open_local(url: str, rest: str, options: dict[str, Any]) -> Store:
    from ._local import LocalStore

    _no_options("local", options)
    return LocalStore(local_path(url))


def _open_memory(url: str, rest: str, options: dict[str, Any]) -> Store:
    from ._memory import MemoryStore

    _no_options("memory", options)
    name = rest.strip("/")
    if not name or ".." in name.split("/"):
        raise StoreConfigError("memory:// needs a name, e.g. memory://demo")
    return MemoryStore(name)


def _open_s3(url: str, rest: str, options: dict[str, Any]) -> Store:
    from s3fs import S3FileSystem

    from ._s3 import S3Store

    bucket_prefix = rest.strip("/")
    if not bucket_prefix or "?" in rest or "#" in rest:
        raise StoreConfigError("an S3 store URL looks like s3://bucket/prefix")
    if ".." in bucket_prefix.split("/") or "" in bucket_prefix.split("/"):
        raise StoreConfigError(f"invalid S3 location {redact_url(url)!r}")
    fs = S3FileSystem(**_fs_options(S3FileSystem, options, "S3", _S3_DEFAULTS))
    return S3Store(fs, bucket_prefix, redact_url(f"s3://{bucket_prefix}"), options)


def _open_azure(url: str, rest: str, options: dict[str, Any]) -> Store:
    try:
        from adlfs import AzureBlobFileSystem
    except ImportError as exc:
        raise StoreConfigError("Azure stores need the azure extra: pip install 'poolstore[azure]'") from exc
    from ._azure import AzureStore

    scheme = url.split("://", 1)[0].lower()
    root = rest.strip("/")
    if not root or "?" in rest or "#" in rest or ".." in root.split("/") or "" in root.split("/"):
        raise StoreConfigError(f"an Azure store URL looks like {scheme}://container/prefix")
    if not _CONTAINER.match(root.split("/", 1)[0]):
        raise StoreConfigError(
            "an Azure container name is 3 to 63 lowercase letters, digits and single hyphens "
            f"({scheme}://container/prefix; the account goes in the storage options)"
        )
    try:
        fs = AzureBlobFileSystem(**_fs_options(AzureBlobFileSystem, options, "Azure", _AZURE_DEFAULTS))
    except ValueError as exc:  # adlfs: no usable account or credentials
        raise StoreConfigError(f"cannot open {scheme}://{root}: {_first_line(exc)}") from exc
    return AzureStore(fs, root, f"{scheme}://{root}")


def _open_generic(url: str, options: dict[str, Any]) -> Store:
    import fsspec

    try:
        fs, root = fsspec.core.url_to_fs(url, skip_instance_cache=True, **options)
    except (ValueError, ImportError, TypeError) as exc:
        raise StoreConfigError(f"cannot open {redact_url(url)}: {exc}") from exc
    return FsspecStore(fs, root, redact_url(url))


def _fs_options(fs_cls: type, options: dict[str, Any], kind: str, defaults: dict[str, Any]) -> dict[str, Any]:
    """The filesystem's keyword arguments: ``options`` over ``defaults``, with
    the forced options on top. A forced option given another value, or an
    option the filesystem does not take, is an error (checked in that order)."""
    for name, value in _FORCED.items():
        if options.get(name, value) != value:
            raise StoreConfigError(f"{name} cannot be changed for a shared store")
    _check_known(fs_cls, {k: v for k, v in options.items() if k not in _FORCED}, kind)
    return {**defaults, **options, **_FORCED}


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


# Taken by every fsspec filesystem through ``**storage_options`` (instance and
# listings caches), so no signature names them.
_FSSPEC_COMMON = {"skip_instance_cache", "use_listings_cache", "listings_expiry_time", "max_paths"}


def _check_known(fs_cls: type, options: dict[str, Any], kind: str) -> None:
    params = set(_FSSPEC_COMMON)
    for cls in fs_cls.__mro__:
        init = cls.__dict__.get("__init__")
        if init is None:
            continue
        params |= {
            p.name
            for p in inspect.signature(init).parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"
        }
    unknown = sorted(set(options) - params)
    if unknown:
        raise StoreConfigError(f"unknown {kind} storage option(s): {', '.join(unknown)}")


_BUILT_IN: dict[str, Callable[[str, str, dict[str, Any]], Store]] = {
    **{p: _open_local for p in LOCAL_PROTOCOLS},
    "memory": _open_memory,
    "s3": _open_s3,
    "s3a": _open_s3,
    **{p: _open_azure for p in AZURE_PROTOCOLS},
}
