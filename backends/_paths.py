"""Local store locations: one function from a path or ``file://`` URL to a folder.

Windows locations are accepted wherever a local store is named: drive
letters (``C:\\ComfyUI\\input\\grid_pool``, ``C:/…``), UNC paths
(``\\\\server\\share\\pools``, ``//server/share/pools``) and ``file://`` URLs
(``file:///C:/…``, ``file://server/share/…``). A drive letter is never taken
for a URL scheme: fsspec's :func:`~fsspec.core.split_protocol` needs a scheme
of two characters or more, and so does this module.
"""

from __future__ import annotations

import os
import re
from types import ModuleType
from urllib.parse import unquote

from fsspec.core import split_protocol

from ._errors import StoreConfigError

__all__ = ["local_path", "LOCAL_PROTOCOLS"]

LOCAL_PROTOCOLS = ("file", "local")
_DRIVE = re.compile(r"^/?[A-Za-z]:([/\\]|$)")


def local_path(location: str, pathmod: ModuleType = os.path) -> str:
    """The absolute, normalised folder path that ``location`` names.

    Parameters
    ----------
    location
        A path (absolute, relative to the working folder, or ``~``-based), or a
        ``file://`` (or ``local://``) URL, in the conventions of ``pathmod``.
    pathmod
        The path module whose conventions apply: :mod:`os.path` (default),
        or :mod:`ntpath` / :mod:`posixpath` to read another platform's paths.

    Raises
    ------
    StoreConfigError
        ``location`` is empty, a URL of another protocol, or a ``file://`` URL
        naming another host where the path module has no UNC paths.
    """
    protocol, rest = split_protocol(location)
    if protocol is None:
        path = location
    elif protocol.lower() in LOCAL_PROTOCOLS:
        path = _url_path(rest, pathmod)
    else:
        raise StoreConfigError(f"{protocol}:// is not a local folder")
    if not path.strip():
        raise StoreConfigError("a local store needs a folder path")
    return str(pathmod.normpath(pathmod.abspath(pathmod.expanduser(path))))


def _url_path(rest: str, pathmod: ModuleType) -> str:
    """The path of a ``file://`` URL after the ``file://`` (RFC 8089): an
    empty or ``localhost`` authority, or a host that makes a UNC path."""
    rest = unquote(rest)
    windows = pathmod.sep == "\\"
    if not rest:
        return ""
    if _DRIVE.match(rest):  # file:///C:/x, and the common file://C:/x
        return rest.lstrip("/") if windows else rest
    if rest.startswith("/"):
        return rest  # file:///path, or file:////server/share (UNC)
    host, _, tail = rest.partition("/")
    if host.lower() == "localhost":
        return _url_path("/" + tail, pathmod)
    if host and windows:
        return f"//{host}/{tail}"
    raise StoreConfigError(f"file://{host}/ names another machine; mount it and name the folder")
