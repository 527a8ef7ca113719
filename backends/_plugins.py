"""Plug-in backends: stores of other distributions, found by URL scheme.

A distribution registers a backend as an entry point in the group
:data:`ENTRY_POINT_GROUP`; the entry point's name is the URL scheme and its
object a callable ``open(url, storage_options) -> Store``. In
``pyproject.toml``::

    [project.entry-points."poolstore.backends"]
    dict = "poolstore_dict:open_dict_store"

:func:`~backends.open_store` asks for a plug-in when the scheme is none of
its own. docs/BACKENDS.md shows a whole example and the contract test
(:mod:`backends.testing`) a backend passes.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

from ._errors import StoreConfigError, StoreError
from ._store import Store

__all__ = ["ENTRY_POINT_GROUP", "find_plugin", "open_with_plugin"]

ENTRY_POINT_GROUP = "poolstore.backends"
"""The entry point group of plug-in backends; entry point name = URL scheme."""


def find_plugin(scheme: str) -> EntryPoint | None:
    """The entry point registered for ``scheme`` (case-insensitive), if any.

    Two distributions registering one scheme is a configuration error:
    neither is picked.
    """
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name.lower() == scheme]
    if len(found) > 1:
        owners = ", ".join(sorted(_owner(ep) for ep in found))
        raise StoreConfigError(f"several backends are registered for {scheme}:// ({owners}); uninstall all but one")
    return found[0] if found else None


def open_with_plugin(entry_point: EntryPoint, url: str, options: dict[str, Any]) -> Store:
    """Load the plug-in and open ``url`` with it; it must return a :class:`Store`."""
    scheme = entry_point.name
    try:
        opener = entry_point.load()
    except Exception as exc:  # an ImportError, or whatever the module raises on import
        raise StoreConfigError(
            f"the backend for {scheme}:// ({_owner(entry_point)}) cannot be loaded: {type(exc).__name__}: {exc}"
        ) from exc
    try:
        store = opener(url, options)
    except StoreError:
        raise
    except (ValueError, TypeError) as exc:
        raise StoreConfigError(f"{scheme}:// ({_owner(entry_point)}): {exc}") from exc
    if not isinstance(store, Store):
        raise StoreConfigError(
            f"the backend for {scheme}:// ({_owner(entry_point)}) returned {type(store).__name__}, not a Store"
        )
    return store


def _owner(entry_point: EntryPoint) -> str:
    dist = entry_point.dist
    return f"{dist.name if dist is not None else 'unknown distribution'}: {entry_point.value}"
