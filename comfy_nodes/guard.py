"""The HTTP trust rules: one check in front of every route, and the security headers.

:class:`Guard` decides, before a handler reads anything, whether a request is
answered at all; the same code runs inside ComfyUI (each handler that
:func:`~comfy_nodes.routes.build_routes` makes is wrapped by :meth:`Guard.wrap`,
whatever middleware ComfyUI was started with) and in ``poolstore serve``
(where :meth:`Guard.middleware` also covers the page and the web files).

The checks, in order (the first that fails answers; nothing has been read or
changed then):

=====================================================  ======  ================
rule                                                   status  code
=====================================================  ======  ================
``Host`` names no address of this server               421     ``misdirected``
no access token (``serve`` with a token only)          401     ``unauthorized``
a write on a ``--read-only`` server                    403     ``read_only``
a write whose ``Origin`` is neither this server's      403     ``cross_origin``
own nor allowed, or whose ``Sec-Fetch-Site`` is
neither ``same-origin`` nor ``none``
a JSON route sent anything but ``application/json``    415     ``unsupported_media_type``
a form route sent anything but a multipart or          415     ``unsupported_media_type``
urlencoded form
=====================================================  ======  ================

A *write* is any method but GET, HEAD and OPTIONS. A request that carries no
``Origin`` and no ``Sec-Fetch-Site`` comes from a client that is not a web page
(curl, the CLI, scripts): browsers send ``Origin`` on every POST, so a page on
another site cannot make such a request; it is allowed. JSON routes refuse
the content types a plain HTML form or a ``no-cors`` fetch can send
(``text/plain``, forms), so a cross-site page cannot reach them without a
CORS preflight, which this server never grants.

The host rule: a request that arrived on a loopback address must name
``localhost`` or that address, with the port it arrived on (or a configured
host name); on other addresses the name must be the address itself or a
configured name. A page on another name that resolves to this server (DNS
rebinding) is therefore refused. Inside ComfyUI the rule applies on loopback;
on other addresses only when host names are configured (ComfyUI then serves
a network the user chose to open).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import ipaddress
import re
from collections.abc import Callable
from typing import Literal, TypeVar
from urllib.parse import urlsplit

from aiohttp import web

from .errors import Handler, error_response, json_errors
from .http_settings import HttpSettings, normalize_origin

__all__ = [
    "Guard", "RouteKind", "SECURITY_HEADERS", "API_CSP", "page_csp", "SESSION_COOKIE", "session_value", "secure",
    "add_security_headers",
]

RouteKind = Literal["read", "json", "form"]
AnyResponse = TypeVar("AnyResponse", bound=web.StreamResponse)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # not no-referrer: under it a page's own POSTs would send "Origin: null"
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
"""Headers on every answer of ours (inside ComfyUI: on our routes' answers only)."""
API_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
"""The ``Content-Security-Policy`` of API answers (JSON, images, zips)."""
SESSION_COOKIE = "poolstore_session"
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def page_csp(html: str) -> str:
    """The ``Content-Security-Policy`` of the standalone page: scripts from this
    server and the page's own inline scripts (by hash), images from this server,
    requests to this server (and to blob: URLs the page made itself) only, no
    framing. Styles may be inline (the components add one ``<style>`` element)."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii") + "'" for body in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; connect-src 'self' blob:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


def session_value(token: str) -> str:
    """The session cookie's value for ``token`` (not the token itself)."""
    return hmac.new(token.encode("utf-8"), b"poolstore session", hashlib.sha256).hexdigest()


def _split_host(value: str, default_port: int) -> tuple[str, int] | None:
    try:
        parts = urlsplit("//" + value)
        name, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not name or parts.path or parts.username:
        return None
    return name, port if port is not None else default_port


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return None
    mapped = getattr(ip, "ipv4_mapped", None)
    return mapped or ip


class Guard:
    """The rules of the module docstring for one server.

    Parameters
    ----------
    settings
        The settings, or a callable giving them (called on each request, so
        it may load them lazily; it should cache).
    token_required
        Enforce ``settings.token`` (``poolstore serve``); inside ComfyUI the
        token is not used.
    read_only
        Refuse every write with 403 ``read_only``.
    strict_hosts
        Apply the host rule on non-loopback addresses too, even without
        configured host names (``poolstore serve``).
    login_path
        The login page: needs no token, and ``GET /`` without one is
        redirected there.
    """

    def __init__(
        self,
        settings: HttpSettings | Callable[[], HttpSettings],
        *,
        token_required: bool = False,
        read_only: bool = False,
        strict_hosts: bool = False,
        login_path: str | None = None,
    ) -> None:
        self._settings = settings if callable(settings) else (lambda: settings)
        self.token_required = token_required
        self.read_only = read_only
        self.strict_hosts = strict_hosts
        self.login_path = login_path

    @property
    def settings(self) -> HttpSettings:
        return self._settings()

    # -- the checks ---------------------------------------------------------

    def refusal(self, request: web.Request, kind: RouteKind | None) -> web.StreamResponse | None:
        """The answer refusing ``request``, or ``None`` when it may go on.
        ``kind`` is the route's (``None``: not an API route: page, web files)."""
        settings = self.settings
        if not self.host_allowed(request, settings):
            return error_response(421, "misdirected", "this server does not answer for that host name")
        token = self._required_token(request, settings)
        if token and not self.authorized(request, token):
            if request.method == "GET" and request.path == "/" and self.login_path:
                return web.HTTPSeeOther(self.login_path)
            return error_response(401, "unauthorized", "an access token is needed: log in at /login")
        if request.method in SAFE_METHODS:
            return None
        if self.read_only and kind is not None:
            return error_response(403, "read_only", "this server is read-only; changes are refused")
        if not self.same_origin(request, settings):
            return error_response(403, "cross_origin", "requests from another site are refused")
        return self._media_refusal(request, kind)

    def _required_token(self, request: web.Request, settings: HttpSettings) -> str | None:
        """The token ``request`` must carry, if any."""
        return settings.token if self.token_required and request.path != self.login_path else None

    def host_allowed(self, request: web.Request, settings: HttpSettings) -> bool:
        """The host rule (module docstring)."""
        header = request.headers.get("Host")
        if header is None:
            return True  # not a browser: every browser sends Host
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        local = _ip(str(sockname[0])) if sockname else None
        default_port = 443 if request.secure else 80
        named = _split_host(header.lower(), default_port)
        if named is None:
            return False
        name, port = named
        shown = f"[{name}]" if ":" in name else name
        if shown in settings.hosts or f"{shown}:{port}" in settings.hosts:
            return True
        if local is None or not sockname:
            return False
        if not local.is_loopback and not self.strict_hosts and not settings.hosts:
            return True
        if port != sockname[1]:
            return False
        ip = _ip(name)
        if ip is not None:
            return ip == local or (ip.is_loopback and local.is_loopback)
        return name == "localhost" and local.is_loopback

    def same_origin(self, request: web.Request, settings: HttpSettings) -> bool:
        """Whether a write comes from this server's own pages, an allowed
        origin, or a client that is not a web page (module docstring)."""
        origin = request.headers.get("Origin")
        if origin is not None:
            try:
                normalized = normalize_origin(origin)
            except ValueError:
                return False  # "null" and other opaque origins
            if normalized in settings.allowed_origins:
                return True
            parts = urlsplit(normalized)
            default = 443 if parts.scheme == "https" else 80
            own = _split_host(request.headers.get("Host", "").lower(), default)
            return own is not None and own == (parts.hostname, parts.port or default)
        site = request.headers.get("Sec-Fetch-Site")
        return site is None or site in ("same-origin", "none")

    @staticmethod
    def _media_refusal(request: web.Request, kind: RouteKind | None) -> web.Response | None:
        if kind == "json" and request.content_type != "application/json":
            return error_response(415, "unsupported_media_type", "this route takes a JSON body (application/json)")
        if kind == "form" and request.content_type not in _FORM_TYPES:
            return error_response(415, "unsupported_media_type", "this route takes a multipart/form-data body")
        return None

    @staticmethod
    def token_matches(given: str, token: str) -> bool:
        """Compare in constant time."""
        return hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))

    @classmethod
    def authorized(cls, request: web.Request, token: str) -> bool:
        """``Authorization: Bearer <token>`` or the session cookie of :func:`session_value`."""
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and cls.token_matches(given.strip(), token):
            return True
        return cls.token_matches(request.cookies.get(SESSION_COOKIE, ""), session_value(token))

    # -- where the checks run -------------------------------------------------

    def wrap(self, handler: Handler, kind: RouteKind) -> Handler:
        """``handler`` behind the checks, its answers with the security headers."""

        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            refused = self.refusal(request, kind)
            if refused is not None:
                return secure(refused)
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                raise secure(exc)
            return secure(response)

        guarded.poolstore_guarded = True  # type: ignore[attr-defined]
        return json_errors(guarded)

    def middleware(self) -> Callable:
        """An aiohttp middleware applying the checks to every route that
        :meth:`wrap` does not already cover (``poolstore serve``)."""

        @web.middleware
        async def guard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
            route_handler = getattr(request.match_info, "handler", None)
            if not getattr(route_handler, "poolstore_guarded", False):
                refused = self.refusal(request, None)
                if refused is not None:
                    return secure(refused)
            return await handler(request)

        return guard_middleware


def secure(response: AnyResponse) -> AnyResponse:
    """``response`` with :data:`SECURITY_HEADERS` and the API's CSP (those it
    does not set itself); does nothing once its headers are sent."""
    if not response.prepared:
        add_security_headers(response)
    return response


def add_security_headers(response: web.StreamResponse, csp: str = API_CSP) -> None:
    """Set :data:`SECURITY_HEADERS` and a CSP where ``response`` has none (also
    from an ``on_response_prepare`` signal, where it counts as prepared)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Content-Security-Policy", csp)
