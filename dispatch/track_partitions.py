"""The position track's day partitions (issue 16).

`dispatch_positionfix` (PositionFix) is partitioned by range of `recorded_at` (migration 0015): one
partition per local day (settings.TIME_ZONE), `dispatch_positionfix_pYYYYMMDD` holding [that day's
00:00, the next day's 00:00), and a DEFAULT partition, `dispatch_positionfix_default`, that takes
any fix no day partition covers — an insert never fails for want of a partition. Reads that bound
`recorded_at` (the replay's day, a window across midnight) touch only their days' partitions.

`track_partitions_maintain()` — run by the SLA clock when it starts and hourly after
(`manage.py run_sla_clock`), and by `manage.py track_partitions` for cron or by hand:
1. a partition for today and each of the next POSITION_TRACK_DAYS_AHEAD days, and one for every
   day since the cut-off whose fixes the DEFAULT partition holds (stored while no partition existed:
   the clock was down); those fixes move into it. Fixes further ahead wait in DEFAULT until their
   day comes within reach;
2. every day partition that ends at or before the cut-off — local midnight POSITION_TRACK_DAYS days
   before today: today and the POSITION_TRACK_DAYS days before it are kept — detached and dropped,
   its fixes with it; fixes before the cut-off deleted from DEFAULT.

A day's partition is made without stopping the ingest: a table LIKE the parent with a CHECK of the
day's range, the DEFAULT partition's fixes of that day moved into it, then ATTACH PARTITION, which
takes only a SHARE UPDATE EXCLUSIVE lock on the parent (inserts go on) and an ACCESS EXCLUSIVE one
on the DEFAULT partition while PostgreSQL checks that DEFAULT holds nothing of the day (it is
empty but for strays); the CHECK lets it skip scanning the new table, and is dropped afterwards
(`CREATE TABLE … PARTITION OF` would lock the whole parent). Dropping a partition locks the parent
for a moment (DETACH … CONCURRENTLY is refused while a DEFAULT partition exists). Each partition
made or dropped is a transaction of its own that waits at most LOCK_TIMEOUT_MS for its locks —
otherwise it is logged and done by the next run — and holds an advisory lock, so clocks running
side by side take turns; every step looks before it acts, so a run repeated does nothing.
"""

# ruff: noqa: S608 - the SQL names this module's constant tables and partitions named from dates

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from dispatch.deadlines import local_day_bounds, local_zone

log = logging.getLogger("gridlink.track_partitions")

PARENT = "dispatch_positionfix"
DEFAULT = f"{PARENT}_default"
COLUMNS = "id, recorded_at, point, accuracy_m, received_at, member_id"
LOCK_TIMEOUT_MS = 5000
# pg_advisory_xact_lock's keys for "changing the track's partitions".
_LOCK = (0x7472616B, 0)  # "trak"
_RANGE = re.compile(r"^FOR VALUES FROM \('([^']+)'\) TO \('([^']+)'\)$")


@dataclass(frozen=True)
class Partition:
    """One partition of the track: its range [start, end) (None, None for DEFAULT or a bound that
    is not a time, MINVALUE/MAXVALUE) and PostgreSQL's estimate of its rows (-1: never analysed)."""

    name: str
    start: datetime | None
    end: datetime | None
    rows: int
    default: bool = False


@dataclass
class TrackMaintenance:
    """What one run did."""

    created: list[date] = field(default_factory=list)
    moved: int = 0  # fixes moved out of DEFAULT into a new day partition
    dropped: list[str] = field(default_factory=list)  # partitions past the cut-off, with their fixes
    purged: int = 0  # fixes before the cut-off deleted from DEFAULT
    failed: list[str] = field(default_factory=list)  # steps left for the next run (a lock not had in time)

    def __str__(self) -> str:
        created = ", ".join(f"{day:%Y-%m-%d}" for day in self.created) or "none"
        text = (f"created {len(self.created)} day partitions ({created}), moved {self.moved} fixes out of the "
                f"default partition; dropped {len(self.dropped)} partitions ({', '.join(self.dropped) or 'none'}), "
                f"deleted {self.purged} old fixes from the default partition")
        return text + (f"; not done, for the next run: {'; '.join(self.failed)}" if self.failed else "")


day_bounds = local_day_bounds  # a partition's range: its local day's


def partition_name(day: date) -> str:
    return f"{PARENT}_p{day:%Y%m%d}"


def _literal(at: datetime) -> str:
    """A bound as SQL (DDL takes no parameters): made from a date, never from input."""
    return f"'{at.isoformat()}'::timestamptz"


def track_partitions() -> list[Partition]:
    """The track's partitions, day partitions in time order, DEFAULT last."""
    with connection.cursor() as cur:
        cur.execute("""SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reltuples::bigint
                       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                       WHERE i.inhparent = %s::regclass""", [PARENT])
        rows = cur.fetchall()
    out = []
    for name, bound, tuples in rows:
        start = end = None
        found = _RANGE.match(bound or "")
        if found:
            try:
                start, end = datetime.fromisoformat(found.group(1)), datetime.fromisoformat(found.group(2))
            except ValueError:
                pass
        out.append(Partition(name, start, end, int(tuples), default=bound == "DEFAULT"))
    far = datetime.max.replace(tzinfo=local_zone())
    return sorted(out, key=lambda p: (p.default, p.start or far, p.name))


@contextmanager
def _step() -> Iterator[Any]:
    """A transaction (a savepoint inside the caller's) that waits at most LOCK_TIMEOUT_MS for each
    lock and holds the partitions' advisory lock."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT set_config('lock_timeout', %s, true)", [f"{LOCK_TIMEOUT_MS}ms"])
        cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", list(_LOCK))
        yield cur


def _default_ensure() -> bool:
    """The DEFAULT partition, made again if someone dropped it. True if it was made."""
    if any(p.default for p in track_partitions()):
        return False
    with _step() as cur:
        cur.execute(f"CREATE TABLE IF NOT EXISTS {DEFAULT} PARTITION OF {PARENT} DEFAULT")
    log.warning("the track had no default partition: made %s", DEFAULT)
    return True


def track_partition_ensure(day: date) -> tuple[bool, int]:
    """The partition of a local day, made if missing, with the day's fixes moved into it out of
    DEFAULT. Returns (made, fixes moved). A partition of another name covering the day (made by
    hand) counts as there; one overlapping it in part is logged and the day left to DEFAULT."""
    start, end = day_bounds(day)
    name = partition_name(day)
    with _step() as cur:
        for p in track_partitions():  # under the lock: what another clock made meanwhile is seen
            if p.start is not None and p.end is not None and p.start < end and start < p.end:
                if not (p.start <= start and end <= p.end):
                    log.warning("partition %s overlaps %s in part: the day's fixes stay where they are", p.name, day)
                return False, 0
        cur.execute(f"LOCK TABLE {DEFAULT} IN ACCESS EXCLUSIVE MODE")  # ATTACH takes it too: nothing slips in
        cur.execute(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        cur.execute(f"ALTER TABLE {name} ADD CONSTRAINT {name}_range CHECK "
                    f"(recorded_at IS NOT NULL AND recorded_at >= {_literal(start)} AND recorded_at < {_literal(end)})")
        cur.execute(f"""WITH moved AS (
                            DELETE FROM {DEFAULT} WHERE recorded_at >= %s AND recorded_at < %s RETURNING {COLUMNS})
                        INSERT INTO {name} ({COLUMNS}) SELECT {COLUMNS} FROM moved""", [start, end])
        moved = cur.rowcount
        cur.execute(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} "
                    f"FOR VALUES FROM ({_literal(start)}) TO ({_literal(end)})")
        cur.execute(f"ALTER TABLE {name} DROP CONSTRAINT {name}_range")
    log.info("made the track's partition %s%s", name, f" with {moved} fixes out of the default partition" if moved else "")
    return True, moved


def _partition_drop(partition: Partition) -> bool:
    with _step() as cur:
        cur.execute("SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass(%s) "
                    "AND inhparent = %s::regclass)", [partition.name, PARENT])
        if cur.fetchone()[0]:
            cur.execute(f"ALTER TABLE {PARENT} DETACH PARTITION {partition.name}")
            cur.execute(f"DROP TABLE {partition.name}")
        else:
            return False
    log.info("dropped the track's partition %s (about %d fixes)", partition.name, max(partition.rows, 0))
    return True


def _default_days(since: datetime, until: datetime) -> list[date]:
    """The local days in [since, until) of which DEFAULT holds fixes."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"SELECT DISTINCT (recorded_at AT TIME ZONE %s)::date FROM {DEFAULT} "
                    "WHERE recorded_at >= %s AND recorded_at < %s", [settings.TIME_ZONE, since, until])
        return sorted(day for (day,) in cur.fetchall())


def track_partitions_maintain(*, today: date | None = None, ahead: int | None = None,
                              keep_days: int | None = None) -> TrackMaintenance:
    """Partitions made ahead, strays moved out of DEFAULT, old days dropped (see the module's
    docstring). `today` (local), `ahead` and `keep_days` default to now, settings.
    POSITION_TRACK_DAYS_AHEAD and settings.POSITION_TRACK_DAYS. A step that cannot have its locks
    in time is skipped and listed in `failed`; the others still run."""
    today = today or timezone.localdate(timezone=local_zone())
    ahead = max(0, settings.POSITION_TRACK_DAYS_AHEAD if ahead is None else ahead)
    keep_days = max(0, settings.POSITION_TRACK_DAYS if keep_days is None else keep_days)
    cutoff = day_bounds(today - timedelta(days=keep_days))[0]
    horizon = day_bounds(today + timedelta(days=ahead))[1]
    done = TrackMaintenance()

    def attempt(what: str, step, *args):
        try:
            return step(*args)
        except DatabaseError as exc:  # a lock not had within LOCK_TIMEOUT_MS, mostly: the next run does it
            log.warning("track partitions: %s not done (%s)", what, exc)
            done.failed.append(f"{what}: {str(exc).strip()}")
            return None

    attempt("the default partition", _default_ensure)
    days = {today + timedelta(days=k) for k in range(ahead + 1)}
    days.update(attempt("reading the default partition's days", _default_days, cutoff, horizon) or ())
    for day in sorted(days):
        made = attempt(f"partition of {day}", track_partition_ensure, day)
        if made and made[0]:
            done.created.append(day)
            done.moved += made[1]
    for partition in track_partitions():
        if not partition.default and partition.end is not None and partition.end <= cutoff:
            if attempt(f"dropping {partition.name}", _partition_drop, partition):
                done.dropped.append(partition.name)

    def purge() -> int:
        with _step() as cur:
            cur.execute(f"DELETE FROM {DEFAULT} WHERE recorded_at < %s", [cutoff])
            return cur.rowcount

    done.purged = attempt("deleting old fixes from the default partition", purge) or 0
    if done.created or done.dropped or done.purged or done.failed:
        log.info("track partitions (keep %d days, %d ahead, today %s): %s", keep_days, ahead, today, done)
    return done
