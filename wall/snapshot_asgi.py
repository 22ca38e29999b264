"""The shared wall snapshot answered without Django's request stack (ASGI, in front of the gate).

When every wall of a sub-district asks for the snapshot at once (a restart, a resync of the whole
room), almost every answer is the same shared bytes of the last second (wall/snapshot.py). Through
Django each still took a thread, an admission place and the whole middleware chain, and under a
burst of recommendations beside them those few milliseconds of Python queued behind the others'
for seconds. Here a request that

- is a `GET /api/v1/wall/<code>/state/` with no query or a plain `after=N`,
- carries a session cookie and no Authorization header (a token client goes through Django),
  names an allowed host (and comes over HTTPS where Django redirects to it), and carries none of
  the headers the answer depends on (cookie, encodings, languages, host) twice — Django joins
  repeated headers, and the shortcut never reads a request differently from Django,
- whose session belongs to an active user with a staff role (read as `AuthenticationMiddleware`
  and DRF's SessionAuthentication read it, in one hop to the sockets' database threads), and
- whose sub-district, language and encoding have a shared snapshot usable for its `after`

is answered on the event loop with those bytes and the very headers Django's answer carried: the
headers are learnt from Django's own 200 answers for the same language and encoding that pass
through here (minus the per-response ones), by language, encoding and host, and only when the
answer's Content-Language and Content-Encoding are what that key says, so there is nothing to keep
in step by hand and no request can teach the headers of another kind of answer. At most
MAX_LOOKUPS session reads are under way at once; past that, requests take Django's path and gate.
When every wall asks at once and no snapshot is shared yet (after a restart), the first request
goes through Django to build it and the others wait for its answer on the event loop (at most
HTTP_QUEUE_WAIT_SECONDS), then take the shared bytes: a burst costs one request through Django. Anything
else — no usable snapshot (Django builds it), no template yet, an anonymous or non-staff user, a bad
`after`, a HEAD — goes through Django unchanged, which gives the answer or the refusal.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from importlib import import_module
from types import SimpleNamespace
from typing import cast
from urllib.parse import parse_qsl

from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest
from django.http.cookie import parse_cookie
from django.http.request import split_domain_port, validate_host

from config.inputs import BIGINT_MAX, ascii_int
from config.middleware import request_language
from config.renderers import accepts_gzip_header
from config.roles import STAFF_ROLES, has_role
from config.socket_db import socket_db
from geo.tenancy import works_in
from wall import snapshot

STATE_PATH = re.compile(r"/api/v1/wall/(?P<code>[A-Za-z0-9_-]{1,32})/state/")
# Headers of Django's answer that belong to that answer only; uvicorn writes its own date and server.
_PER_RESPONSE = {b"content-length", b"set-cookie", b"date", b"server", b"server-timing"}


def _staff_user_id(session_key: str, code: str) -> int | None:
    """The id of the session's user when active, holding a staff role and working in the
    sub-district `code` (geo/tenancy.py), else None."""
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = auth.get_user(cast(HttpRequest, SimpleNamespace(session=store)))  # get_user reads only the session
    if user.is_authenticated and user.is_active and has_role(user, *STAFF_ROLES) and works_in(user, code):
        return user.pk
    return None


def _after(query: bytes) -> int | None:
    """`after` of a query that holds nothing else (0 when empty); None for anything Django must judge."""
    if not query:
        return 0
    try:
        pairs = parse_qsl(query.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return None
    if len(pairs) != 1 or pairs[0][0] != "after":
        return None
    return ascii_int(pairs[0][1], minimum=0, maximum=BIGINT_MAX)


# Header names a request may carry once only to be answered here: Django joins repeated ones with
# commas, and an answer must never be chosen on a different reading of them than Django's.
_SINGLE = (b"cookie", b"accept-encoding", b"accept-language", b"host", b"x-forwarded-host", b"x-forwarded-proto")
# Session lookups under way at once; past that, requests go through Django's gate (a flood of
# invented session ids reaches the database no faster than through Django).
MAX_LOOKUPS = 32


def _is_secure(scope, headers: dict) -> bool:
    """request.is_secure() as Django reads it."""
    if settings.SECURE_PROXY_SSL_HEADER:
        name, value = settings.SECURE_PROXY_SSL_HEADER
        header = name.removeprefix("HTTP_").lower().replace("_", "-").encode("latin-1")
        return headers.get(header, b"").decode("latin-1").split(",")[0].strip() == value
    return scope.get("scheme") == "https"


def _host(headers: dict) -> str | None:
    """The Host when Django would accept it (ALLOWED_HOSTS, as request.get_host() checks), else None."""
    if settings.USE_X_FORWARDED_HOST and b"x-forwarded-host" in headers:
        return None  # rare behind our proxies: Django's path reads it
    host = headers.get(b"host", b"").decode("latin-1")
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    domain, _port = split_domain_port(host)
    return host if domain and validate_host(domain, allowed) else None


class SharedSnapshotShortcut:
    def __init__(self, app):
        self.app = app
        self._staff_user_id = socket_db(_staff_user_id)
        self._lookups = 0
        # (code, language) -> done when the request that went to Django for a snapshot has its answer.
        self._pending: dict[tuple[str, str], asyncio.Future] = {}

    async def __call__(self, scope, receive, send):
        match = STATE_PATH.fullmatch(scope["path"]) if scope["type"] == "http" and scope["method"] == "GET" else None
        if match is None or settings.WALL_SNAPSHOT_SHARE_SECONDS <= 0:
            return await self.app(scope, receive, send)
        names = [name for name, _value in scope["headers"]]
        if any(names.count(name) > 1 for name in _SINGLE):
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        host = _host(headers)
        session_key = self._cookie(headers, settings.SESSION_COOKIE_NAME)
        after = _after(scope.get("query_string", b""))
        if (host is None or (settings.SECURE_SSL_REDIRECT and not _is_secure(scope, headers)) or not session_key
                or after is None or b"authorization" in headers or any(b"\x00" in v for v in headers.values())):
            return await self.app(scope, receive, send)  # Django refuses, redirects or judges
        code = match["code"]
        language = request_language(scope["path"], self._cookie(headers, settings.LANGUAGE_COOKIE_NAME),
                                    headers.get(b"accept-language", b"").decode("latin-1"))
        gzipped = accepts_gzip_header(headers.get(b"accept-encoding", b"").decode("latin-1"))
        key = (language, gzipped, host)  # the Content-Security-Policy names the host
        answer = self._shared(code, key, after)
        pending = self._pending.get((code, language))
        if answer is None and pending is not None:
            # Every wall asks at once (a restart): one request is on its way through Django to build
            # the snapshot; the others wait for it here, on the event loop, not in Django's lanes.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(pending), settings.HTTP_QUEUE_WAIT_SECONDS)
            answer = self._shared(code, key, after)
        if answer is not None and self._lookups < MAX_LOOKUPS:
            self._lookups += 1
            try:
                staff = await self._staff_user_id(session_key, code) is not None
            finally:
                self._lookups -= 1
            if staff:
                template, body = answer
                await send({"type": "http.response.start", "status": 200,
                            "headers": [*template, (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return None
            return await self.app(scope, receive, send)

        async def learning_send(message):
            if message["type"] == "http.response.start" and message["status"] == 200:
                learnt = [(k.lower(), v) for k, v in message.get("headers", []) if k.lower() not in _PER_RESPONSE]
                given = dict(learnt)
                # Learnt only when Django's answer is what the key says: its language and encoding.
                if (given.get(b"content-language") == language.encode()
                        and (given.get(b"content-encoding") == b"gzip") == gzipped):
                    snapshot.remember_headers(key, learnt)
            await send(message)

        if pending is not None:
            return await self.app(scope, receive, learning_send)
        done = self._pending[(code, language)] = asyncio.get_running_loop().create_future()
        try:
            return await self.app(scope, receive, learning_send)
        finally:
            del self._pending[(code, language)]
            done.set_result(None)

    @staticmethod
    def _cookie(headers: dict, name: str) -> str | None:
        """The cookie as Django's request.COOKIES reads it."""
        raw = headers.get(b"cookie")
        return parse_cookie(raw.decode("latin-1")).get(name) if raw else None

    @staticmethod
    def _shared(code: str, key: tuple[str, bool, str], after: int):
        """(headers, body) when the shared snapshot and Django's headers for it are at hand."""
        language, gzipped, _host = key
        found = snapshot.shared(code=code, language=language, after=after)
        template = snapshot.learnt_headers(key)
        if found is None or template is None:
            return None
        return template, found.gzipped if gzipped else found.body
