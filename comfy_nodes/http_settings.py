"""Who may call the HTTP API, and how long a connection may take: ``[http]``.

Where the settings come from
----------------------------
The environment wins over the ``[http]`` table of the config file
(:func:`~comfy_nodes.config.config_path`)::

    [http]
    allowed_origins = ["https://pools.example.com"]   # $POOLSTORE_ALLOWED_ORIGINS
    hosts = ["pools.example.com", "mybox.local:8190"] # $POOLSTORE_HOSTS
    token = "a long random secret"                    # $POOLSTORE_TOKEN (serve only)
    header_timeout = 10       # seconds: a request head must arrive in this time
    body_timeout = 30         # seconds without a byte while a body is expected
    idle_timeout = 30         # seconds a connection may wait for its next request
    write_timeout = 30        # seconds a client may read nothing of an answer
    max_connections = 256     # open connections of `poolstore serve`
    max_streams = 8           # export streams at once (more answer 503)

The environment variables hold comma-separated lists. The timeouts and the
connection cap apply to ``poolstore serve`` (ComfyUI owns its own server);
``write_timeout`` and ``max_streams`` also bound export streams inside ComfyUI.
Nothing is read at import time: :func:`http_settings` loads on first use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ._layers import StoreConfigError

from .config import OnFirstUse, config_table

__all__ = ["HttpSettings", "http_settings", "load_http_settings", "normalize_origin", "MIN_TOKEN_LENGTH"]

MIN_TOKEN_LENGTH = 16
_LISTS = {"allowed_origins": "POOLSTORE_ALLOWED_ORIGINS", "hosts": "POOLSTORE_HOSTS"}
_NUMBERS = {
    "header_timeout": float, "body_timeout": float, "idle_timeout": float, "write_timeout": float,
    "max_connections": int, "max_streams": int,
}


@dataclass(frozen=True)
class HttpSettings:
    """The HTTP trust rules and limits (see the module docstring).

    Attributes
    ----------
    allowed_origins
        Origins (``scheme://host[:port]``, lower case, default port left out)
        whose state-changing requests are accepted besides the server's own.
    hosts
        Extra ``Host`` names the server answers (``name`` for any port, or
        ``name:port``), besides the address it listens on.
    token
        The access token of ``poolstore serve`` (``None``: none configured).
    """

    allowed_origins: frozenset[str] = frozenset()
    hosts: frozenset[str] = frozenset()
    token: str | None = field(default=None, repr=False)
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    idle_timeout: float = 30.0
    write_timeout: float = 30.0
    max_connections: int = 256
    max_streams: int = 8


def normalize_origin(value: str) -> str:
    """``scheme://host[:port]`` in lower case with the default port left out;
    raises ``ValueError`` for anything that is not an http(s) origin."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{value!r} is not an origin like https://host[:port]")
    port = parts.port  # ValueError for a bad port
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = 80 if parts.scheme == "http" else 443
    return f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


def _host_name(value: str) -> str:
    parts = urlsplit("//" + value.strip().lower())
    if not parts.hostname or parts.path or parts.query or parts.username:
        raise ValueError(f"{value!r} is not a host name like name or name:port")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return host + (f":{parts.port}" if parts.port is not None else "")


def _list(where: str, value: Any) -> list[str]:
    if isinstance(value, str):
        return [v for v in (x.strip() for x in value.split(",")) if v]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise StoreConfigError(f"{where}: a list of texts is expected")


def _number(where: str, kind: type, value: Any) -> float | int:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    if not ok or (kind is int and not isinstance(value, int)):
        raise StoreConfigError(f"{where}: a positive {'whole ' if kind is int else ''}number is expected, got {value!r}")
    return kind(value)


def load_http_settings() -> HttpSettings:
    """Read the settings now (environment, then ``[http]`` of the config file)."""
    path, table = config_table("http")
    values: dict[str, Any] = {}
    for key, env in _LISTS.items():
        raw = os.environ[env] if os.environ.get(env) else table.get(key, [])
        where = env if os.environ.get(env) else f"{path}: [http] {key}"
        convert = normalize_origin if key == "allowed_origins" else _host_name
        try:
            values[key] = frozenset(convert(v) for v in _list(where, raw))
        except ValueError as exc:
            raise StoreConfigError(f"{where}: {exc}") from exc
    for key, kind in _NUMBERS.items():
        if key in table:
            values[key] = _number(f"{path}: [http] {key}", kind, table[key])
    token = os.environ.get("POOLSTORE_TOKEN") or table.get("token")
    if token is not None and (not isinstance(token, str) or len(token) < MIN_TOKEN_LENGTH):
        raise StoreConfigError(f"the access token must be a text of at least {MIN_TOKEN_LENGTH} characters")
    return HttpSettings(token=token, **values)


http_settings = OnFirstUse(load_http_settings)
"""The settings of this process (read once, on the first request)."""
