"""The websocket origin check: exact scheme, host and port.

A browser sends the page's origin with every websocket handshake, and a socket, unlike a form, gets
no CSRF token: the origin is the only thing that stops a page on another site (or on another port
of this one, or a plain-HTTP copy of an HTTPS site) from opening a socket with the user's session
cookie. Channels' `AllowedHostsOriginValidator` compares only the origin's host with ALLOWED_HOSTS,
so `http://gridlink.example:8080` passed for `https://gridlink.example`. Here the origin must be

- the request's own origin: the scheme of the connection (ws → http, wss → https; behind a proxy
  that terminates TLS, SECURE_PROXY_SSL_HEADER as Django reads it for HTTP), the host and port of
  the Host header (X-Forwarded-Host with USE_X_FORWARDED_HOST), default ports filled in; and that
  host must be one of ALLOWED_HOSTS, as for HTTP (else a DNS-rebinding page would be its own
  origin); or
- listed in CSRF_TRUSTED_ORIGINS (the same setting, and the same `https://*.example` form, that
  Django's CSRF check reads for HTTP).

Anything else (no Origin, "null", two Origin headers, no Host) is refused at the handshake: the
server answers 403 and opens no socket (the browser reports code 1006), and one warning is logged.
"""

import logging
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]  # (scheme, host, port), lower case, the port filled in


def parse_origin(value: str) -> Origin | None:
    """`scheme://host[:port]` (an Origin header or a CSRF_TRUSTED_ORIGINS entry) as an Origin, or
    None when it is not one (another scheme, a path, credentials, a bad port)."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.username is not None or parts.password is not None:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    return scheme, parts.hostname.lower(), port if port is not None else DEFAULT_PORTS[scheme]


def _headers(scope) -> dict[bytes, list[bytes]]:
    headers: dict[bytes, list[bytes]] = {}
    for name, value in scope.get("headers", []):
        headers.setdefault(name.lower(), []).append(value)
    return headers


def _one(headers: dict[bytes, list[bytes]], name: bytes) -> str | None:
    values = headers.get(name, [])
    return values[0].decode("latin-1") if len(values) == 1 else None


def request_scheme(scope, headers: dict[bytes, list[bytes]]) -> str:
    """http or https: the connection's, or the proxy's header as Django reads SECURE_PROXY_SSL_HEADER."""
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        meta_name, secure_value = proxy
        name = meta_name.removeprefix("HTTP_").replace("_", "-").lower().encode("latin-1")
        value = _one(headers, name)
        if value is not None:
            return "https" if value.split(",", 1)[0].strip() == secure_value else "http"
    return "https" if scope.get("scheme", "ws") in ("wss", "https") else "http"


def request_origin(scope) -> Origin | None:
    """The origin a page served by this request's host would have, or None when the host is
    missing, malformed or not one of ALLOWED_HOSTS."""
    headers = _headers(scope)
    host = None
    if getattr(settings, "USE_X_FORWARDED_HOST", False):
        host = _one(headers, b"x-forwarded-host")
    if host is None:
        host = _one(headers, b"host")
    if not host:
        return None
    domain, _port = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    if not domain or not validate_host(domain, allowed):
        return None
    scheme = request_scheme(scope, headers)
    return parse_origin(f"{scheme}://{host}")


def _trusted(origin: Origin) -> bool:
    scheme, host, port = origin
    for entry in settings.CSRF_TRUSTED_ORIGINS:
        wildcard = "://*." in entry
        trusted = parse_origin(entry.replace("://*.", "://", 1) if wildcard else entry)
        if trusted is None or trusted[0] != scheme or trusted[2] != port:
            continue
        if host == trusted[1] or (wildcard and host.endswith("." + trusted[1])):
            return True
    return False


def origin_allowed(scope) -> bool:
    """Whether the handshake's Origin is exactly the request's own origin or a trusted one."""
    value = _one(_headers(scope), b"origin")
    origin = parse_origin(value) if value else None
    if origin is None:
        return False
    return origin == request_origin(scope) or _trusted(origin)


class ExactOriginValidator:
    """ASGI middleware for the websocket router: passes on a handshake whose origin
    `origin_allowed`, refuses any other before any consumer or session lookup runs. Settings are
    read on each handshake (tests override them)."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            raise ValueError("ExactOriginValidator guards websocket connections only")
        if origin_allowed(scope):
            return await self.application(scope, receive, send)
        headers = _headers(scope)
        log.warning("websocket origin refused: origin %r, host %r, path %r",
                    _one(headers, b"origin"), _one(headers, b"host"), scope.get("path"))
        return await WebsocketDenier()(scope, receive, send)
