#!/usr/bin/env python
"""Benchmark: responders' positions ingested per second, through the batch API over real HTTP.

Run by `make bench` (after `make setup`) against the development database with the demo loaded —
never the test database: `.venv/bin/python tests/bench/bench_positions.py`. It writes, and puts
everything back when it ends: the fixes it added to the track are deleted, every member's last
known position is restored as it was, and its machine client (a user in the integration group with
an API token) is removed.

Measured in one run, on batches of random fixes of the demo's members (each batch's times newer
than the last, so every batch moves the members forward; a fifth of the fixes in GCJ-02):
- `POST /api/v1/positions/` over HTTP to `uvicorn config.asgi:application` started here as a
  subprocess (one server process, as `make run` serves; DEBUG off; same database settings), token
  auth, several concurrent clients, and one client alone;
- `dispatch.positions.positions_ingest()` called directly (the service: one statement, one
  transaction, the wall fan-out queued);
- the service's statement alone (track INSERT + MemberPosition upsert from arrays, no Python
  around it);
- the floor: one bulk `UPDATE dispatch_memberposition ... FROM unnest(...)` of the same rows
  (both SQL rows send their arrays in binary, as the service does);
- the naive baseline: one ORM save per fix (a PositionFix row and the member's MemberPosition).

Prints positions per second and each one's share of the floor. Target: at least 10,000 positions/s
through the API. Not a test: nothing fails on a slow machine; the verdict line says whether the
target was met.

Then the track at a city's scale (issue 16; `--city-subdistricts 0` skips it): on a throwaway
database (`bench_positions_<pid>`, created and migrated as a test database, dropped at the end),
190 sub-districts of 692 members each (131,480, every one with a last known position), today's
partition of the track filled beforehand with `--city-prefill` fixes (default 1,000,000), then
batches of 1,000 fixes of distinct random members of the city (anywhere in it: every member moves),
each newer than the last: fixes per second stored by `positions_ingest()` into the partitioned track
— also with POSITIONS_SYNCHRONOUS_COMMIT off, and with a share `--city-still` of the fixes exactly
where the member was (their last position's point kept: a HOT update) —, by its statement alone,
by the floor (the bulk UPDATE above) and, with `--city-connections` (default 2, as `make run
WORKERS=2` serves) threads each with its own database connection at once, by the service on members
apart (each connection its own) and overlapping (any member in any batch: their rows locked in one
order, no deadlock) and by the floor on members apart; each figure beside its floor. The database
commits synchronously for these (`ALTER DATABASE … SET synchronous_commit = on`, whatever the
cluster's default; the header line says whether the cluster fsyncs at all). Then the service, its
statement and the floor once the track is made a plain table again (migration dispatch/0015's
reverse step alone, its rows kept, the rest of the schema as it is). Target: at least 50,000 fixes/s
into the partitioned track through the service.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from importlib import import_module
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.contrib.gis.geos import MultiPolygon, Point, Polygon  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from config.roles import UserRole  # noqa: E402
from dispatch import positions  # noqa: E402
from dispatch.gcj02 import wgs84_to_gcj02  # noqa: E402
from dispatch.models import Member, MemberPosition, PositionFix, Unit  # noqa: E402
from fixtures.demo import DEMO_CODE  # noqa: E402
from geo.models import Subdistrict  # noqa: E402
from tests.server_options import uvicorn_options  # noqa: E402

TARGET_PER_SECOND = 10_000
CITY_TARGET_PER_SECOND = 50_000
CITY_MEMBERS_PER_SUBDISTRICT = 692
BENCH_USER = "bench-positions-gateway"

FLOOR_SQL = """
UPDATE dispatch_memberposition p
SET point = ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326), recorded_at = u.recorded_at, accuracy_m = u.accuracy_m
FROM unnest(%s::bigint[], %s::timestamptz[], %s::float8[], %s::float8[], %s::float8[])
    AS u(member_id, recorded_at, lon, lat, accuracy_m)
WHERE p.member_id = u.member_id
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Batches:
    """Random fixes of the members, in batches; every fix newer than all before it."""

    def __init__(self, members: list[tuple[int, float, float]], size: int, seed: int):
        self.members, self.size = members, size
        self.rng = random.Random(seed)
        self.clock = timezone.now() - timedelta(minutes=2)

    def next(self) -> list[dict]:
        out = []
        for _ in range(self.size):
            member, lon, lat = self.rng.choice(self.members)
            self.clock += timedelta(microseconds=1)
            lon += self.rng.uniform(-0.003, 0.003)
            lat += self.rng.uniform(-0.003, 0.003)
            datum = "WGS84"
            if self.rng.random() < 0.2:
                lon, lat = wgs84_to_gcj02(lon, lat)
                datum = "GCJ02"
            out.append({"member": member, "at": self.clock.isoformat(), "lon": round(lon, 7), "lat": round(lat, 7),
                        "accuracy_m": round(self.rng.uniform(3, 30), 1), "datum": datum})
        return out

    @staticmethod
    def fixes(batch: list[dict]) -> list[positions.Fix]:
        from datetime import datetime

        from dispatch.gcj02 import gcj02_to_wgs84
        out = []
        for item in batch:
            lon, lat = item["lon"], item["lat"]
            if item["datum"] == "GCJ02":
                lon, lat = gcj02_to_wgs84(lon, lat)
            out.append(positions.Fix(item["member"], datetime.fromisoformat(item["at"]), lon, lat, item["accuracy_m"]))
        return out

    @staticmethod
    def arrays(fixes: list[positions.Fix]) -> list:
        return [[f.member_id for f in fixes], [f.recorded_at for f in fixes], [f.lon for f in fixes],
                [f.lat for f in fixes], [f.accuracy_m for f in fixes]]


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def run_statement(fixes: list[positions.Fix]) -> None:
    """The service's statement alone (track + last positions), in a transaction of its own."""
    params = dict(zip(["members", "times", "lons", "lats", "accuracies"], Batches.arrays(fixes), strict=True),
                  received_at=timezone.now())
    with transaction.atomic(), positions._array_cursor() as (cur, binary):
        cur.execute(positions._INGEST_SQL_BINARY if binary else positions._INGEST_SQL, params)
        cur.fetchall()


def run_floor(fixes: list[positions.Fix]) -> None:
    """The floor: one bulk UPDATE of the same members' last positions, in a transaction of its own."""
    with transaction.atomic(), positions._array_cursor() as (cur, binary):
        cur.execute(FLOOR_SQL.replace("%s", "%b") if binary else FLOOR_SQL, Batches.arrays(fixes))


async def post_all(base: str, token: str, bodies: list[bytes], clients: int, code: str) -> tuple[float, list[float]]:
    """Post every body with `clients` concurrent connections; (elapsed seconds, latencies in ms)."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies: list[float] = []
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    url = f"{base}/api/v1/positions/?subdistrict={code}"

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            t0 = time.perf_counter()
            response = await client.post(url, content=body, headers=headers)
            latencies.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 201:
                raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        # warm-up: the server's first request sets up the pool, the URL resolver, the schema of roles
        await client.post(url, content=bodies[0], headers=headers)
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        return time.perf_counter() - t0, latencies


def start_server(port: int) -> subprocess.Popen:
    env = dict(os.environ, DEBUG="0", SECRET_KEY=os.environ.get("SECRET_KEY") or secrets.token_urlsafe(40),
               LOG_LEVEL="WARNING", SECURE_SSL_REDIRECT="0")  # plain http on 127.0.0.1: no redirect to https
    server = subprocess.Popen(  # noqa: S603 - our own server with fixed arguments
        [str(REPO / ".venv" / "bin" / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), *uvicorn_options(), "--log-level", "warning", "--no-access-log"],
        cwd=REPO, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the server did not start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server did not answer within 30 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=1000, help="fixes per batch (default 1000)")
    parser.add_argument("--api-batches", type=int, default=80, help="batches posted with concurrent clients")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients (default 4)")
    parser.add_argument("--direct-batches", type=int, default=30, help="batches for the service and the SQL rows")
    parser.add_argument("--naive", type=int, default=2000, help="fixes saved one by one by the ORM (default 2000)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--city-subdistricts", type=int, default=190,
                        help="sub-districts of 692 members for the track at city scale (0: skip it)")
    parser.add_argument("--city-prefill", type=int, default=1_000_000,
                        help="fixes in today's partition before the city's batches")
    parser.add_argument("--city-batches", type=int, default=100, help="batches of the city, each way")
    parser.add_argument("--city-connections", type=int, default=2,
                        help="connections ingesting at once (as `make run WORKERS=2`; 1: skip)")
    parser.add_argument("--city-still", type=float, default=0.5,
                        help="share of the fixes where the member was, for one more line (0: skip it)")
    parser.add_argument("--city-only", action="store_true", help="only the track at city scale")
    args = parser.parse_args()
    if args.city_only:
        city_track(args)
        return 0

    sub = Subdistrict.objects.filter(code=DEMO_CODE).first()
    if sub is None:
        print("No demo sub-district: run `make setup` first.")
        return 1
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings.DEBUG = False  # as in production: with DEBUG on, every query is also logged in memory
    members = [(m.pk, (m.duty_post or m.home).x, (m.duty_post or m.home).y)
               for m in Member.objects.filter(subdistrict=sub, active=True).only("id", "home", "duty_post")]
    batches = Batches(members, args.batch, args.seed)

    # What to put back at the end.
    last_fix = PositionFix.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with connection.cursor() as cur:
        cur.execute("SELECT member_id, ST_AsEWKT(point), recorded_at, accuracy_m FROM dispatch_memberposition")
        saved_positions = cur.fetchall()
    group, _ = Group.objects.get_or_create(name=UserRole.INTEGRATION)
    user_model = get_user_model()
    user_model.objects.filter(username=BENCH_USER).delete()
    gateway = user_model.objects.create_user(username=BENCH_USER, password=secrets.token_urlsafe(24))
    gateway.groups.add(group)
    token = Token.objects.create(user=gateway).key

    print(f"GridLink positions benchmark: {len(members)} members of {sub.name} ({sub.code}), batches of "
          f"{args.batch}, {os.cpu_count()} CPUs, at {timezone.localtime():%Y-%m-%d %H:%M}")
    results: dict[str, float] = {}
    extra: dict[str, str] = {}
    server = None
    try:
        # --- the naive baseline: one ORM save per fix ---------------------------------------------------
        naive_fixes = Batches.fixes([f for _ in range(max(1, args.naive // args.batch)) for f in batches.next()])
        naive_fixes = naive_fixes[: args.naive]
        t0 = time.perf_counter()
        for f in naive_fixes:
            point = Point(f.lon, f.lat, srid=4326)
            PositionFix.objects.create(member_id=f.member_id, recorded_at=f.recorded_at, point=point,
                                       accuracy_m=f.accuracy_m, received_at=timezone.now())
            MemberPosition.objects.update_or_create(
                member_id=f.member_id, defaults={"point": point, "recorded_at": f.recorded_at, "accuracy_m": f.accuracy_m})
        results["naive: one ORM save per fix (fix + position)"] = rate(len(naive_fixes), time.perf_counter() - t0)

        # --- the service, called directly ---------------------------------------------------------------
        direct = [Batches.fixes(batches.next()) for _ in range(args.direct_batches)]
        positions_ingest_s = []
        gc.collect()
        for fixes in direct:
            t0 = time.perf_counter()
            positions.positions_ingest(fixes=fixes)
            positions_ingest_s.append(time.perf_counter() - t0)
        results["positions_ingest() — the service, direct"] = rate(args.batch * len(direct), sum(positions_ingest_s))
        extra["positions_ingest() — the service, direct"] = \
            f"{statistics.median(positions_ingest_s) * 1000:.1f} ms per batch (p50)"

        # --- the service's statement alone, then the floor: one bulk UPDATE of the same rows -----------
        for label, run in (("the service's statement alone (track + upsert)", run_statement),
                           ("floor: one bulk UPDATE memberposition FROM unnest", run_floor)):
            runs = [Batches.fixes(batches.next()) for _ in range(args.direct_batches)]
            t_run = 0.0
            for fixes in runs:
                t0 = time.perf_counter()
                run(fixes)
                t_run += time.perf_counter() - t0
            results[label] = rate(args.batch * len(runs), t_run)
        floor_name = "floor: one bulk UPDATE memberposition FROM unnest"

        # --- the API over HTTP ----------------------------------------------------------------------------
        port = free_port()
        server = start_server(port)
        base = f"http://127.0.0.1:{port}"
        bodies = [json.dumps({"positions": batches.next()}).encode() for _ in range(args.api_batches + 1)]
        single = [json.dumps({"positions": batches.next()}).encode() for _ in range(args.api_batches // 4 + 1)]
        elapsed, latencies = asyncio.run(post_all(base, token, bodies[1:], args.clients, sub.code))
        api_name = f"POST /api/v1/positions/ over HTTP, {args.clients} clients"
        results[api_name] = rate(args.batch * (len(bodies) - 1), elapsed)
        latencies.sort()
        extra[api_name] = (f"{latencies[len(latencies) // 2]:.0f} ms p50, "
                           f"{latencies[int(len(latencies) * 0.95)]:.0f} ms p95 per request")
        elapsed1, latencies1 = asyncio.run(post_all(base, token, single[1:], 1, sub.code))
        api1_name = "POST /api/v1/positions/ over HTTP, 1 client"
        results[api1_name] = rate(args.batch * (len(single) - 1), elapsed1)
        latencies1.sort()
        extra[api1_name] = f"{latencies1[len(latencies1) // 2]:.0f} ms p50 per request"
        stored = PositionFix.objects.filter(id__gt=last_fix).count()
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        # Put everything back as it was.
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("DELETE FROM dispatch_positionfix WHERE id > %s", [last_fix])
            cur.execute("DELETE FROM dispatch_memberposition")
            for member_id, ewkt, recorded_at, accuracy in saved_positions:
                cur.execute("INSERT INTO dispatch_memberposition (member_id, point, recorded_at, accuracy_m) "
                            "VALUES (%s, ST_GeomFromEWKT(%s), %s, %s)", [member_id, ewkt, recorded_at, accuracy])
        user_model.objects.filter(username=BENCH_USER).delete()
        # Tens of thousands of upserts left the last-positions table (and its GiST index) bloated with
        # dead rows: the benchmarks after this one (the recommendation's reads it) would pay for
        # scanning them. Compact both tables again (outside a transaction block, as VACUUM must be).
        with connection.cursor() as cur:
            cur.execute("VACUUM FULL ANALYZE dispatch_memberposition")
            cur.execute("VACUUM ANALYZE dispatch_positionfix")

    floor = results[floor_name]
    print()
    print(f"{'':58} {'positions/s':>12} {'of floor':>9}")
    order = [api_name, api1_name, "positions_ingest() — the service, direct",
             "the service's statement alone (track + upsert)", floor_name,
             "naive: one ORM save per fix (fix + position)"]
    for label in order:
        print(f"{label:58} {results[label]:12,.0f} {results[label] / floor:8.0%}  {extra.get(label, '')}")
    print()
    print(f"stored and then removed: {stored:,} fixes in all; {len(saved_positions)} last known positions put back; "
          f"wall fan-out interval {settings.WALL_POSITIONS_INTERVAL_S:g} s")
    api = results[api_name]
    verdict = "met" if api >= TARGET_PER_SECOND else "NOT met"
    print(f"target ≥ {TARGET_PER_SECOND:,} positions/s through the API: {api:,.0f}/s — {verdict} "
          f"({api / floor:.0%} of the bulk UPDATE floor, which moves the last positions only: the API also "
          f"appends every fix to the track, checks it and converts GCJ-02)")
    print(f"(load average {os.getloadavg()[0]:.2f})")
    if args.city_subdistricts > 0:
        city_track(args)
    return 0


def city_fixes(member_ids: list[int], rng: random.Random, size: int, clock, *, still: float = 0.0,
               where: dict[int, tuple[float, float]] | None = None) -> list[positions.Fix]:
    """A batch of `size` fixes of distinct members, one µs apart after `clock`, anywhere in the city —
    or, for a share `still` of them, exactly where the member was last (`where`, member → (lon, lat),
    kept up to date with every fix made)."""
    members = rng.sample(member_ids, size)
    out = []
    for k, m in enumerate(members):
        if where is not None and m in where and rng.random() < still:
            lon, lat = where[m]
        else:
            lon, lat = 120.0 + rng.random() * 0.95, 30.0 + rng.random() * 0.5
        if where is not None:
            where[m] = (lon, lat)
        out.append(positions.Fix(m, clock + timedelta(microseconds=k), lon, lat, round(rng.uniform(3, 30), 1)))
    return out


def concurrently(run, batch_lists: list[list[list[positions.Fix]]]) -> float:
    """Each list of batches run by a thread of its own with its own database connection (as the
    server's worker processes have), all started together: the seconds until the last one is done.
    A thread's failure (a deadlock among them) is raised."""
    barrier = threading.Barrier(len(batch_lists) + 1)
    errors: list[BaseException] = []

    def work(batches: list[list[positions.Fix]]) -> None:
        try:
            connection.ensure_connection()
            barrier.wait()
            for fixes in batches:
                run(fixes)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            errors.append(exc)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(batches,)) for batches in batch_lists]
    for thread in threads:
        thread.start()
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        pass
    t0 = time.perf_counter()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - t0


def city_track(args) -> None:
    """The track at a city's scale, partitioned and plain (see the module's docstring)."""
    name = f"bench_positions_{os.getpid()}"
    connection.close()
    connection.close_pool()  # else the pool goes on handing out connections to the development database
    original = connection.settings_dict["NAME"]
    settings.DATABASES["default"]["TEST"]["NAME"] = name
    began = time.perf_counter()
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT current_database(), current_setting('fsync')")
            current, fsync = cur.fetchone()
            if current != name:
                raise RuntimeError("not on the throwaway database")
            # the safe default measured as such even where the cluster commits asynchronously (a
            # development cluster): every connection to this database from now on waits for its commit
            cur.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = on')
        connection.close()
        if hasattr(connection, "close_pool"):  # pooled sessions opened before the ALTER keep the old value
            connection.close_pool()
        n = args.city_subdistricts
        per = CITY_MEMBERS_PER_SUBDISTRICT
        with transaction.atomic():
            for k in range(n):  # a grid of 0.05° squares from 120E 30N
                x, y = 120 + (k % 19) * 0.05, 30 + (k // 19) * 0.05
                sub = Subdistrict.objects.create(code=f"CITY{k:03d}", name=f"城市街道{k:03d}",
                                                 boundary=MultiPolygon(Polygon.from_bbox((x, y, x + 0.05, y + 0.05)),
                                                                       srid=4326))
                Unit.objects.create(subdistrict=sub, code=f"CITY{k:03d}-U", name="网格中队", kind=Unit.Kind.GRID_SQUAD)
        today = timezone.localdate()
        midnight = datetime.combine(today, datetime.min.time(), tzinfo=timezone.get_current_timezone())
        with connection.cursor() as cur:
            cur.execute("SET session_replication_role = replica")  # no change records for a generated city
            cur.execute("""INSERT INTO dispatch_member (subdistrict_id, unit_id, code, name, force, roles, phone,
                                                        travel_mode, home, active)
                           SELECT u.subdistrict_id, u.id, u.code || '-' || k, '队员' || k, 'grid_worker', '{}',
                                  '138' || lpad((u.id * 1000 + k)::text, 8, '0'), 'ebike',
                                  ST_SetSRID(ST_MakePoint(120 + random() * 0.95, 30 + random() * 0.5), 4326), true
                           FROM dispatch_unit u, generate_series(1, %s) k
                           WHERE u.code LIKE 'CITY%%-U'""", [per])
            cur.execute("""INSERT INTO dispatch_memberposition (member_id, point, recorded_at, accuracy_m)
                           SELECT id, home, %s, 10 FROM dispatch_member""", [midnight])
            # today's partition holds the first `prefill` fixes of the day, members in turn every 10 s
            cur.execute("""INSERT INTO dispatch_positionfix (member_id, recorded_at, point, accuracy_m, received_at)
                           SELECT m.id, %s + (s.k * interval '10 s') + (m.id %% 1000) * interval '1 ms',
                                  m.home, 10, %s
                           FROM dispatch_member m, generate_series(0, %s) s(k)
                           ORDER BY s.k, m.id LIMIT %s""",
                        [midnight, midnight, args.city_prefill // max(1, n * per) + 1, args.city_prefill])
            cur.execute("SET session_replication_role = DEFAULT")
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE dispatch_positionfix")
            cur.execute("VACUUM ANALYZE dispatch_memberposition")
            cur.execute("ANALYZE dispatch_member")
            cur.execute("SELECT count(*) FROM dispatch_member")
            member_count = cur.fetchone()[0]
            cur.execute("SELECT tableoid::regclass::text, count(*) FROM dispatch_positionfix GROUP BY 1")
            homes = dict(cur.fetchall())
        member_ids = list(Member.objects.values_list("id", flat=True))
        rng = random.Random(args.seed)
        clock = timezone.now() - timedelta(minutes=1)
        where: dict[int, tuple[float, float]] = {}  # each member's last fix made (`--city-still`)
        print()
        print(f"The track at city scale: {member_count:,} members in {n} sub-districts, "
              f"{sum(homes.values()):,} fixes in today's partition beforehand "
              f"({', '.join(homes)}); {name} set up in {time.perf_counter() - began:.0f} s; "
              f"cluster fsync {fsync}, synchronous_commit on for {name}")

        def service(fixes: list[positions.Fix]) -> None:
            positions.positions_ingest(fixes=fixes)

        def service_async(fixes: list[positions.Fix]) -> None:
            with override_settings(POSITIONS_SYNCHRONOUS_COMMIT=False):
                positions.positions_ingest(fixes=fixes)

        def batches(count: int, pool: list[int], still: float = 0.0) -> list[list[positions.Fix]]:
            nonlocal clock
            out = []
            for _ in range(count):
                out.append(city_fixes(pool, rng, args.batch, clock, still=still, where=where))
                clock += timedelta(seconds=1)
            return out

        def measure(label: str, *, all_ways: bool) -> dict[str, float]:
            """Fixes per second one batch after another — and, `all_ways`, asynchronous commit,
            members still, and `--city-connections` at once — beside the floor."""
            lines: list[tuple[str, float, str]] = []
            ways = [(f"positions_ingest() into the {label} track", service, 0.0)]
            if all_ways:
                ways.append(("  the same, POSITIONS_SYNCHRONOUS_COMMIT off", service_async, 0.0))
                if args.city_still > 0:
                    ways.append((f"  the same, {args.city_still:.0%} of the fixes where the member was", service,
                                 args.city_still))
            ways += [(f"its statement alone, {label} track", run_statement, 0.0),
                     ("floor: bulk UPDATE of the last positions", run_floor, 0.0)]
            for key, run, still in ways:
                runs = batches(args.city_batches, member_ids, still)
                gc.collect()
                elapsed = []
                for fixes in runs:
                    t0 = time.perf_counter()
                    run(fixes)
                    elapsed.append(time.perf_counter() - t0)
                lines.append((key, rate(args.batch * len(runs), sum(elapsed)),
                              f"{statistics.median(elapsed) * 1000:.1f} ms per batch (p50)"))
            k = args.city_connections
            if all_ways and k > 1:
                shuffled = rng.sample(member_ids, len(member_ids))
                apart = [shuffled[j::k] for j in range(k)]  # each connection its own members
                per = max(1, args.city_batches // k)
                for key, run, pools in ((f"positions_ingest(), {k} connections, members apart", service, apart),
                                        (f"positions_ingest(), {k} connections, members overlapping", service,
                                         [member_ids] * k),
                                        (f"floor, {k} connections, members apart", run_floor, apart)):
                    lists = [batches(per, pool) for pool in pools]
                    gc.collect()
                    lines.append((key, rate(args.batch * per * k, concurrently(run, lists)), ""))
            floor = {key: value for key, value, _ in lines if key.startswith("floor")}
            for key, value, note in lines:
                base = floor[f"floor, {k} connections, members apart"] if "connections" in key \
                    else floor["floor: bulk UPDATE of the last positions"]
                print(f"{key:58} {value:12,.0f} {value / base:8.0%}  {note}")
            return {key: value for key, value, _ in lines}

        print(f"{'batches of ' + str(args.batch) + ' fixes of distinct members':58} {'fixes/s':>12} {'of floor':>8}")
        partitioned = measure("partitioned", all_ways=True)
        t0 = time.perf_counter()
        # migration 0015's reverse step alone: the rest of the schema (0016: no foreign key on the
        # track, the last positions' fillfactor) stays as it is, so only the partitioning differs
        unpartition = import_module("dispatch.migrations.0015_position_track_partitions").unpartition
        with connection.schema_editor() as editor:
            unpartition(None, editor)
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE dispatch_positionfix")
            cur.execute("SELECT count(*) FROM dispatch_positionfix")
            rows = cur.fetchone()[0]
        print(f"(the track made a plain table again: {rows:,} fixes moved in {time.perf_counter() - t0:.0f} s)")
        measure("plain", all_ways=False)
        for key in ("positions_ingest() into the partitioned track",
                    f"positions_ingest(), {args.city_connections} connections, members apart"):
            if key in partitioned:
                got = partitioned[key]
                verdict = "met" if got >= CITY_TARGET_PER_SECOND else "NOT met"
                print(f"target ≥ {CITY_TARGET_PER_SECOND:,} fixes/s into the partitioned track at {member_count:,} "
                      f"members, {key.split(', ', 1)[1] if ', ' in key else 'one connection'}: {got:,.0f}/s — {verdict}")
        print(f"(load average {os.getloadavg()[0]:.2f})")
    finally:
        positions.fanout.reset()
        connection.creation.destroy_test_db(original, verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
