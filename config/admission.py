"""Admission: how many HTTP requests one server process runs at once, and a quick 503 past that.

How GridLink serves concurrent requests (README, "Under load"): one uvicorn process holds the
websockets on its event loop, and Django runs each HTTP request's Python in a thread of its own.
The Python of one process shares one interpreter lock, and its database pool holds a fixed number
of connections. Without a bound, a burst of 200 slow requests started 200 threads that took turns
on the interpreter and queued for 10 connections: after 10 s the pool gave up and they answered
500, and every other request of the command room waited behind them.

This gate sits in front of Django (an ASGI wrapper: a request waiting here holds no thread and no
connection) and lets requests through by *lane*, each with its own number of places:

- `login`: a POST to a login form. Its password check costs ~0.6 s of CPU (outside the interpreter
  lock, and at most LOGIN_HASH_CONCURRENCY at a time, config/auth.py): logins wait here, not in a
  thread holding a database connection, and may wait longer (HTTP_LOGIN_WAIT_SECONDS: at a shift
  change they are served one check after another rather than refused).
- `snapshot`: the wall snapshot. Every wall asks for it on connect and on resync, all at once
  after a restart; most are answered with the bytes shared for a second (wall/snapshot.py) and at
  most one builds it, so it gets places of its own rather than queueing behind replays, and enough
  of them to take its share of the interpreter beside the `default` lane in a burst.
- `heavy`: reads that build large answers of their own (a day's replay, the OpenAPI document).
- `default`: everything else — intake, dispatch, recommendations, the phones' actions, pages.
  When this lane is full and walls wait for a snapshot place, a request of this lane lets them
  start first (`yields_to`) for as long as the snapshot lane makes progress, at most a second
  (YIELD_MAX_SECONDS): the snapshots are a few ms each once shared, and a wall that reloads after
  a restart is the room's whole picture.
  The requests already running go on, a lane with free places never waits, and a snapshot lane
  that gives nobody a place for YIELD_STALL_SECONDS (0.5 s: its requests stuck in the database)
  stops holding the others back. Only a signed-in GET takes the snapshot lane: anybody's requests
  to that path go through `default` and cannot fill it.

A burst in one lane therefore never takes the places of another: 200 walls reloading at once wait
in `snapshot` while a dispatcher's recommendation goes through `default`. A request that finds no
place within HTTP_QUEUE_WAIT_SECONDS, or finds HTTP_QUEUE_MAX requests already waiting in its
lane, is answered at once with 503 and Retry-After (in the shape of its API, in the user's
language): the client retries later rather than waiting on a server that cannot serve it. The
database pool is sized to the places of all lanes plus the websockets' share
(settings.DB_POOL_MAX_SIZE), so a request that got through never waits for a connection. A
request's body is read before it takes a place (up to 32 MiB), so a slow sender holds none.

Websockets are not gated: a socket is one long request; its database work runs on the consumer's
threads and their own share of the pool.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie

from django.conf import settings
from django.utils import translation

from config.middleware import overloaded, request_language

log = logging.getLogger(__name__)

DEFAULT_LANE = "default"


@dataclass(frozen=True)
class Lane:
    name: str
    places: int  # requests run at once
    wait_seconds: float  # the longest wait for a place
    queue_max: int  # requests allowed to wait
    yields_to: str | None = None  # a lane whose waiting requests start before this lane's new ones


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern
    lane: str
    methods: frozenset[str] | None = None  # None: every method
    signed_in: bool = False  # only a request that carries a session cookie (else the default lane)


def lanes_from_settings() -> dict[str, Lane]:
    wait, queue = settings.HTTP_QUEUE_WAIT_SECONDS, settings.HTTP_QUEUE_MAX
    lanes = {
        "login": Lane("login", settings.HTTP_LOGIN_CONCURRENCY, settings.HTTP_LOGIN_WAIT_SECONDS, queue),
        "heavy": Lane("heavy", settings.HTTP_HEAVY_CONCURRENCY, wait, queue),
        "snapshot": Lane("snapshot", settings.HTTP_SNAPSHOT_CONCURRENCY, wait, queue),
        DEFAULT_LANE: Lane(DEFAULT_LANE, settings.HTTP_CONCURRENCY, wait, queue, yields_to="snapshot"),
    }
    wanted = sum(lane.places for lane in lanes.values()) + settings.WS_DB_CONNECTIONS
    if 0 < settings.DB_POOL_MAX_SIZE < wanted:
        log.warning("DB_POOL_MAX_SIZE=%d is below the %d places of the lanes and the sockets: requests let "
                    "through may wait for a connection", settings.DB_POOL_MAX_SIZE, wanted)
    return lanes


ROUTES = (
    Route(re.compile(r"^/(accounts|admin)/login/$"), "login", frozenset({"POST"})),
    # Only a wall's own GET, with its session: anybody's requests to that path cannot fill the lane
    # the others yield to.
    Route(re.compile(r"^/api/v1/wall/[^/]+/state/$"), "snapshot", frozenset({"GET", "HEAD"}), signed_in=True),
    Route(re.compile(r"^/api/v1/wall/[^/]+/replay/$"), "heavy"),
    Route(re.compile(r"^/api/schema/"), "heavy"),
)


class _Places:
    """The places of one lane on the running event loop."""

    def __init__(self, lane: Lane) -> None:
        self.lane = lane
        self.free = asyncio.Semaphore(lane.places)
        self.waiting = 0
        self.nobody_waiting = asyncio.Event()
        self.nobody_waiting.set()
        self.progress_at = 0.0  # the loop's time when a request of this lane last got a place

    async def take(self, *, ahead: _Places | None = None) -> bool:
        """A place within the lane's wait, or False. With `ahead`, when this lane is full: first, while
        requests wait in that lane and it makes progress (one of them got a place within the last
        YIELD_STALL_SECONDS), its waiting requests start first, for YIELD_MAX_SECONDS at most. A lane
        ahead that is stuck (its requests blocked in the database) stops holding this one's back after
        YIELD_STALL_SECONDS; a lane with free places never waits for it."""
        loop = asyncio.get_running_loop()
        yielding = ahead is not None and self.free.locked() and ahead.waiting > 0
        if (self.free.locked() or yielding) and self.waiting >= self.lane.queue_max:
            return False
        self.waiting += 1
        self.nobody_waiting.clear()
        try:
            async with asyncio.timeout(self.lane.wait_seconds):
                until = loop.time() + YIELD_MAX_SECONDS
                while (yielding and ahead is not None and ahead.waiting and loop.time() < until
                       and loop.time() - ahead.progress_at < YIELD_STALL_SECONDS):
                    try:
                        async with asyncio.timeout(min(YIELD_STALL_SECONDS, max(0.0, until - loop.time()))):
                            await ahead.nobody_waiting.wait()
                    except TimeoutError:
                        pass
                await self.free.acquire()
                self.progress_at = loop.time()
        except TimeoutError:
            return False
        finally:
            self.waiting -= 1
            if not self.waiting:
                self.nobody_waiting.set()
        return True

    def give_back(self) -> None:
        self.free.release()


# A lane that gave none of its waiting requests a place for this long is stuck: the lanes that yield
# to it stop waiting for it.
YIELD_STALL_SECONDS = 0.5
# And never longer than this: under a long overload the yielding lane's requests would otherwise wait
# out their whole HTTP_QUEUE_WAIT_SECONDS behind the other lane and be refused.
YIELD_MAX_SECONDS = 1.0
BODY_BUFFER_BYTES = 32 * 1024 * 1024  # above the largest upload (three photos of 8 MiB)


async def _read_body(receive, limit: int) -> list[dict]:
    """The request's body messages as received, until the last one, a disconnect, or `limit` bytes."""
    messages, size = [], 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages
        size += len(message.get("body", b""))
        if not message.get("more_body") or size > limit:
            return messages


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers") or ():
        if key == name:
            return value.decode("latin-1")
    return ""


def _cookies(scope) -> SimpleCookie:
    try:
        return SimpleCookie(_header(scope, b"cookie"))
    except CookieError:
        return SimpleCookie()


def _language(scope) -> str:
    jar = _cookies(scope)
    cookie = jar[settings.LANGUAGE_COOKIE_NAME].value if settings.LANGUAGE_COOKIE_NAME in jar else None
    return request_language(scope.get("path", ""), cookie, _header(scope, b"accept-language"))


class AdmissionGate:
    """ASGI middleware in front of Django's HTTP application (see the module docstring)."""

    def __init__(self, app, *, lanes: dict[str, Lane] | None = None, routes: Iterable[Route] = ROUTES) -> None:
        self.app = app
        self.lanes = lanes
        self.routes = tuple(routes)
        self._places: dict[tuple[int, str], _Places] = {}

    def lane_of(self, method: str, path: str, *, signed_in: bool) -> str:
        for route in self.routes:
            if ((route.methods is None or method in route.methods) and (signed_in or not route.signed_in)
                    and route.pattern.match(path)):
                return route.lane
        return DEFAULT_LANE

    def places(self, name: str) -> _Places:
        """The lane's places on the running event loop (a semaphore belongs to one loop)."""
        key = (id(asyncio.get_running_loop()), name)
        places = self._places.get(key)
        if places is None:
            lanes = self.lanes or lanes_from_settings()
            places = self._places[key] = _Places(lanes.get(name) or lanes[DEFAULT_LANE])
        return places

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        # The body first, without a place: a client that sends it slowly (a phone's photos over a
        # weak signal, or on purpose) must not hold one. Up to BODY_BUFFER_BYTES; a larger body's
        # rest is read by Django once the request has its place.
        received = await _read_body(receive, BODY_BUFFER_BYTES)
        signed_in = settings.SESSION_COOKIE_NAME in _cookies(scope)
        places = self.places(self.lane_of(scope.get("method", "GET"), scope.get("path", ""), signed_in=signed_in))
        ahead = self.places(places.lane.yields_to) if places.lane.yields_to else None
        if not await places.take(ahead=ahead):
            return await self._refuse(scope, send, places.lane)

        async def replay():
            return received.pop(0) if received else await receive()

        try:
            return await self.app(scope, replay, send)
        finally:
            places.give_back()

    async def _refuse(self, scope, send, lane: Lane) -> None:
        log.warning("overloaded: %s %s refused (%s lane, %d waiting)", scope.get("method"), scope.get("path"),
                    lane.name, self.places(lane.name).waiting)
        with translation.override(_language(scope)):
            response = overloaded(scope.get("path", ""))
            response["Content-Language"] = translation.get_language()
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.items()]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": response.content})
