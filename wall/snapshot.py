"""The wall snapshot, built once and shared by every wall of a sub-district.

Every wall map loads the snapshot on connect, on resync and every few minutes; after a server
restart all of them ask at once. Built separately, 200 snapshots of ~50 ms of Python each queue for
seconds on one interpreter. Here one request builds it (the others asking meanwhile wait for that
one, not for a build of their own), it is encoded to JSON once (orjson), and the same bytes answer
every wall of the sub-district (in the same language: the labels are translated) while both hold:

- it is at most WALL_SNAPSHOT_SHARE_SECONDS old (positions and duty change without an event; the
  walls see those on the socket anyway), and
- no incident event of the sub-district is newer than the snapshot's `last_event` (one indexed
  query per request): a wall never loads a snapshot older than an event it may already have.

A wall resumes its socket from the snapshot's `last_event`, so a snapshot that is a second old
misses nothing: the events after it come through the socket. Per server process; 0 turns sharing
off.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.conf import settings

from config.renderers import dumps
from wall.selectors import WallSubdistrict, last_event_id, wall_state


@dataclass(frozen=True)
class _Built:
    at: float  # time.monotonic()
    last_event: int
    body: bytes


_built: dict[tuple[int, str], _Built] = {}
_locks: dict[tuple[int, str], threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock(key: tuple[int, str]) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def _usable(built: _Built | None, newest_event: int, share: float) -> bool:
    return built is not None and built.last_event >= newest_event and time.monotonic() - built.at <= share


def snapshot_json(*, subdistrict: WallSubdistrict, language: str) -> bytes:
    """The wall snapshot of `subdistrict` as JSON bytes (see the module docstring)."""
    share = settings.WALL_SNAPSHOT_SHARE_SECONDS
    if share <= 0:
        return dumps(wall_state(subdistrict=subdistrict))
    key = (subdistrict.id, language)
    newest = last_event_id(subdistrict_id=subdistrict.id)
    if _usable(_built.get(key), newest, share):
        return _built[key].body
    with _lock(key):  # one build at a time per sub-district and language; the others take its result
        built = _built.get(key)
        if _usable(built, newest, share):
            return built.body
        started = time.monotonic()
        state = wall_state(subdistrict=subdistrict)
        built = _Built(at=started, last_event=state["last_event"], body=dumps(state))
        _built[key] = built
        return built.body


def forget() -> None:
    """Drop every shared snapshot (tests that change the clock or the data under a wall)."""
    _built.clear()
