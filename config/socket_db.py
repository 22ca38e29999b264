"""The websockets' database work, on threads of its own rather than Channels' one shared thread.

Channels runs `database_sync_to_async` code *thread-sensitively*: outside an HTTP request every
call of a server process goes to one and the same thread (asgiref's single-thread executor), one
after the other. With 692 phones that meant every handshake's reads (the session and its user, the
member, the inbox), every position batch sent over a socket (the sender check, the insert) and
every relayed event of the process queued behind each other's database round trips, and Channels'
dispatch added one more hop to that thread per message to close stale connections. After a
restart, 700 handshakes of three or four hops each took their turns on a single thread.

`socket_db(func)` runs `func` on a pool of WS_DB_CONNECTIONS threads of its own (the sockets' share
of the database pool, settings.DB_POOL_MAX_SIZE), closing stale connections before and after as
`database_sync_to_async` does. None of the sockets' database work depends on the thread it runs on:
each call is one short read or one transaction, complete in itself. `SocketAuthMiddleware` reads
the session's user the same way, and our consumers' dispatch (config/ws_frames.py) drops Channels'
extra hop per message: they reach the database only through `socket_db`, which closes stale
connections before and after each call.
"""

from __future__ import annotations

import functools
import threading
from concurrent.futures import ThreadPoolExecutor

from channels.auth import AuthMiddleware, get_user
from channels.db import DatabaseSyncToAsync
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.conf import settings

_executor: ThreadPoolExecutor | None = None
_guard = threading.Lock()


def _threads() -> ThreadPoolExecutor:
    global _executor
    with _guard:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=max(1, settings.WS_DB_CONNECTIONS),
                                           thread_name_prefix="socket-db")
        return _executor


@functools.cache
def socket_db(func):
    """`func` as a coroutine function run on the sockets' database threads (see the module docstring).
    Wrapped once per function, not once per call: a position batch passes here 70 times a second."""
    return DatabaseSyncToAsync(func, thread_sensitive=False, executor=_threads())


class SocketAuthMiddleware(AuthMiddleware):
    """Channels' AuthMiddleware (`scope["user"]` from the session), reading on the sockets' threads."""

    async def resolve_scope(self, scope):
        scope["user"]._wrapped = await socket_db(get_user.func)(scope)


def SocketAuthStack(inner):  # noqa: N802 - named as Channels' AuthMiddlewareStack
    return CookieMiddleware(SessionMiddleware(SocketAuthMiddleware(inner)))
