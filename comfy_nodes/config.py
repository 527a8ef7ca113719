"""Server-side store configuration: the default store and named others.

Where the settings come from
----------------------------
* The default store: ``$POOLSTORE_URL``; else ``[stores.default]`` in the
  config file; else ComfyUI's ``input/grid_pool`` inside ComfyUI, or
  ``./grid_pool`` elsewhere.
* Named stores (``team:<id>`` ids) from a TOML file found at
  ``$POOLSTORE_CONFIG``; else ``<ComfyUI user dir>/poolstore.toml``; else
  ``poolstore.toml`` in the pack folder. For example::

      [stores.team]
      url = "s3://team-bucket/pools"
      [stores.team.storage_options]
      endpoint_url = "https://minio.example.com"
      profile = "team"

* Size bounds of the local caches: ``$POOLSTORE_CACHE_IMAGES_MAX`` and
  ``$POOLSTORE_CACHE_THUMBS_MAX``; else ``[cache] images_max`` and
  ``thumbs_max`` in the config file; else 2 GiB and 256 MiB. A size is a
  number of bytes or a number with a unit (``"500 MB"``, ``"2GiB"``, ``"1.5G"``).
* Who may call the HTTP API, and connection limits: ``[http]``, read by
  :mod:`comfy_nodes.http_settings`.

Nothing is read at import time: :func:`configured_stores` loads on first use.
Credentials stay in the file or the environment; only redacted URLs are
logged or answered.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from . import comfy
from ._layers import DEFAULT_STORE, StoreConfigError, StoreSet, backends, validate_store_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "StoreSpec",
    "config_path",
    "default_url",
    "read_config",
    "open_stores",
    "configured_stores",
    "use_stores",
    "StoreProvider",
    "CacheLimits",
    "cache_limits",
    "parse_size",
    "images_cache_bytes",
    "thumbs_cache_bytes",
    "config_table",
    "OnFirstUse",
]

log = logging.getLogger("poolstore.config")

PACK_DIR = Path(__file__).resolve().parent.parent
CONFIG_NAME = "poolstore.toml"
T = TypeVar("T")
StoreProvider = Callable[[], StoreSet]
"""A zero-argument callable returning the configured :class:`StoreSet`."""


@dataclass(frozen=True)
class StoreSpec:
    """How to open one store: its name, URL and fsspec ``storage_options``."""

    name: str
    url: str
    storage_options: dict[str, Any] = field(default_factory=dict, repr=False)


def config_path() -> Path | None:
    """The config file in use, or ``None`` when there is none.

    ``$POOLSTORE_CONFIG`` must name an existing file; the other places are
    used only when the file is there.
    """
    env = os.environ.get("POOLSTORE_CONFIG")
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise StoreConfigError(f"POOLSTORE_CONFIG names no file: {path}")
        return path
    user = comfy.user_directory()
    for folder in ([Path(user)] if user else []) + [PACK_DIR]:
        if (folder / CONFIG_NAME).is_file():
            return folder / CONFIG_NAME
    return None


def default_url() -> str:
    """The default store's URL when neither the environment nor the file set one."""
    inside = comfy.input_directory()
    return os.path.join(inside, "grid_pool") if inside else os.path.abspath("grid_pool")


def read_config(path: Path | None) -> list[StoreSpec]:
    """The stores a config file names (``[stores.<name>]`` tables)."""
    if path is None:
        return []
    tables = _load(path).get("stores", {})
    if not isinstance(tables, dict):
        raise StoreConfigError(f"{path}: [stores] must be a table")
    return [_spec(path, name, table) for name, table in tables.items()]


def _load(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise StoreConfigError(f"cannot read config {path}: {exc}") from exc


def config_table(name: str) -> tuple[Path | None, dict[str, Any]]:
    """(config file, its ``[name]`` table): ``(None, {})`` without a file,
    an empty table when the file has none; raises :class:`StoreConfigError`."""
    path = config_path()
    table = _load(path).get(name, {}) if path is not None else {}
    if not isinstance(table, dict):
        raise StoreConfigError(f"{path}: [{name}] must be a table")
    return path, table


def _spec(path: Path, name: str, table: Any) -> StoreSpec:
    try:
        validate_store_name(name)
    except ValueError as exc:
        raise StoreConfigError(f"{path}: {exc}") from exc
    if not isinstance(table, dict) or not isinstance(table.get("url"), str):
        raise StoreConfigError(f"{path}: [stores.{name}] needs url = \"...\"")
    options = table.get("storage_options", {})
    if not isinstance(options, dict):
        raise StoreConfigError(f"{path}: [stores.{name}.storage_options] must be a table")
    return StoreSpec(name, table["url"], dict(options))


def open_stores(default: StoreSpec | None = None, named: list[StoreSpec] | None = None) -> StoreSet:
    """Open the stores: ``default`` (else the configured default) and ``named``.

    Parameters
    ----------
    default
        Overrides ``$POOLSTORE_URL`` and ``[stores.default]``.
    named
        Stores to open besides the default; ``None`` reads the config file.
    """
    specs = read_config(config_path()) if named is None else list(named)
    by_name = {s.name: s for s in specs}
    env = os.environ.get("POOLSTORE_URL")
    if default is None:
        default = StoreSpec(DEFAULT_STORE, env) if env else by_name.get(DEFAULT_STORE)
    default = default or StoreSpec(DEFAULT_STORE, default_url())
    stores = {s.name: backends.open_store(s.url, s.storage_options) for s in specs if s.name != DEFAULT_STORE}
    store_set = StoreSet(backends.open_store(default.url, default.storage_options), stores)
    for name, store in store_set:
        log.info("poolstore: store %s at %s", name, store.url)
    return store_set


class OnFirstUse(Generic[T]):
    """A process-wide value made by ``load()`` on first use (thread-safe)."""

    def __init__(self, load: Callable[[], T]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._value: T | None = None

    def __call__(self) -> T:
        with self._lock:
            if self._value is None:
                self._value = self._load()
            return self._value

    def replace(self, value: T | None) -> T | None:
        """Use ``value`` from now on (``None``: load again on next use); returns the previous one."""
        with self._lock:
            previous, self._value = self._value, value
            return previous


_configured = OnFirstUse(lambda: open_stores())


def configured_stores() -> StoreSet:
    """The stores the nodes and routes of this process use (opened on first call)."""
    return _configured()


def use_stores(stores: StoreSet | None) -> StoreSet | None:
    """Make ``stores`` the process-wide set (``None``: load from config again on
    next use); returns the previous one, which the caller may close."""
    return _configured.replace(stores)


# --- local cache bounds -----------------------------------------------------

GIB, MIB = 1 << 30, 1 << 20
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": MIB, "g": GIB, "t": 1 << 40,
          "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 1 << 10, "mib": MIB, "gib": GIB, "tib": 1 << 40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*")
_CACHE_SETTINGS = {
    "images": ("POOLSTORE_CACHE_IMAGES_MAX", 2 * GIB),
    "thumbs": ("POOLSTORE_CACHE_THUMBS_MAX", 256 * MIB),
}


@dataclass(frozen=True)
class CacheLimits:
    """Size bounds in bytes of the image read cache and the thumbnail cache
    (``0``: the cache keeps nothing)."""

    images: int
    thumbs: int


def parse_size(value: object, where: str = "size") -> int:
    """Bytes from an int or a text like ``"2GiB"``, ``"500 MB"`` or ``"1.5G"``
    (K/M/G/T alone are binary units); raises :class:`StoreConfigError`."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = _SIZE.fullmatch(value) if isinstance(value, str) else None
    unit = _UNITS.get(match.group(2).lower()) if match else None
    if match is None or unit is None:
        raise StoreConfigError(f"{where}: {value!r} is not a size (e.g. 2GiB, 500MB, 0 to turn the cache off)")
    return int(float(match.group(1)) * unit)


def cache_limits() -> CacheLimits:
    """The cache bounds: environment, else ``[cache]`` of the config file, else defaults."""
    path, table = config_table("cache")
    values = {}
    for kind, (env, default) in _CACHE_SETTINGS.items():
        if os.environ.get(env):
            values[kind] = parse_size(os.environ[env], env)
        else:
            values[kind] = parse_size(table.get(f"{kind}_max", default), f"{path}: [cache] {kind}_max")
    return CacheLimits(**values)


def images_cache_bytes() -> int:
    """The configured bound of the image read cache (for :class:`~comfy_nodes.cache.DiskCache`)."""
    return cache_limits().images


def thumbs_cache_bytes() -> int:
    """The configured bound of the thumbnail cache (for :class:`~comfy_nodes.cache.DiskCache`)."""
    return cache_limits().thumbs
