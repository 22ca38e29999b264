"""Read replica routing (config/db_router.py) against a real PostgreSQL streaming replica.

At the module's start a hot standby of the tests' own PostgreSQL cluster (settings.DATABASES'
`default`: the project-local cluster under var/pg, or DATABASE_URL's server) is made with
`pg_basebackup -R -X stream` into a temporary directory and started with pg_ctl on a free port
(its Unix socket in that directory, trust on it), with the server binaries of the primary's major
version (/usr/lib/postgresql/<major>/bin, where scripts/pg-local finds them, else `pg_config
--bindir`); as root it runs as `postgres`, as the local cluster does. It is the `replica` alias of
the module's tests (a server of its own); each test waits until it has replayed the primary's WAL
where it must (pg_current_wal_insert_lsn on the primary, pg_last_wal_replay_lsn on the replica).
The standby is stopped and removed at the module's end.

Checked: the wall snapshot's queries all run on the replica; while the replica lags (its replay
paused), a wall that shows a newer event gets a snapshot built on the primary; a service's writes
go to the primary and never reach the replica (which refuses a write); the replay, the reports and
the map layers read the replica; the router sends every write to `default`.

Slow (a server of its own, from a copy of the whole cluster: ~1 GB here, a few seconds). Skipped,
with the reason, only when the cluster refuses replication (a role without REPLICATION, wal_level
minimal, no free WAL sender, no pg_hba.conf entry for it) or no server binaries of its version are
installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, router, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.db_router import REPLICA, read_alias, reads_from_replica
from incidents.models import Incident, IncidentEvent
from incidents.services import incident_intake
from reports import ranking, trends
from reports.periods import month_period
from tests.factories import S, W
from wall import selectors
from wall.snapshot import forget, wall_snapshot

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])]

REPLAY_TIMEOUT_S = 60
# Settings a hot standby must hold at least at the primary's values.
STANDBY_AT_LEAST = ("max_connections", "max_worker_processes", "max_wal_senders", "max_prepared_transactions",
                    "max_locks_per_transaction")
# pg_basebackup's refusals that mean "this cluster does not replicate to us" (a skip, not a failure).
REFUSALS = ("pg_hba.conf", "must be superuser or replication role", "replication role", "number of requested standby",
            "wal_level")


@dataclass(frozen=True)
class Standby:
    directory: Path  # its data directory is directory/data; its Unix socket is here
    port: int


def _show(cursor, name: str) -> str:
    cursor.execute(f"SHOW {name}")
    return cursor.fetchone()[0]


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)  # noqa: S603 - PostgreSQL's tools


def _server_bin(major: int) -> Path | None:
    """The server binaries of PostgreSQL `major`, as scripts/pg-local finds them (Debian's
    /usr/lib/postgresql/<major>/bin), else where `pg_config` says if it is that version."""
    debian = Path(f"/usr/lib/postgresql/{major}/bin")
    if (debian / "pg_ctl").is_file() and (debian / "pg_basebackup").is_file():
        return debian
    pg_config = shutil.which("pg_config")
    if pg_config:
        version = _run([pg_config, "--version"]).stdout.split()  # "PostgreSQL 15.20 (Debian ...)"
        bindir = Path(_run([pg_config, "--bindir"]).stdout.strip())
        if version[1:2] and version[1].split(".")[0] == str(major) and (bindir / "pg_ctl").is_file():
            return bindir
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_owner() -> list[str]:
    """initdb and postgres refuse root: as root the standby runs as `postgres` (as scripts/pg-local does)."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@pytest.fixture(scope="module")
def standby(django_db_setup, django_db_blocker):
    primary = connections[DEFAULT_DB_ALIAS].settings_dict
    with django_db_blocker.unblock(), connections[DEFAULT_DB_ALIAS].cursor() as cur:
        cur.execute("SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user")
        may_replicate = cur.fetchone()[0]
        wal_level = _show(cur, "wal_level")
        cur.execute("SELECT count(*) FROM pg_stat_replication")
        senders = cur.fetchone()[0]
        free_senders = int(_show(cur, "max_wal_senders")) - senders
        major = int(_show(cur, "server_version_num")) // 10000
        at_least = {name: _show(cur, name) for name in STANDBY_AT_LEAST}
        preload = _show(cur, "shared_preload_libraries")
    if not may_replicate:
        pytest.skip(f"the test database's role {primary.get('USER')!r} has neither REPLICATION nor SUPERUSER")
    if wal_level not in ("replica", "logical"):
        pytest.skip(f"the test cluster runs with wal_level={wal_level}: no streaming replica can follow it")
    if free_senders < 1:
        pytest.skip("the test cluster has no free WAL sender (max_wal_senders)")
    bindir = _server_bin(major)
    if bindir is None:
        pytest.skip(f"no PostgreSQL {major} server binaries (/usr/lib/postgresql/{major}/bin) to run a standby")

    directory = Path(tempfile.mkdtemp(prefix="gridlink-replica-"))
    data = directory / "data"
    owner = _as_owner()
    if owner:
        shutil.chown(directory, "postgres", "postgres")
    env = {**os.environ, "PGAPPNAME": "gridlink-test-replica"}
    if primary.get("PASSWORD"):
        env["PGPASSWORD"] = primary["PASSWORD"]
    started = False
    try:
        base = [*owner, str(bindir / "pg_basebackup"), "-D", str(data), "-X", "stream", "-R", "--checkpoint=fast",
                "--no-sync", "-U", primary.get("USER") or "postgres"]
        if primary.get("HOST"):
            base += ["-h", primary["HOST"]]
        if primary.get("PORT"):
            base += ["-p", str(primary["PORT"])]
        copied = _run(base, env=env, timeout=900)
        if copied.returncode != 0:
            if any(refusal in copied.stderr for refusal in REFUSALS):
                pytest.skip(f"the test cluster refused a base backup: {copied.stderr.strip()}")
            raise AssertionError(f"pg_basebackup failed: {copied.stderr}")
        # Its own authentication (trust on its private socket) and, when the cluster keeps its
        # configuration elsewhere (Debian's /etc/postgresql), an empty postgresql.conf.
        (data / "pg_hba.conf").write_text("local all all trust\nlocal replication all trust\n")
        (data / "postgresql.conf").touch()
        if owner:
            for name in ("pg_hba.conf", "postgresql.conf"):
                shutil.chown(data / name, "postgres", "postgres")
        port = _free_port()
        options = [f"-p {port}", f"-k {directory}", "-c listen_addresses=''", f"-c hba_file={data / 'pg_hba.conf'}",
                   "-c hot_standby=on", "-c shared_buffers=64MB", "-c fsync=off", "-c logging_collector=off",
                   *(f"-c {name}={value}" for name, value in at_least.items())]
        if preload:
            options.append(f"-c shared_preload_libraries='{preload}'")
        started = True  # from here on, stop it whatever happens
        run = _run([*owner, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(directory / "server.log"),
                    "-w", "-t", "120", "-o", " ".join(options), "start"], timeout=180)
        if run.returncode != 0:
            log = (directory / "server.log").read_text(errors="replace") if (directory / "server.log").exists() else ""
            raise AssertionError(f"the standby did not start: {run.stdout}{run.stderr}\n{log[-3000:]}")
        # The `replica` alias, a server of its own. Marked a test mirror of `default` only so that
        # Django's test cases leave it alone (they flush and check `default`'s data, which it follows).
        default = connections[DEFAULT_DB_ALIAS].settings_dict
        connections.settings[REPLICA] = {
            **default, "HOST": str(directory), "PORT": str(port), "OPTIONS": {}, "CONN_MAX_AGE": 0,
            "TEST": {**default.get("TEST", {}), "MIRROR": DEFAULT_DB_ALIAS},
        }
        yield Standby(directory=directory, port=port)
    finally:
        if REPLICA in connections.settings:
            connections[REPLICA].close()
            with contextlib.suppress(AttributeError):
                del connections[REPLICA]
            del connections.settings[REPLICA]
        if started:
            _run([*owner, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], timeout=120)
        shutil.rmtree(directory, ignore_errors=True)


def caught_up() -> None:
    """Wait until the replica has replayed everything the primary has written so far: up to its
    WAL *insert* position (with synchronous_commit off, as the local cluster runs, a commit's
    record may still wait in the WAL buffers, past pg_current_wal_lsn, the write position)."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cur:
        cur.execute("SELECT pg_current_wal_insert_lsn()")
        lsn = cur.fetchone()[0]
    deadline = time.monotonic() + REPLAY_TIMEOUT_S
    while True:
        with connections[REPLICA].cursor() as cur:
            cur.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn, pg_last_wal_replay_lsn()", [lsn])
            done, at = cur.fetchone()
        if done:
            return
        assert time.monotonic() < deadline, f"the replica replayed up to {at}, not {lsn}, in {REPLAY_TIMEOUT_S} s"
        time.sleep(0.05)


@pytest.fixture
def replica(standby, transactional_db):
    """The standby as the `replica` alias, caught up with the primary."""
    caught_up()
    yield connections[REPLICA]
    connections[REPLICA].close()


@pytest.fixture
def report(world, users):
    """One incident of the world's sub-district, reported through the intake (committed)."""
    return incident_intake(channel=world["hotline"], category=world["category"], description="楼道堆物",
                           actor=users.call_taker, location=_point()).incident


def _point():
    from django.contrib.gis.geos import Point

    return Point(W + 0.004, S + 0.005, srid=4326)


def _newest_event(subdistrict_id: int) -> int:
    return IncidentEvent.objects.filter(subdistrict_id=subdistrict_id).latest("pk").pk


def _tables(captured) -> str:
    return " ".join(q["sql"] for q in captured.captured_queries)


def test_the_router_writes_to_default_and_reads_the_replica_only_where_asked(replica, report):
    assert router.db_for_read(Incident) == read_alias() == DEFAULT_DB_ALIAS
    caught_up()
    with reads_from_replica() as alias:
        assert alias == REPLICA
        assert router.db_for_read(Incident) == REPLICA
        on_replica = Incident.objects.get(pk=report.pk)
        assert on_replica._state.db == REPLICA
        with transaction.atomic():  # a service's transaction: its reads stay on the primary
            assert router.db_for_read(Incident) == DEFAULT_DB_ALIAS
        assert router.db_for_read(Incident) == REPLICA
        assert router.db_for_write(Incident, instance=on_replica) == DEFAULT_DB_ALIAS
        assert router.db_for_read(Incident) == DEFAULT_DB_ALIAS  # it wrote: read its own writes from here on
    assert router.db_for_read(Incident) == DEFAULT_DB_ALIAS
    assert router.db_for_write(Incident) == DEFAULT_DB_ALIAS
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "incidents") is True
    assert router.allow_migrate(REPLICA, "incidents") is False


def test_the_wall_snapshot_reads_the_replica(replica, world, report):
    newest = _newest_event(world["subdistrict"].pk)
    caught_up()
    subdistrict = selectors.wall_subdistrict(code=world["subdistrict"].code)
    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_default, \
            CaptureQueriesContext(connections[REPLICA]) as on_replica:
        state = json.loads(wall_snapshot(subdistrict=subdistrict, language="en", after=newest).body)
    assert on_replica.captured_queries
    assert "incidents_incident" in _tables(on_replica)
    assert on_default.captured_queries == [], _tables(on_default)
    assert state["last_event"] >= newest
    assert report.pk in [i["id"] for i in state["incidents"]]


def test_a_wall_never_goes_back_in_time_while_the_replica_lags(replica, world, users, report):
    caught_up()
    with connections[REPLICA].cursor() as cur:
        cur.execute("SELECT pg_wal_replay_pause()")
    try:
        later = incident_intake(channel=world["hotline"], category=world["category"], description="路灯不亮",
                                actor=users.call_taker, location=_point()).incident
        newest = _newest_event(world["subdistrict"].pk)
        subdistrict = selectors.wall_subdistrict(code=world["subdistrict"].code)

        # A new page takes the replica's snapshot, a step behind (it resumes its socket from there)...
        forget()
        with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_default:
            behind = json.loads(wall_snapshot(subdistrict=subdistrict, language="en").body)
        assert on_default.captured_queries == [], _tables(on_default)
        assert behind["last_event"] < newest
        assert later.pk not in [i["id"] for i in behind["incidents"]]

        # ...but a wall that shows the newest event gets one built on the primary, never an older one.
        with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_default, \
                CaptureQueriesContext(connections[REPLICA]) as on_replica:
            state = json.loads(wall_snapshot(subdistrict=subdistrict, language="en", after=newest).body)
        assert state["last_event"] >= newest
        assert later.pk in [i["id"] for i in state["incidents"]]
        assert "incidents_incident" in _tables(on_default)
        assert len(on_replica.captured_queries) == 1  # the check of its newest event, nothing more
    finally:
        with connections[REPLICA].cursor() as cur:
            cur.execute("SELECT pg_wal_replay_resume()")
    caught_up()
    forget()
    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_default:
        again = json.loads(wall_snapshot(subdistrict=subdistrict, language="en", after=newest).body)
    assert on_default.captured_queries == []  # caught up: the replica again
    assert again["last_event"] >= newest


def test_a_service_writes_to_the_primary_never_to_the_replica(replica, world, users):
    taker = users.call_taker

    def intake(description: str) -> Incident:
        return incident_intake(channel=world["hotline"], category=world["category"], description=description,
                               actor=taker, location=_point()).incident

    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_default, \
            CaptureQueriesContext(connections[REPLICA]) as on_replica:
        incident = intake("井盖缺失")
    assert on_replica.captured_queries == []
    assert 'INSERT INTO "incidents_incident"' in _tables(on_default)

    # Called where reads go to the replica, a service still writes to the primary and reads there
    # inside its transaction and after it (the events' live frames after the commit: read your own
    # writes); only what it reads before its first write may come from the replica.
    caught_up()
    with reads_from_replica(), CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_default, \
            CaptureQueriesContext(connections[REPLICA]) as on_replica:
        second = intake("路面塌陷")
        assert read_alias() == DEFAULT_DB_ALIAS
    assert 'INSERT INTO "incidents_incident"' in _tables(on_default)
    assert all(q["sql"].lstrip().upper().startswith("SELECT") for q in on_replica.captured_queries)
    assert "incidents_incident" not in _tables(on_replica)  # nor its events'
    with reads_from_replica() as alias:  # a new read path reads the replica again
        assert alias == REPLICA

    # The replica is a hot standby: a write sent there would be refused, never applied.
    with pytest.raises(DatabaseError, match="read-only"):
        Incident.objects.using(REPLICA).filter(pk=incident.pk).update(description="改写")
    caught_up()
    assert Incident.objects.using(REPLICA).get(pk=incident.pk).description == "井盖缺失"
    assert Incident.objects.using(REPLICA).filter(pk=second.pk).exists()


def test_the_replay_the_reports_and_the_map_layers_read_the_replica(replica, world, report, api_as):
    caught_up()
    code = world["subdistrict"].code
    client = api_as("dispatcher")
    today = timezone.localdate()

    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_default, \
            CaptureQueriesContext(connections[REPLICA]) as on_replica:
        answer = client.get(f"/api/v1/wall/{code}/replay/", {"date": today.isoformat()})
    assert answer.status_code == 200, answer.content
    assert report.pk in [i["id"] for i in answer.json()["incidents"]]
    assert "incidents_incident" in _tables(on_replica)
    assert "incidents_incident" not in _tables(on_default)  # the primary: the user's roles only

    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_default, \
            CaptureQueriesContext(connections[REPLICA]) as on_replica:
        answer = client.get("/api/v1/geo/grids/", {"subdistrict": code})
    assert answer.status_code == 200, answer.content
    assert len(answer.json()["features"]) == 2
    assert "geo_grid" in _tables(on_replica)
    assert "geo_grid" not in _tables(on_default)

    subdistrict = world["subdistrict"]
    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_default, \
            CaptureQueriesContext(connections[REPLICA]) as on_replica:
        heat = trends.heat_map(subdistrict=subdistrict, days=7, category=None)
        shown = ranking.ranking_shown(subdistrict=subdistrict, period=month_period(today.replace(day=1)))
    assert heat.cases == 1
    assert shown.published is False
    assert "incidents_incident" in _tables(on_replica) and "dispatch_dispatchorder" in _tables(on_replica)
    # On the primary only the publication, which a page must show as soon as it is made.
    assert [q["sql"] for q in on_default.captured_queries if "reports_rankingpublication" not in q["sql"]] == []
