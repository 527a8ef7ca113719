"""A set of configured stores: the default one and named others (``team:<id>``)."""

from __future__ import annotations

from collections.abc import Iterator

from ._layers import Store
from .errors import UnknownStoreError
from .ids import DEFAULT_STORE, parse_qualified, qualify, validate_store_name

__all__ = ["StoreSet"]


class StoreSet:
    """Named stores; ``None`` and ``"default"`` name the default one.

    The set owns its stores: :meth:`close` closes them.
    """

    def __init__(self, default: Store, named: dict[str, Store] | None = None) -> None:
        self._stores: dict[str, Store] = {DEFAULT_STORE: default}
        for name, store in (named or {}).items():
            self._stores[validate_store_name(name)] = store

    @property
    def default(self) -> Store:
        return self._stores[DEFAULT_STORE]

    def names(self) -> list[str]:
        """Store names, the default first."""
        return [DEFAULT_STORE, *sorted(n for n in self._stores if n != DEFAULT_STORE)]

    def __iter__(self) -> Iterator[tuple[str, Store]]:
        return ((n, self._stores[n]) for n in self.names())

    def get(self, name: str | None) -> Store:
        """The store called ``name`` (default when ``None``)."""
        key = DEFAULT_STORE if name in (None, "") else validate_store_name(name)
        try:
            return self._stores[key]
        except KeyError:
            raise UnknownStoreError(f"no store named {key!r}") from None

    def resolve(self, qualified_id: object) -> tuple[str, Store, str]:
        """``"team:<id>"`` -> (store name, store, id); unqualified -> the default
        store. Anything else (not text, not an id) is refused (:class:`~poolstore.errors.InvalidIdError`)."""
        name, ident = parse_qualified(qualified_id)
        store = self.get(name)
        return name or DEFAULT_STORE, store, ident

    @staticmethod
    def qualify(store_name: str | None, ident: str) -> str:
        return qualify(store_name, ident)

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
