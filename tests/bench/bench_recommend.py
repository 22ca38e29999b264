#!/usr/bin/env python
"""Benchmark: the dispatch recommendation over 1,000 random incidents of the demo sub-district.

Run by `make bench` (after `make setup`) against the development database — the seeded demo, with
its history and its rules — never the test database: `.venv/bin/python tests/bench/bench_recommend.py`.
It reads only (the API's login writes one session row).

Measured in one run, on the same random incidents:
- the floor: the bare SQL point-in-polygon (grid of the version in force) and nearest-5 members
  (KNN on the GiST index) queries plus one single-source Dijkstra over the in-process road graph;
- `dispatch.recommend.recommend()` (the service, routes included);
- `GET /api/v1/incidents/{id}/recommendations/` through Django's full stack (middleware, session,
  roles, serializer, JSON) with Django's test client, with a persistent database connection and
  with a new connection per request (CONN_MAX_AGE=0, the default setting);
- travel times to the same targets from the same origins: the in-process scipy graph against
  pgRouting's `pgr_dijkstraCost` (many-to-one, car), which must agree.

Prints p50 / p95 and each one's ratio to the floor (the number to drive down). Target: API p95 at
most 10 ms. Not a test: nothing fails on a slow machine; the verdict line says whether the target
was met.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time
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

TARGET_API_P95_MS = 10.0


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1000, help="random incidents (default 1000)")
    parser.add_argument("--seed", type=int, default=4, help="random seed (default 4)")
    parser.add_argument("--routing-targets", type=int, default=200, help="targets of the routing comparison")
    args = parser.parse_args()

    sub = Subdistrict.objects.filter(code=DEMO_CODE).first()
    if sub is None:
        print("No demo sub-district: run `make setup` first.")
        return 1
    if not ResponsibilityRule.objects.exists():
        print("No responsibility rules: run `.venv/bin/python manage.py seed_demo` first.")
        return 1
    # As in production: with DEBUG on, every query is also logged in memory.
    settings.DEBUG = False
    rng = random.Random(args.seed)
    ids = sorted(Incident.objects.filter(subdistrict=sub, location__isnull=False).values_list("id", flat=True))
    chosen = rng.sample(ids, min(args.n, len(ids)))
    by_id = Incident.objects.select_related("category", "place").in_bulk(chosen)
    incidents = [by_id[i] for i in chosen]
    # One in ten asked at a higher escalation level (the reserve and the leaders join in).
    levels = [rng.choice((1, 2)) if rng.random() < 0.1 else None for _ in incidents]
    at = timezone.now()
    graph = routing.graph_for(sub.pk)
    print(f"GridLink recommendation benchmark: {len(incidents)} random incidents of {sub.name} ({sub.code}), "
          f"{graph.xy.shape[0]} junctions, {os.cpu_count()} CPUs, at {timezone.localtime(at):%Y-%m-%d %H:%M}")

    # --- the floor -----------------------------------------------------------------------------------
    version = boundary_version_in_force(subdistrict=sub)
    floor_sql = """
        SELECT (SELECT g.id FROM geo_grid g WHERE g.version_id = %(v)s AND ST_Covers(g.boundary, p.g)
                ORDER BY g.code LIMIT 1),
               ARRAY(SELECT m.id FROM dispatch_member m WHERE m.subdistrict_id = %(s)s AND m.active
                     ORDER BY m.home <-> p.g LIMIT 5)
        FROM (SELECT ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326) AS g) p
    """
    targets_xy = routing.points_xy([i.location for i in incidents])
    _, target_nodes = graph.tree.query(targets_xy)
    car = graph.reverse[TravelMode.CAR]

    def floor(k: int) -> None:
        point = incidents[k].location
        params = {"v": version.pk, "s": sub.pk, "x": point.x, "y": point.y}
        with connection.cursor() as cur:
            cur.execute(PIP_SQL, params)
            cur.fetchall()
            cur.execute(KNN_SQL, params)
            cur.fetchall()
        dijkstra(car, directed=True, indices=int(target_nodes[k]))

    def floor_one_query(k: int) -> None:
        point = incidents[k].location
        with connection.cursor() as cur:
            cur.execute(floor_sql, {"v": version.pk, "s": sub.pk, "x": point.x, "y": point.y})
            cur.fetchall()
        dijkstra(car, directed=True, indices=int(target_nodes[k]))

    order = list(range(len(incidents)))
    floor_ms = timed(floor, order)
    floor1_ms = timed(floor_one_query, order)

    # --- the service -----------------------------------------------------------------------------------
    candidates, queries = [], []

    def service(k: int) -> None:
        rec = recommend(incidents[k], at=at, level=levels[k])
        candidates.append(len(rec.candidates))

    service_ms = timed(service, order)
    with CaptureQueriesContext(connection) as captured:
        for k in order[:50]:
            before = len(captured)
            recommend(incidents[k], at=at, level=levels[k])
            queries.append(len(captured) - before)

    # --- the API ----------------------------------------------------------------------------------------
    user = get_user_model().objects.filter(groups__name="dispatcher").order_by("pk").first()
    if user is None:
        print("No dispatcher user: run `.venv/bin/python manage.py seed_demo` first.")
        return 1
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    urls = [reverse("incidents:incident-recommendations", args=[i.pk]) for i in incidents]

    def api(k: int) -> None:
        response = client.get(urls[k], {"level": levels[k]} if levels[k] is not None else None)
        if response.status_code != 200:
            raise RuntimeError(f"{urls[k]}: HTTP {response.status_code} {response.content[:200]!r}")

    def api_new_connection(k: int) -> None:
        # What every request does under ASGI (Django's test client keeps the connection open
        # otherwise): close the connection at the end — with the pool (the default) it goes back
        # to the pool and the next request takes it again; without, a new backend is started and
        # the statements are prepared again.
        connection.close()
        api(k)

    configured = connection.settings_dict.get("CONN_MAX_AGE", 0)
    pooled = bool(connection.settings_dict.get("OPTIONS", {}).get("pool"))
    api_ms = timed(api, order)
    api_new_ms = timed(api_new_connection, order)

    # --- travel times: scipy in process against pgRouting ----------------------------------------------
    with connection.cursor() as cur:
        cur.execute(routing._ROWS_SQL, [sub.pk])
        rows = cur.fetchall()
    junction_ids = np.unique(np.array([r[:2] for r in rows], dtype=np.int64))
    homes = [m.home for m in Member.objects.filter(subdistrict=sub, active=True).order_by("code")]
    _, home_nodes = graph.tree.query(routing.points_xy(homes))
    route_targets = order[: args.routing_targets]
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

    # --- the table ------------------------------------------------------------------------------------
    f50, f95 = pct(floor_ms, 50), pct(floor_ms, 95)
    lines = [
        ("floor: point-in-polygon + nearest-5 (2 queries) + 1 Dijkstra", floor_ms),
        ("floor, the two queries in one statement + 1 Dijkstra", floor1_ms),
        ("recommend() — the service", service_ms),
        ("API, persistent DB connection", api_ms),
        ("API, connection per request: " + ("from the pool" if pooled else "new backend (no pool)"), api_new_ms),
    ]
    print()
    print(f"{'':58} {'p50 ms':>8} {'p95 ms':>8} {'p50/floor':>10} {'p95/floor':>10}")
    for label, values in lines:
        print(f"{label:58} {pct(values, 50):8.2f} {pct(values, 95):8.2f} {pct(values, 50) / f50:10.1f} "
              f"{pct(values, 95) / f95:10.1f}")
    print()
    print(f"{'travel times to one target from 20 origins (car)':58} {'p50 ms':>8} {'p95 ms':>8}")
    print(f"{'scipy, in process: one Dijkstra to all junctions':58} {pct(scipy_ms, 50):8.3f} {pct(scipy_ms, 95):8.3f}")
    print(f"{'pgRouting pgr_dijkstraCost, many-to-one':58} {pct(pgr_ms, 50):8.3f} {pct(pgr_ms, 95):8.3f}")
    print(f"  pgRouting / scipy: {pct(pgr_ms, 50) / pct(scipy_ms, 50):.0f}× at p50; "
          f"largest difference of the {len(gaps)} travel times: {max(gaps) if gaps else 0:.3g} s")
    print()
    print(f"candidates per recommendation: mean {statistics.mean(candidates):.1f}, max {max(candidates)}; "
          f"queries per recommendation: {min(queries)}–{max(queries)} (service), "
          f"CONN_MAX_AGE setting: {configured}")
    print(f"prepared statements: {settings.DISPATCH_PREPARED_STATEMENTS}")
    api95 = pct(api_ms, 95)
    verdict = "met" if api95 <= TARGET_API_P95_MS else "NOT met"
    print(f"target API p95 ≤ {TARGET_API_P95_MS:.0f} ms (persistent connection): {api95:.2f} ms — {verdict}; "
          f"with a connection per request ({'pool' if pooled else 'no pool'}): {pct(api_new_ms, 95):.2f} ms")
    print(f"(DEBUG={settings.DEBUG}; load average {os.getloadavg()[0]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
