"""Reads of the read-only paths on a PostgreSQL streaming replica (`DATABASE_REPLICA_URL`).

With DATABASE_REPLICA_URL set, settings.py adds a second database alias, `replica` (PostGIS, a
hot standby of `default`), and `ReplicaRouter` routes:

- every write to `default`, always (`db_for_write`); migrations only on `default`;
- every read to `default` too, except inside `reads_from_replica()`: the entry points of the paths
  that only read and tolerate a second of replication lag use it — the wall snapshot
  (wall/snapshot.py), the replay of a past day (wall/api.py), the governance reports' reads
  (reports: `ranking_shown`, `compliance_report`, `assessment_report`, `year_over_year`,
  `heat_map`, `weekly_agenda`, `meeting_decisions`; not a publication, which writes) and the
  map layers (geo/api.py);
- a read inside a transaction on `default` (a service: it reads what it is about to change, and
  what it wrote itself) stays on `default`, even when a read path called it; and once anything was
  written inside `reads_from_replica()` (`db_for_write` was asked), the rest of it reads `default`
  too — what runs after a commit (the live frames of the events just written) reads them there.

Raw SQL of those paths takes its connection from `read_connection()` / `read_alias()`, which
follow the same rule. Without DATABASE_REPLICA_URL there is no `replica` alias and everything
reads and writes `default`, as before. A `replica` alias that is the primary itself (the test
runner's mirror of `default`, `"TEST": {"MIRROR": "default"}`) is not used either.

Lag: a path that must never show an older state than a client already saw checks it itself — the
wall snapshot builds on `default` when the replica has not replayed the wall's newest event yet
(wall/snapshot.py), so that a wall never goes back in time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

REPLICA = "replica"


class _ReplicaReads:
    """One `reads_from_replica()`: whether something was written inside it since."""

    __slots__ = ("wrote",)

    def __init__(self) -> None:
        self.wrote = False


_replica_reads: ContextVar[_ReplicaReads | None] = ContextVar("gridlink_replica_reads", default=None)


def replica_configured() -> bool:
    """A `replica` alias that is another server or database than `default`."""
    if REPLICA not in connections.settings:
        return False
    replica, default = connections[REPLICA].settings_dict, connections[DEFAULT_DB_ALIAS].settings_dict
    return any(replica.get(key) != default.get(key) for key in ("NAME", "HOST", "PORT"))


def read_alias() -> str:
    """Where a read goes now: `replica` inside `reads_from_replica()` when one is configured,
    `default` is not inside a transaction and nothing was written inside it yet; else `default`."""
    reads = _replica_reads.get()
    if (reads is not None and not reads.wrote and not connections[DEFAULT_DB_ALIAS].in_atomic_block
            and replica_configured()):
        return REPLICA
    return DEFAULT_DB_ALIAS


def read_connection() -> BaseDatabaseWrapper:
    """The connection of `read_alias()`, for raw SQL of a read-only path."""
    return connections[read_alias()]


@contextmanager
def reads_from_replica() -> Iterator[str]:
    """Reads inside go to the replica (see the module docstring); yields where they go now.
    A decorator too: `@reads_from_replica()`. Nested in another, it is that one (a write in either
    sends the rest of both to the primary)."""
    token = _replica_reads.set(_replica_reads.get() or _ReplicaReads())
    try:
        yield read_alias()
    finally:
        _replica_reads.reset(token)


class ReplicaRouter:
    """settings.DATABASE_ROUTERS: inert (everything on `default`) without a replica."""

    def db_for_read(self, model: type, **hints: Any) -> str:
        return read_alias()

    def db_for_write(self, model: type, **hints: Any) -> str:
        reads = _replica_reads.get()
        if reads is not None:
            reads.wrote = True  # read your own writes: the rest of it reads the primary
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # The replica holds the same rows: an object read there may be related to one of default's.
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS
