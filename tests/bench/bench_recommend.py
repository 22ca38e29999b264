#!/usr/bin/env python
"""Benchmark: the dispatch recommendation over 1,000 random incidents of the demo sub-district, then of a city.

Run by `make bench` (after `make setup`): `.venv/bin/python tests/bench/bench_recommend.py`.

**The demo** (`-n`, default 1,000; `-n 0` skips it), on the development database — the seeded demo,
with its history and its rules — never the test database. It reads only (the API's login writes one
session row). Measured in one run, on the same random incidents:
- the floor: the bare SQL point-in-polygon (grid of the version in force) and nearest-5 members
  (KNN on the GiST index) queries plus one single-source Dijkstra over the in-process road graph;
- `dispatch.recommend.recommend()` (the service, routes included);
- `GET /api/v1/incidents/{id}/recommendations/` through Django's full stack (middleware, session,
  roles, serializer, JSON) with Django's test client, with a persistent database connection and
  with a new connection per request (CONN_MAX_AGE=0, the default setting);
- travel times to the same targets from the same origins: the in-process scipy graph against
  pgRouting's `pgr_dijkstraCost` (many-to-one, car), which must agree.
Target: API p95 at most 10 ms.

**A city** (issue 16), on a throwaway database (`bench_recommend_<pid>`, created and migrated like a
test database, dropped at the end; the development database is not touched): the city of `manage.py
seed_city` (`fixtures.city.generate`) — by default all 190 sub-districts (9,880 grids, 131,480
members, 1.5 million duty shifts, 190 road graphs) with 50,000 incidents of history, about a week
(`--city-subdistricts`, `--city-incidents`; `--city-subdistricts 0` skips it; `--database NAME` reuses
a city generated before with `manage.py seed_city` into that database, and keeps it). As the
district centre's user (`district`: a tenancy of the whole district), at 10:30 today (every rule
applies), `--city-n` random incidents (default 1,000) from every sub-district:
- cold: the first request of each sub-district, which builds its road graph, then each graph's
  building alone, and the process's memory (RSS) before and with every graph loaded;
- warm: the same floor (each incident's own sub-district's grid version and road graph), the service
  and the API as above.
Target: API p95 at most 30 ms.

Both parts print p50 / p95 and each one's ratio to the floor (the number to drive down), check that
every answer is 200, names someone (a candidate, or members sent already) and lists the candidates
the service lists. Not a test: nothing fails on a slow machine; the verdict line says whether the
target was met.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from scipy.sparse.csgraph import dijkstra  # noqa: E402

from dispatch import routing  # noqa: E402
from dispatch.models import Member, ResponsibilityRule, TravelMode  # noqa: E402
from dispatch.recommend import recommend  # noqa: E402
from fixtures.demo import DEMO_CODE  # noqa: E402
from geo.models import Subdistrict  # noqa: E402
from geo.selectors import boundary_version_in_force  # noqa: E402
from incidents.models import Incident  # noqa: E402
from tests.bench.floors import KNN_SQL, PIP_SQL  # noqa: E402

TARGET_API_P95_MS = 10.0  # the demo sub-district
TARGET_CITY_API_P95_MS = 30.0  # a city (issue 16)
CITY_SEED = 14  # the city's, as bench_reports.py and bench_tiles.py generate it


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def timed(fn, items, *, warmup: int = 20) -> list[float]:
    for item in items[:warmup]:
        fn(item)
    gc.collect()
    out = []
    for item in items:
        t0 = time.perf_counter_ns()
        fn(item)
        out.append((time.perf_counter_ns() - t0) / 1e6)
    return out


def rss_mb() -> float:
    """The process's resident memory now, in MiB (Linux; elsewhere its peak)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def graph_mb(graph: routing.RoadGraph) -> float:
    """The arrays of one road graph (junctions, k-d tree, the six travel-time matrices), in MiB."""
    arrays = [graph.xy, graph.tree.data, graph.tree.indices]
    for matrix in [*graph.forward.values(), *graph.reverse.values()]:
        arrays += [matrix.data, matrix.indices, matrix.indptr]
    return sum(a.nbytes for a in arrays) / 2**20


def with_levels(rng: random.Random, ids: list[int]) -> tuple[list[Incident], list[int | None]]:
    """The incidents of `ids` (in that order) and the escalation level each is asked at: one in ten
    at a higher one (the reserve and the leaders join in), the others at their own."""
    by_id = Incident.objects.select_related("category", "place").in_bulk(ids)
    incidents = [by_id[i] for i in ids]
    return incidents, [rng.choice((1, 2)) if rng.random() < 0.1 else None for _ in incidents]


class Api:
    """GET /api/v1/incidents/{id}/recommendations/ of the k-th incident through Django's whole
    stack (test client), logged in as `user`, at the case's level or the one given, now or at `at`.
    An answer other than 200 raises; `candidates[k]` is the number the answer lists, `empty` counts the
    answers that name nobody (no candidate and nobody sent already)."""

    def __init__(self, user, incidents: list[Incident], levels: list[int | None], at: datetime | None = None):
        self.client = Client(HTTP_HOST="localhost")
        self.client.force_login(user)
        self.urls = [reverse("incidents:incident-recommendations", args=[i.pk]) for i in incidents]
        self.queries = [{**({"level": level} if level is not None else {}), **({"at": at.isoformat()} if at else {})}
                        for level in levels]
        self.answers = self.empty = 0
        self.candidates: dict[int, int] = {}

    def __call__(self, k: int) -> None:
        response = self.client.get(self.urls[k], self.queries[k] or None)
        if response.status_code != 200:
            raise RuntimeError(f"{self.urls[k]}: HTTP {response.status_code} {response.content[:200]!r}")
        self.answers += 1
        # DRF's compact JSON, not parsed while timed: a candidate's member is the only "member" object.
        self.candidates[k] = response.content.count(b'"member":{')
        self.empty += b'"candidates":[]' in response.content and b'"already_dispatched":[]' in response.content

    def new_connection(self, k: int) -> None:
        # What every request does under ASGI (Django's test client keeps the connection open
        # otherwise): close the connection at the end — with the pool (the default) it goes back
        # to the pool and the next request takes it again; without, a new backend is started and
        # the statements are prepared again.
        connection.close()
        self(k)


@dataclass
class Measured:
    rows: list[tuple[str, list[float]]]  # (label, milliseconds), the floor first
    candidates: dict[int, int]  # incident (its index) → candidates the service lists
    queries: list[int]  # per recommendation of the service (the first 50)
    nodes: np.ndarray  # each incident's nearest junction on its sub-district's graph

    def __getitem__(self, label: str) -> list[float]:
        return next(values for key, values in self.rows if key.startswith(label))


def measure(incidents: list[Incident], levels: list[int | None], at, api: Api) -> Measured:
    """On the same incidents, one after the other: the floor — each incident's own sub-district's
    grid version and road graph —, the floor's two queries in one statement, the service, and the API
    with a persistent connection and with a connection per request."""
    subs = sorted({i.subdistrict_id for i in incidents})
    versions = {s: boundary_version_in_force(subdistrict=s).pk for s in subs}
    graphs = {s: routing.graph_for(s) for s in subs}
    nodes = np.zeros(len(incidents), dtype=np.int64)
    for s in subs:
        ks = [k for k, i in enumerate(incidents) if i.subdistrict_id == s]
        _, nodes[ks] = graphs[s].tree.query(routing.points_xy([incidents[k].location for k in ks]))
    params = [{"v": versions[i.subdistrict_id], "s": i.subdistrict_id, "x": i.location.x, "y": i.location.y}
              for i in incidents]
    cars = [graphs[i.subdistrict_id].reverse[TravelMode.CAR] for i in incidents]
    one_statement = """
        SELECT (SELECT g.id FROM geo_grid g WHERE g.version_id = %(v)s AND ST_Covers(g.boundary, p.g)
                ORDER BY g.code LIMIT 1),
               ARRAY(SELECT m.id FROM dispatch_member m WHERE m.subdistrict_id = %(s)s AND m.active
                     ORDER BY m.home <-> p.g LIMIT 5)
        FROM (SELECT ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326) AS g) p
    """

    def floor(k: int) -> None:
        with connection.cursor() as cur:
            cur.execute(PIP_SQL, params[k])
            cur.fetchall()
            cur.execute(KNN_SQL, params[k])
            cur.fetchall()
        dijkstra(cars[k], directed=True, indices=int(nodes[k]))

    def floor_one_query(k: int) -> None:
        with connection.cursor() as cur:
            cur.execute(one_statement, params[k])
            cur.fetchall()
        dijkstra(cars[k], directed=True, indices=int(nodes[k]))

    candidates: dict[int, int] = {}

    def service(k: int) -> None:
        candidates[k] = len(recommend(incidents[k], at=at, level=levels[k]).candidates)

    order = list(range(len(incidents)))
    rows = [("floor: point-in-polygon + nearest-5 (2 queries) + 1 Dijkstra", timed(floor, order)),
            ("floor, the two queries in one statement + 1 Dijkstra", timed(floor_one_query, order)),
            ("recommend() — the service", timed(service, order))]
    queries = []
    with CaptureQueriesContext(connection) as captured:
        for k in order[:50]:
            before = len(captured)
            recommend(incidents[k], at=at, level=levels[k])
            queries.append(len(captured) - before)
    pooled = bool(connection.settings_dict.get("OPTIONS", {}).get("pool"))
    rows += [("API, persistent DB connection", timed(api, order)),
             ("API, connection per request: " + ("from the pool" if pooled else "new backend (no pool)"),
              timed(api.new_connection, order))]
    return Measured(rows, candidates, queries, nodes)


def print_table(measured: Measured) -> None:
    f50, f95 = pct(measured.rows[0][1], 50), pct(measured.rows[0][1], 95)
    print()
    print(f"{'':58} {'p50 ms':>8} {'p95 ms':>8} {'p50/floor':>10} {'p95/floor':>10}")
    for label, values in measured.rows:
        print(f"{label:58} {pct(values, 50):8.2f} {pct(values, 95):8.2f} {pct(values, 50) / f50:10.1f} "
              f"{pct(values, 95) / f95:10.1f}")


def print_verdict(measured: Measured, api: Api, target_ms: float) -> None:
    """The figures under the table and the verdict: the API's p95 against `target_ms`, every answer
    naming someone and listing the candidates the service lists."""
    configured = connection.settings_dict.get("CONN_MAX_AGE", 0)
    pooled = bool(connection.settings_dict.get("OPTIONS", {}).get("pool"))
    counts = list(measured.candidates.values())
    disagree = sum(api.candidates[k] != n for k, n in measured.candidates.items())
    print(f"candidates per recommendation: mean {statistics.mean(counts):.1f}, min {min(counts)}, max {max(counts)} "
          f"(none: {counts.count(0)}, everyone the rules name sent already or, at night, no rule); queries per "
          f"recommendation: {min(measured.queries)}–{max(measured.queries)} (service), CONN_MAX_AGE setting: "
          f"{configured}")
    print(f"API answers: {api.answers}, all 200; naming nobody (no candidate, nobody sent): {api.empty}; "
          f"listing other candidates than the service: {disagree}")
    print(f"prepared statements: {settings.DISPATCH_PREPARED_STATEMENTS}")
    api95 = pct(measured["API, persistent"], 95)
    verdict = "met" if api95 <= target_ms and not api.empty and not disagree else "NOT met"
    print(f"target API p95 ≤ {target_ms:.0f} ms (persistent connection): {api95:.2f} ms — {verdict}; "
          f"with a connection per request ({'pool' if pooled else 'no pool'}): "
          f"{pct(measured['API, connection per request'], 95):.2f} ms")
    print(f"(DEBUG={settings.DEBUG}; load average {os.getloadavg()[0]:.2f})")


def demo(args) -> int:
    """1,000 random incidents of the demo sub-district of the development database, and the travel
    times of the in-process graph against pgRouting's."""
    sub = Subdistrict.objects.filter(code=DEMO_CODE).first()
    if sub is None:
        print("No demo sub-district: run `make setup` first.")
        return 1
    if not ResponsibilityRule.objects.exists():
        print("No responsibility rules: run `.venv/bin/python manage.py seed_demo` first.")
        return 1
    user = get_user_model().objects.filter(groups__name="dispatcher").order_by("pk").first()
    if user is None:
        print("No dispatcher user: run `.venv/bin/python manage.py seed_demo` first.")
        return 1
    rng = random.Random(args.seed)
    ids = sorted(Incident.objects.filter(subdistrict=sub, location__isnull=False).values_list("id", flat=True))
    incidents, levels = with_levels(rng, rng.sample(ids, min(args.n, len(ids))))
    at = timezone.now()
    graph = routing.graph_for(sub.pk)
    print(f"GridLink recommendation benchmark: {len(incidents)} random incidents of {sub.name} ({sub.code}), "
          f"{graph.xy.shape[0]} junctions, {os.cpu_count()} CPUs, at {timezone.localtime(at):%Y-%m-%d %H:%M}")
    api = Api(user, incidents, levels, at)
    measured = measure(incidents, levels, at, api)

    # --- travel times: scipy in process against pgRouting ----------------------------------------------
    target_nodes, car = measured.nodes, graph.reverse[TravelMode.CAR]
    with connection.cursor() as cur:
        cur.execute(routing._ROWS_SQL, [sub.pk])
        rows = cur.fetchall()
    junction_ids = np.unique(np.array([r[:2] for r in rows], dtype=np.int64))
    homes = [m.home for m in Member.objects.filter(subdistrict=sub, active=True).order_by("code")]
    _, home_nodes = graph.tree.query(routing.points_xy(homes))
    route_targets = list(range(len(incidents)))[: args.routing_targets]
    origin_sets = [sorted(set(int(n) for n in rng.sample(list(home_nodes), 20))) for _ in route_targets]
    share = routing.CAR_SHARE_OF_LIMIT
    # pgRouting takes the edges as SQL text: the values are bound into it by the driver.
    with connection.cursor() as cur:
        edges_sql = cur.cursor.mogrify(
            "SELECT id, source, target, length_m / (speed_kmh * %s / 3.6) AS cost, "
            "CASE WHEN one_way THEN -1 ELSE length_m / (speed_kmh * %s / 3.6) END AS reverse_cost "
            "FROM geo_road WHERE subdistrict_id = %s", [share, share, sub.pk])
        if isinstance(edges_sql, bytes):  # psycopg2
            edges_sql = edges_sql.decode()
    pgr_results, scipy_results = {}, {}

    def pgr(j: int) -> None:
        k = route_targets[j]
        with connection.cursor() as cur:
            cur.execute("SELECT start_vid, agg_cost FROM pgr_dijkstraCost(%s, %s::bigint[], %s::bigint, directed => true)",
                        [edges_sql, [int(junction_ids[o]) for o in origin_sets[j]], int(junction_ids[target_nodes[k]])])
            pgr_results[j] = dict(cur.fetchall())

    def scipy_(j: int) -> None:
        k = route_targets[j]
        dist = dijkstra(car, directed=True, indices=int(target_nodes[k]))
        scipy_results[j] = {int(junction_ids[o]): float(dist[o]) for o in origin_sets[j]}

    pgr_ms = timed(pgr, list(range(len(route_targets))), warmup=5)
    scipy_ms = timed(scipy_, list(range(len(route_targets))), warmup=5)
    gaps = []
    for j in range(len(route_targets)):
        for vid, cost in pgr_results[j].items():
            if np.isfinite(scipy_results[j].get(vid, np.inf)):
                gaps.append(abs(cost - scipy_results[j][vid]))

    print_table(measured)
    print()
    print(f"{'travel times to one target from 20 origins (car)':58} {'p50 ms':>8} {'p95 ms':>8}")
    print(f"{'scipy, in process: one Dijkstra to all junctions':58} {pct(scipy_ms, 50):8.3f} {pct(scipy_ms, 95):8.3f}")
    print(f"{'pgRouting pgr_dijkstraCost, many-to-one':58} {pct(pgr_ms, 50):8.3f} {pct(pgr_ms, 95):8.3f}")
    print(f"  pgRouting / scipy: {pct(pgr_ms, 50) / pct(scipy_ms, 50):.0f}× at p50; "
          f"largest difference of the {len(gaps)} travel times: {max(gaps) if gaps else 0:.3g} s")
    print()
    print_verdict(measured, api, TARGET_API_P95_MS)
    return 0


def sample_incidents(rng: random.Random, n: int) -> list[int]:
    """n random cases with a point, over the whole city (a Bernoulli sample of the table: no list
    of every id, which a history of millions would make long)."""
    with connection.cursor() as cur:
        cur.execute("SELECT reltuples::int8 FROM pg_class WHERE relname = 'incidents_incident'")
        total = max(cur.fetchone()[0], 1)
        share = min(100.0, 100.0 * 3 * n / total)
        cur.execute("SELECT id FROM incidents_incident TABLESAMPLE BERNOULLI (%s) REPEATABLE (%s) "
                    "WHERE location IS NOT NULL ORDER BY id", [share, rng.randrange(2**31)])
        ids = [r[0] for r in cur.fetchall()]
    return rng.sample(ids, min(n, len(ids)))


def city_part(args) -> int:
    """`--city-n` random incidents across every sub-district of a city (see the module's docstring)."""
    from fixtures import city

    routing._cache.clear()  # the demo's graph, under an id the city's sub-districts use again
    began = time.perf_counter()
    with city.bench_city(args.database, "bench_recommend", subdistricts=args.city_subdistricts,
                         incidents=args.city_incidents, seed=CITY_SEED) as (name, stats):
        generated = "reused" if stats is None else f"generated in {stats.total_s / 60:.1f} min"
        user = city.district_user()
        with connection.cursor() as cur:
            cur.execute("SELECT (SELECT count(*) FROM geo_grid), (SELECT count(*) FROM dispatch_member WHERE active), "
                        "(SELECT count(*) FROM dispatch_dutyshift), "
                        "(SELECT reltuples::int8 FROM pg_class WHERE relname = 'incidents_incident')")
            grids, members, shifts, history = cur.fetchone()
            # The cold pass: the latest case of each sub-district.
            cur.execute("SELECT (SELECT i.id FROM incidents_incident i WHERE i.subdistrict_id = s.id "
                        "AND i.location IS NOT NULL ORDER BY i.reported_at DESC LIMIT 1) "
                        "FROM geo_subdistrict s ORDER BY s.code")
            latest = [r[0] for r in cur.fetchall() if r[0] is not None]
        rng = random.Random(args.seed)
        incidents, levels = with_levels(rng, sample_incidents(rng, args.city_n))
        firsts, _ = with_levels(rng, latest)
        # Mid-morning today, whatever the time of the run (every rule applies, the grid leaders' too,
        # before 21:30): the rosters of a city made in the last fortnight cover it. The API is asked
        # for the same instant (`at`).
        at = timezone.localtime().replace(hour=10, minute=30, second=0, microsecond=0)
        print()
        print(f"GridLink recommendation benchmark on a city: {len(latest)} sub-districts, {grids:,} grids, "
              f"{members:,} members, {shifts:,} duty shifts, {history:,} incidents; {name} {generated}; set up in "
              f"{(time.perf_counter() - began) / 60:.1f} min; {len(incidents)} random incidents in "
              f"{len({i.subdistrict_id for i in incidents})} sub-districts, as `{city.DISTRICT_USER}` (the district "
              f"centre); at {timezone.localtime(at):%Y-%m-%d %H:%M}")

        # --- cold: the first request of each sub-district builds its road graph --------------------------
        cold = Api(user, firsts, [None] * len(firsts), at)
        cold(0)  # the connection, the session, PROJ, the prepared statements, the rules: not the graphs'
        routing._cache.clear()
        gc.collect()
        rss_before = rss_mb()
        cold_ms = []
        for k in range(len(firsts)):
            t0 = time.perf_counter_ns()
            cold(k)
            cold_ms.append((time.perf_counter_ns() - t0) / 1e6)
        gc.collect()
        rss_loaded = rss_mb()
        graphs = [routing.graph_for(s) for s in sorted(routing._cache)]
        build_ms = []
        for s in sorted(routing._cache):  # the graph alone: its roads read, its matrices built
            routing._cache.pop(s)
            t0 = time.perf_counter_ns()
            routing.graph_for(s)
            build_ms.append((time.perf_counter_ns() - t0) / 1e6)

        # --- warm ------------------------------------------------------------------------------------------
        api = Api(user, incidents, levels, at)
        measured = measure(incidents, levels, at, api)
        print_table(measured)
        print()
        print(f"cold, the first request of each of {len(cold_ms)} sub-districts (builds its road graph): p50 "
              f"{pct(cold_ms, 50):.1f} ms, p95 {pct(cold_ms, 95):.1f} ms, max {max(cold_ms):.1f} ms "
              f"({cold.empty} naming nobody); the graph alone: p50 {pct(build_ms, 50):.1f} ms, max "
              f"{max(build_ms):.1f} ms, {sum(build_ms) / 1000:.1f} s for all")
        print(f"memory (RSS): {rss_before:.0f} MiB before the graphs, {rss_loaded:.0f} MiB with all {len(graphs)} "
              f"loaded (+{(rss_loaded - rss_before) / max(len(graphs), 1):.2f} MiB a sub-district; a graph's arrays "
              f"{statistics.mean(graph_mb(g) for g in graphs):.2f} MiB, "
              f"{statistics.mean(g.xy.shape[0] for g in graphs):.0f} junctions), {rss_mb():.0f} MiB at the end")
        print_verdict(measured, api, TARGET_CITY_API_P95_MS)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1000, help="random incidents of the demo (default 1000; 0: skip it)")
    parser.add_argument("--seed", type=int, default=4, help="random seed (default 4)")
    parser.add_argument("--routing-targets", type=int, default=200, help="targets of the routing comparison")
    parser.add_argument("--city-subdistricts", type=int,
                        default=int(os.environ.get("BENCH_RECOMMEND_SUBDISTRICTS", 190)),
                        help="sub-districts of the throwaway city (default 190; 0: no city)")
    parser.add_argument("--city-incidents", type=int,
                        default=int(os.environ.get("BENCH_RECOMMEND_INCIDENTS", 50_000)),
                        help="incidents of its history (default 50,000: a week)")
    parser.add_argument("--city-n", type=int, default=1000, help="random incidents of the city (default 1000)")
    parser.add_argument("--database", default=None,
                        help="the city: an existing one (manage.py seed_city into it), reused and kept")
    args = parser.parse_args()

    # As in production: with DEBUG on, every query is also logged in memory.
    settings.DEBUG = False
    logging.getLogger("axes").setLevel(logging.WARNING)  # a line per login of the test client
    if args.n > 0 and demo(args):
        return 1
    if args.city_subdistricts > 0:
        return city_part(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
