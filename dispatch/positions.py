"""Responders' positions: the track, the latest fix per member, and the throttled wall fan-out.

Storing. `positions_ingest` writes a whole batch in two statements inside one transaction: the
first finds the batch's members and locks them FOR KEY SHARE (the track's foreign key check, once
per batch: an unknown member refuses the batch), the second appends every fix to the track
(PositionFix) unless the track has that member's fix at that time already (a replayed batch adds
nothing) and, for each member, moves the batch's newest fix into MemberPosition — but only forward
in time (`ON CONFLICT ... WHERE excluded.recorded_at > recorded_at`: a late or replayed batch never
moves a member back), keeping the stored point when the member moved less than about a metre (a HOT
update: the point's index untouched). Rows are read from arrays (`unnest`), so the cost is a few
milliseconds per thousand fixes, not one round trip per fix. Members are locked and their rows
written in id order, so two concurrent batches cannot deadlock on them.

The wall fan-out (`WallFanout`). Phones post every few seconds; the wall map needs far less. After
commit, the fixes that moved a member forward are queued per sub-district, keyed by member (a member
who moved ten times since the last message is sent once, at their newest fix). A sub-district's
queue is published to its wall group as one channel-layer message `{"type": "positions.batch",
"positions": [{"member", "lon", "lat", "at", "accuracy_m"}, ...], "text": <that socket frame as JSON>}` at most once per
settings.WALL_POSITIONS_INTERVAL_S; a timer sends what is left at the end of the interval, so the
last fix always arrives, at most one interval late. The bound holds per server process: with N
processes sharing channels-redis a wall socket receives at most N position messages per interval,
each carrying at most one entry per member of the sub-district. Publishing never blocks the request
and a failing channel layer is only logged: the positions are committed already.

Where the timer runs: on the event loop of the ASGI server that called us (the loop the wall
sockets live on — required by the in-memory channel layer, which is not thread-safe), found as
asgiref's async_to_sync finds it; outside a server (management commands) on a small event loop in a
daemon thread of our own, which reaches other processes through channels-redis.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from asgiref.sync import SyncToAsync

try:
    import psycopg
except ImportError:  # psycopg2 only: Django's cursor, parameters as text
    psycopg = None  # type: ignore[assignment]  # checked before use
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config import live
from config.errors import DomainError
from config.roles import UserRole
from dispatch.gcj02 import gcj02_to_wgs84_array

log = logging.getLogger(__name__)

# Who may post positions: a responder for their own member only (the API enforces it), a phone
# gateway (integration, token auth) and the command room for any member of the sub-district.
POSITION_ROLES = frozenset({UserRole.RESPONDER, UserRole.INTEGRATION, UserRole.COMMAND_ROOM})
POSITION_ANY_MEMBER_ROLES = frozenset({UserRole.INTEGRATION, UserRole.COMMAND_ROOM})


@dataclass(frozen=True)
class Fix:
    """One position of one member: WGS 84 degrees (convert GCJ-02 first, dispatch.gcj02), an aware
    time, accuracy in metres or None."""

    member_id: int
    recorded_at: datetime
    lon: float
    lat: float
    accuracy_m: float | None = None


def _finite(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def parse_fixes(items: list, *, now: datetime) -> tuple[list[tuple], dict]:
    """A batch as the phones send it (`[{member, at, lon, lat, accuracy_m, datum}, ...]`, over HTTP
    or their socket): (rows of (member, at, lon, lat, accuracy, is_gcj02), errors by index)."""
    oldest = now - timedelta(hours=settings.POSITIONS_MAX_AGE_HOURS)
    latest = now + timedelta(seconds=settings.POSITIONS_MAX_AHEAD_SECONDS)
    required = _("This field is required.")
    rows, errors = [], {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors[str(index)] = {"non_field_errors": [
                _("A position is an object with member, at, lon, lat, accuracy_m and datum.")]}
            continue
        err: dict[str, list] = {}
        member = item.get("member")
        if member is None:
            err["member"] = [required]
        elif isinstance(member, bool) or not isinstance(member, int) or not 0 < member < 2**63:
            err["member"] = [_("A member is given by their id (a number).")]
        at = item.get("at")
        if at is None:
            err["at"] = [required]
        else:
            try:
                at = datetime.fromisoformat(at) if isinstance(at, str) else None
            except ValueError:
                at = None
            if at is None or at.tzinfo is None:
                err["at"] = [_("A time in ISO 8601 with its UTC offset, e.g. 2026-11-24T08:30:00+08:00.")]
            elif at > latest:
                err["at"] = [_("This time is more than %(seconds)d seconds ahead of the server's clock.")
                             % {"seconds": settings.POSITIONS_MAX_AHEAD_SECONDS}]
            elif at < oldest:
                err["at"] = [_("This time is more than %(hours)d hours ago.")
                             % {"hours": settings.POSITIONS_MAX_AGE_HOURS}]
        lon, lat = _finite(item.get("lon")), _finite(item.get("lat"))
        if lon is None or not -180 <= lon <= 180:
            err["lon"] = [required] if item.get("lon") is None else [_("A longitude between -180 and 180 degrees.")]
        if lat is None or not -90 <= lat <= 90:
            err["lat"] = [required] if item.get("lat") is None else [_("A latitude between -90 and 90 degrees.")]
        accuracy = item.get("accuracy_m")
        if accuracy is not None:
            accuracy = _finite(accuracy)
            if accuracy is None or accuracy < 0:
                err["accuracy_m"] = [_("The accuracy is a number of metres, not negative.")]
        datum = item.get("datum")
        if datum is None:
            err["datum"] = [required]
        elif datum not in ("WGS84", "GCJ02"):
            err["datum"] = [_("The datum is WGS84 or GCJ02.")]
        if err:
            errors[str(index)] = err
        else:
            rows.append((member, at, lon, lat, accuracy, datum == "GCJ02"))
    return rows, errors


def fixes_of(rows: list[tuple]) -> list[Fix]:
    """The parsed rows as fixes in WGS 84 (GCJ-02 converted, vectorised)."""
    lon = np.fromiter((row[2] for row in rows), dtype=float, count=len(rows))
    lat = np.fromiter((row[3] for row in rows), dtype=float, count=len(rows))
    gcj = np.fromiter((row[5] for row in rows), dtype=bool, count=len(rows))
    if gcj.any():
        lon[gcj], lat[gcj] = gcj02_to_wgs84_array(lon[gcj], lat[gcj])
    return [Fix(member_id=row[0], recorded_at=row[1], lon=x, lat=y, accuracy_m=row[4])
            for row, x, y in zip(rows, lon.tolist(), lat.tolist(), strict=True)]


def position_sender_member(*, user, session_key: str | None) -> int | None:
    """The member whose positions a socket may still send (dispatch.consumers, before each batch), in
    one query: its session still valid (not logged out, not expired), the user still active with a
    role that may post positions (as `POST /api/v1/positions/` asks), linked to an active member;
    else None."""
    from django.contrib.sessions.models import Session
    from django.db.models import Exists, Q

    from dispatch.models import Member

    if user is None or not user.is_authenticated or not session_key:
        return None
    live_session = Session.objects.filter(session_key=session_key, expire_date__gt=timezone.now())
    return (Member.objects.filter(user_id=user.pk, active=True, user__is_active=True)
            .filter(Q(user__is_superuser=True) | Q(user__groups__name__in=POSITION_ROLES))
            .filter(Exists(live_session)).values_list("pk", flat=True).first())


def own_positions_store(*, member_id: int, items) -> int:
    """A phone's own batch from its socket (dispatch.consumers.MemberConsumer): checked as the HTTP
    API checks it, every fix the member's own (else nothing is stored: 404 as over HTTP), then
    stored by `positions_ingest`. Raises DomainError with `errors` by index for a bad batch."""
    if not isinstance(items, list) or not items:
        raise DomainError(_("Send a list “positions”."), code="invalid")
    if len(items) > settings.POSITIONS_MAX_BATCH:
        raise DomainError(_("At most %(max)d positions in one batch.") % {"max": settings.POSITIONS_MAX_BATCH},
                          code="invalid")
    now = timezone.now()
    rows, errors = parse_fixes(items, now=now)
    # as over HTTP: naming another member is a 404; a missing or malformed member a field error
    if any(isinstance(item, dict) and type(item.get("member")) is int and item["member"] != member_id
           for item in items):
        raise DomainError(_("No such member."), code="not_found", http_status=404)
    if errors:
        error = DomainError(_("A position of the batch is not valid; nothing was stored."), code="invalid")
        error.errors = dict(sorted(errors.items(), key=lambda kv: int(kv[0])))
        raise error
    return positions_ingest(fixes=fixes_of(rows), received_at=now)


# The batch's members, found and locked FOR KEY SHARE in id order — the lock PostgreSQL's foreign key
# check takes, once per batch instead of once per fix (the track has no foreign key in the database:
# dispatch.models.PositionFix): a member cannot be deleted (nor its id changed) until the batch is
# committed, and a member deleted already is not found. With each member its sub-district's code,
# for the fan-out. Two ingests lock the same members in the same order, and KEY SHARE locks do not
# conflict with each other nor with a member's ordinary updates.
_MEMBERS_SQL = """
SELECT m.id, s.code FROM dispatch_member m JOIN geo_subdistrict s ON s.id = m.subdistrict_id
WHERE m.id = ANY(%s::bigint[]) ORDER BY m.id FOR KEY SHARE OF m
"""

def lock_member_before_delete(sender, instance, **kwargs) -> None:
    """pre_delete of a Member (dispatch/apps.py): the member's row locked FOR UPDATE before Django's
    collector deletes anything of theirs. An ingest holding the member (FOR KEY SHARE, above)
    finishes first; one that comes after waits, then finds the member gone (`unknown_member`).
    Without it the collector's delete of the member's last position, before the member's own row,
    and an ingest that locked the member and then moves that position would wait for each other — a
    deadlock PostgreSQL ends by aborting one of them."""
    model = type(instance)
    list(model.objects.select_for_update().filter(pk=instance.pk).values_list("pk", flat=True))


# A member whose new fix is within this many degrees of their stored point (about 1 m: 1.1 m north–
# south, 1 m east–west at 30° N) keeps the stored point: only the time and the accuracy change, so
# the row's update is HOT (heap-only: the point's GiST index and the primary key are not touched;
# dispatch_memberposition keeps room on its pages for it, fillfactor 70, migration 0016). The stored
# point is then never more than this far from the member's newest fix (compared with the stored
# point, not the previous fix: small steps add up to a move).
STILL_DEGREES = 1e-5

# One statement: the input rows, the track, the newest fix per member moved forward. The
# data-modifying CTEs all run. The track takes a fix only once per member and time (unique
# `position_fix_member_time`, ON CONFLICT DO NOTHING): a replayed batch adds nothing. Rows go in
# sorted by member (and time), so two overlapping batches at once wait for each other's rows in one
# order and never deadlock. One row: the number of fixes new to the track and the members that moved.
_INGEST_SQL = f"""
WITH input AS (
    SELECT * FROM unnest(%(members)s::bigint[], %(times)s::timestamptz[], %(lons)s::float8[],
                         %(lats)s::float8[], %(accuracies)s::float8[])
        AS t(member_id, recorded_at, lon, lat, accuracy_m)
), track AS (
    INSERT INTO dispatch_positionfix (member_id, recorded_at, point, accuracy_m, received_at)
    SELECT member_id, recorded_at, ST_SetSRID(ST_MakePoint(lon, lat), 4326), accuracy_m, %(received_at)s
    FROM input ORDER BY member_id, recorded_at
    ON CONFLICT (member_id, recorded_at) DO NOTHING
    RETURNING 1
), newest AS (
    SELECT DISTINCT ON (member_id) member_id, recorded_at, lon, lat, accuracy_m
    FROM input ORDER BY member_id, recorded_at DESC
), moved AS (
    INSERT INTO dispatch_memberposition AS p (member_id, point, recorded_at, accuracy_m)
    SELECT member_id, ST_SetSRID(ST_MakePoint(lon, lat), 4326), recorded_at, accuracy_m
    FROM newest ORDER BY member_id
    ON CONFLICT (member_id) DO UPDATE
        SET point = CASE WHEN ST_DWithin(p.point, excluded.point, {STILL_DEGREES!r}) THEN p.point
                         ELSE excluded.point END,
            recorded_at = excluded.recorded_at, accuracy_m = excluded.accuracy_m
        WHERE excluded.recorded_at > p.recorded_at
    RETURNING p.member_id
)
SELECT (SELECT count(*) FROM track), (SELECT coalesce(array_agg(member_id), '{{}}') FROM moved)
"""  # noqa: S608 - only this module's constant is formatted in


# The same statements with their parameters sent in PostgreSQL's binary format (psycopg 3's `%b`).
_INGEST_SQL_BINARY = _INGEST_SQL.replace(")s::", ")b::").replace("%(received_at)s", "%(received_at)b")
_MEMBERS_SQL_BINARY = _MEMBERS_SQL.replace("%s", "%b")


@contextmanager
def _array_cursor() -> Iterator[tuple[Any, bool]]:  # a psycopg 3 cursor or Django's: either's methods used
    """(cursor, binary): with psycopg 3, a cursor of the same connection (so inside the caller's
    transaction) that binds parameters on the server and sends the arrays in binary — a thousand
    timestamps cost a fifth of their text form; otherwise Django's own cursor. It bypasses Django's
    query logging and execute wrappers."""
    connection.ensure_connection()
    raw = connection.connection
    if psycopg is not None and isinstance(raw, psycopg.Connection):
        with psycopg.Cursor(raw) as cur:
            yield cur, True
    else:
        with connection.cursor() as cur:
            yield cur, False


def positions_ingest(*, fixes: list[Fix], received_at: datetime | None = None) -> int:
    """Store the track, move each member's MemberPosition forward (never back in time), queue the
    newest fix per member for the throttled wall fan-out (after commit). Returns the number of fixes
    new to the track: a fix the track holds already (same member and time — a replayed batch) is
    skipped and not counted.

    Precondition: the fixes are valid (the API checks them); a fix naming no member raises
    DomainError and nothing is stored.

    Durability: with settings.POSITIONS_SYNCHRONOUS_COMMIT off (default on) a batch that is a
    transaction of its own (not called inside another atomic block) commits asynchronously (`SET
    LOCAL synchronous_commit = off`): a server crash may lose the batches of its last few hundred
    milliseconds (never a part of one: the database stays consistent), which the phones, answered
    already, do not send again — each member's next fix, seconds later, supersedes them."""
    if not fixes:
        return 0
    received_at = received_at or timezone.now()
    members = [f.member_id for f in fixes]
    params = {
        "members": members,
        "times": [f.recorded_at for f in fixes],
        "lons": [float(f.lon) for f in fixes],
        "lats": [float(f.lat) for f in fixes],
        "accuracies": [None if f.accuracy_m is None else float(f.accuracy_m) for f in fixes],
        "received_at": received_at,
    }
    asynchronous = not settings.POSITIONS_SYNCHRONOUS_COMMIT and not connection.in_atomic_block
    with transaction.atomic():
        with _array_cursor() as (cur, binary):
            if asynchronous:
                cur.execute("SET LOCAL synchronous_commit = off")
            cur.execute(_MEMBERS_SQL_BINARY if binary else _MEMBERS_SQL, [members])
            codes = dict(cur.fetchall())
            if len(codes) < len(set(members)):
                raise DomainError(_("A position names a member who does not exist."), code="unknown_member")
            cur.execute(_INGEST_SQL_BINARY if binary else _INGEST_SQL, params)
            stored, moved = cur.fetchone()
        if moved:
            queued = _newest_fixes(fixes, {member_id: codes[member_id] for member_id in moved})
            # robust: a failure to queue is logged, never an error of the request that stored them
            transaction.on_commit(lambda: fanout.offer(queued), robust=True)
    return stored


def _newest_fixes(fixes: list[Fix], codes: dict[int, str]) -> dict[str, list[tuple[int, datetime, Fix]]]:
    """The newest fix of each member that moved, grouped by sub-district code: (member, time, fix)."""
    newest: dict[int, Fix] = {}
    for fix in fixes:
        if fix.member_id in codes:
            old = newest.get(fix.member_id)
            if old is None or fix.recorded_at > old.recorded_at:
                newest[fix.member_id] = fix
    out: dict[str, list[tuple[int, datetime, Fix]]] = {}
    for member_id, fix in newest.items():
        out.setdefault(codes[member_id], []).append((member_id, fix.recorded_at, fix))
    return out


def position_payload(fix: Fix) -> dict:
    """A position as the wall socket sends it (6 decimals: about 10 cm)."""
    return {
        "member": fix.member_id,
        "lon": round(fix.lon, 6),
        "lat": round(fix.lat, 6),
        "at": fix.recorded_at.isoformat(),
        "accuracy_m": fix.accuracy_m,
    }


def _serving_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop of the ASGI server whose request this thread is serving (None outside one).
    Same lookup as asgiref's async_to_sync: sync views run in a thread that SyncToAsync marks."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is not None and getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) == os.getpid() \
            and loop.is_running():
        return loop
    return None


class WallFanout:
    """Coalesce positions per sub-district and member; publish each sub-district at most once per
    interval, with a trailing send. Thread-safe; one per process (`fanout`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, dict[int, tuple[datetime, Fix]]] = {}
        self._last_sent: dict[str, float] = {}
        self._armed: dict[str, asyncio.AbstractEventLoop] = {}  # sub-district → loop its send is due on
        self._own_loop: asyncio.AbstractEventLoop | None = None
        self.sent = 0  # messages published (for tests and the benchmark)

    @staticmethod
    def interval() -> float:
        return float(settings.WALL_POSITIONS_INTERVAL_S)

    def offer(self, batches: dict[str, list[tuple[int, datetime, Fix]]]) -> None:
        """Queue fixes (member id, time, fix) per sub-district code; arm each one's send. A fix
        becomes its payload when it is sent: a member's fixes coalesced away cost nothing more."""
        loop = _serving_loop() or self._background_loop()
        now = time.monotonic()
        to_arm = []
        with self._lock:
            for code, items in batches.items():
                pending = self._pending.setdefault(code, {})
                for member_id, at, fix in items:
                    old = pending.get(member_id)
                    if old is None or at >= old[0]:
                        pending[member_id] = (at, fix)
                armed = self._armed.get(code)
                if armed is not None and armed.is_running():
                    continue  # its send is due already and will carry these
                delay = max(0.0, self._last_sent.get(code, -math.inf) + self.interval() - now)
                self._armed[code] = loop
                to_arm.append((code, delay))
        for code, delay in to_arm:
            loop.call_soon_threadsafe(self._arm, loop, code, delay)

    def _arm(self, loop: asyncio.AbstractEventLoop, code: str, delay: float) -> None:
        loop.call_later(delay, lambda: loop.create_task(self._flush(code)))

    async def _flush(self, code: str) -> None:
        with self._lock:
            pending = self._pending.pop(code, {})
            self._armed.pop(code, None)
            self._last_sent[code] = time.monotonic()
        if not pending:
            return
        positions = [position_payload(pending[member_id][1]) for member_id in sorted(pending)]
        try:
            # through this process's channel layer, or PostgreSQL from a worker without Redis (simulate)
            await live.apublish_positions(live.subdistrict_group(code), positions)
            self.sent += 1
        except Exception:  # a dead channel layer must never matter to the stored positions
            log.exception("publishing %d positions to the wall of %s failed", len(positions), code)

    def _background_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._own_loop is None or not self._own_loop.is_running():
                loop = asyncio.new_event_loop()
                started = threading.Event()
                loop.call_soon(started.set)
                threading.Thread(target=loop.run_forever, name="gridlink-positions", daemon=True).start()
                started.wait(5)
                self._own_loop = loop
            return self._own_loop

    def reset(self) -> None:
        """Forget what is queued and when each sub-district was last sent (tests)."""
        with self._lock:
            self._pending.clear()
            self._last_sent.clear()
            self._armed.clear()
            self.sent = 0


fanout = WallFanout()
