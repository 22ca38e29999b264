"""The wall snapshot, built once and shared by every wall of a sub-district.

Every wall map loads the snapshot on connect, on resync, after a replay and once a minute after
midnight (for the next day's duty shifts: wall.js); after a server restart, and at that minute, all
of them ask at once. Built separately, 200 snapshots of ~50 ms of Python each queue for
seconds on one interpreter. Here one request builds it (the others asking meanwhile wait for that
one, not for a build of their own), it is encoded to JSON once (orjson), and the same bytes answer
every wall of the sub-district (in the same language: the labels are translated) while both hold:

- it is at most WALL_SNAPSHOT_SHARE_SECONDS old (positions and duty change without an event; the
  walls see those on the socket anyway), and
- its `last_event` is not older than the newest event the asking wall has applied (`after`, the
  page's own last event id: `GET .../state/?after=N`): a wall never loads a snapshot older than an
  event it already shows. A wall that has none (a new page) takes any snapshot of the last second,
  and resumes its socket from that snapshot's `last_event`, so it misses nothing.

Events go on during a burst of walls reloading at once (every call answered, every phone's
arrival): before, each event made the next request build the snapshot again while the other walls
waited for that build. A build that started after a request arrived answers it whatever its
`after` (an `after` no snapshot can reach costs one build, shared by the requests waiting for it).
Per server process; 0 turns sharing off.

It is gzipped once per build too (level 5: ~160 KB of JSON become ~14 KB in ~1.5 ms): a wall that
accepts gzip (every browser) gets those bytes. In a burst the server writes, and each wall reads,
a tenth of the bytes; the compression is paid once per build, not per wall. There is no secret in
the snapshot for a compression side channel to reveal (no token, nothing of the request's).

With a read replica (DATABASE_REPLICA_URL, config/db_router.py) the snapshot is built there. A
replica a second behind is fine for a new page (it resumes its socket from the snapshot's
`last_event`, read on the replica too), but not for a wall that already shows a newer event: when
the replica has not replayed event `after` yet, the build reads the primary instead, so that a wall
never goes back in time.
"""

from __future__ import annotations

import gzip
import threading
import time
from dataclasses import dataclass
from typing import TypeGuard

from django.conf import settings

from config.db_router import REPLICA, reads_from_replica
from config.renderers import dumps
from wall.selectors import WallSubdistrict, last_event_id, wall_state

GZIP_LEVEL = 5


@dataclass(frozen=True)
class Snapshot:
    body: bytes  # JSON
    gzipped: bytes  # the same, gzip-compressed (Content-Encoding: gzip)

    @classmethod
    def of(cls, state: dict) -> Snapshot:
        body = dumps(state)
        return cls(body=body, gzipped=gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0))


@dataclass(frozen=True)
class _Built:
    at: float  # time.monotonic()
    last_event: int
    snapshot: Snapshot


_built: dict[tuple[int, str], _Built] = {}
_codes: dict[str, int] = {}  # sub-district code -> id, of the snapshots built here
# Headers of Django's answers, by (language, gzipped, host): wall/snapshot_asgi.py answers with them.
_headers: dict[tuple[str, bool, str], list[tuple[bytes, bytes]]] = {}
_locks: dict[tuple[int, str], threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock(key: tuple[int, str]) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def _usable(built: _Built | None, after: int, share: float) -> TypeGuard[_Built]:
    return built is not None and built.last_event >= after and time.monotonic() - built.at <= share


def wall_snapshot(*, subdistrict: WallSubdistrict, language: str, after: int = 0) -> Snapshot:
    """The wall snapshot of `subdistrict`, not older than event `after` (see the module docstring)."""
    share = settings.WALL_SNAPSHOT_SHARE_SECONDS
    if share <= 0:
        return Snapshot.of(_state(subdistrict, after))
    key = (subdistrict.id, language)
    asked = time.monotonic()
    built = _built.get(key)
    if _usable(built, after, share):
        return built.snapshot
    with _lock(key):  # one build at a time per sub-district and language; the others take its result
        built = _built.get(key)
        if built is not None and (_usable(built, after, share) or built.at >= asked):
            return built.snapshot
        started = time.monotonic()
        _codes[subdistrict.code] = subdistrict.id
        state = _state(subdistrict, after)
        built = _Built(at=started, last_event=state["last_event"], snapshot=Snapshot.of(state))
        _built[key] = built
        return built.snapshot


def _state(subdistrict: WallSubdistrict, after: int) -> dict:
    """wall_state on the replica when there is one and it has replayed event `after`, else on the
    primary (see the module docstring)."""
    with reads_from_replica() as alias:
        if alias != REPLICA or after <= 0 or last_event_id(subdistrict_id=subdistrict.id) >= after:
            return wall_state(subdistrict=subdistrict)
    return wall_state(subdistrict=subdistrict)  # the replica lags behind the wall: the primary


def shared(*, code: str, language: str, after: int) -> Snapshot | None:
    """The shared snapshot of the sub-district `code` if one is usable for `after` now; never builds."""
    subdistrict_id = _codes.get(code)
    built = _built.get((subdistrict_id, language)) if subdistrict_id is not None else None
    return built.snapshot if _usable(built, after, settings.WALL_SNAPSHOT_SHARE_SECONDS) else None


def remember_headers(key: tuple[str, bool, str], headers: list[tuple[bytes, bytes]]) -> None:
    _headers[key] = headers


def learnt_headers(key: tuple[str, bool, str]) -> list[tuple[bytes, bytes]] | None:
    return _headers.get(key)


def forget() -> None:
    """Drop every shared snapshot (tests that change the clock or the data under a wall)."""
    _built.clear()
    _codes.clear()
    _headers.clear()
