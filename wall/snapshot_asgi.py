"""The shared wall snapshot answered without Django's request stack (ASGI, in front of the gate).

When every wall of a sub-district asks for the snapshot at once (a restart, a resync of the whole
room), almost every answer is the same shared bytes of the last second (wall/snapshot.py). Through
Django each still took a thread, an admission place and the whole middleware chain, and under a
burst of recommendations beside them those few milliseconds of Python queued behind the others'
for seconds. Here a request that

- is a `GET /api/v1/wall/<code>/state/` with no query or a plain `after=N`,
- carries a session cookie and no Authorization header (a token client goes through Django),
- whose session belongs to an active user with a staff role (read as `AuthenticationMiddleware`
  and DRF's SessionAuthentication read it, in one hop to the sockets' database threads), and
- whose sub-district, language and encoding have a shared snapshot usable for its `after`

is answered on the event loop with those bytes and the very headers Django's answer carried: the
headers are learnt from Django's own 200 answers for the same language and encoding that pass
through here (minus the per-response ones), so there is nothing to keep in step by hand. Anything
else — no usable snapshot (Django builds it), no template yet, an anonymous or non-staff user, a bad
`after`, a HEAD — goes through Django unchanged, which gives the answer or the refusal.
"""

from __future__ import annotations

import re
from importlib import import_module
from types import SimpleNamespace
from urllib.parse import parse_qsl

from django.conf import settings
from django.contrib import auth
from django.http.cookie import parse_cookie

from config.inputs import BIGINT_MAX
from config.middleware import request_language
from config.renderers import accepts_gzip_header
from config.roles import STAFF_ROLES, has_role
from config.socket_db import socket_db
from wall import snapshot

STATE_PATH = re.compile(r"/api/v1/wall/(?P<code>[A-Za-z0-9_-]{1,32})/state/")
# Headers of Django's answer that belong to that answer only; uvicorn writes its own date and server.
_PER_RESPONSE = {b"content-length", b"set-cookie", b"date", b"server", b"server-timing"}


def _staff_user_id(session_key: str) -> int | None:
    """The id of the session's user when active and holding a staff role, else None."""
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = auth.get_user(SimpleNamespace(session=store))
    if user.is_authenticated and user.is_active and has_role(user, *STAFF_ROLES):
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
    if len(pairs) != 1 or pairs[0][0] != "after" or not pairs[0][1].isascii() or not pairs[0][1].isdigit():
        return None
    value = int(pairs[0][1])
    return value if value <= BIGINT_MAX else None


class SharedSnapshotShortcut:
    def __init__(self, app):
        self.app = app
        self._staff_user_id = socket_db(_staff_user_id)

    async def __call__(self, scope, receive, send):
        match = STATE_PATH.fullmatch(scope["path"]) if scope["type"] == "http" and scope["method"] == "GET" else None
        if match is None or settings.WALL_SNAPSHOT_SHARE_SECONDS <= 0:
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])  # the last of a repeated header, as Django's META keeps it
        language = request_language(scope["path"], self._cookie(headers, settings.LANGUAGE_COOKIE_NAME),
                                    headers.get(b"accept-language", b"").decode("latin-1"))
        gzipped = accepts_gzip_header(headers.get(b"accept-encoding", b"").decode("latin-1"))
        key = (language, gzipped)
        answer = self._shared(scope, headers, match["code"], language, gzipped)
        if answer is not None:
            template, body = answer
            session_key = self._cookie(headers, settings.SESSION_COOKIE_NAME)
            if session_key and await self._staff_user_id(session_key) is not None:
                await send({"type": "http.response.start", "status": 200,
                            "headers": [*template, (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return None
            return await self.app(scope, receive, send)

        async def learning_send(message):
            if message["type"] == "http.response.start" and message["status"] == 200:
                learnt = [(k.lower(), v) for k, v in message.get("headers", []) if k.lower() not in _PER_RESPONSE]
                snapshot.remember_headers(key, learnt)
            await send(message)

        return await self.app(scope, receive, learning_send)

    @staticmethod
    def _cookie(headers: dict, name: str) -> str | None:
        """The cookie as Django's request.COOKIES reads it."""
        raw = headers.get(b"cookie")
        return parse_cookie(raw.decode("latin-1")).get(name) if raw else None

    def _shared(self, scope, headers: dict, code: str, language: str, gzipped: bool):
        """(headers, body) when the shared snapshot and Django's headers for it are at hand."""
        if b"authorization" in headers or any(b"\x00" in v for v in headers.values()):
            return None
        after = _after(scope.get("query_string", b""))
        if after is None:
            return None
        found = snapshot.shared(code=code, language=language, after=after)
        template = snapshot.learnt_headers((language, gzipped))
        if found is None or template is None:
            return None
        return template, found.gzipped if gzipped else found.body
