#!/usr/bin/env python
"""Benchmark: the district map's vector tiles (`GET /api/v1/tiles/<layer>/<z>/<x>/<y>.pbf`, geo/tiles.py)
over a city.

On a throwaway database (`bench_tiles_<pid>`, created and migrated like a test database, dropped at
the end; the development database is not touched): the city of `manage.py seed_city`
(`fixtures.city.generate`) — by default 20 sub-districts (13,840 members, 1,040 grids) and a million
incidents, about 3.4 years of their history (`--subdistricts`, `--incidents`; `--database NAME`
reuses a city generated before with `manage.py seed_city` into that database, and keeps it).

As the city's `district` user (the district centre's command room: every sub-district), `--tiles`
tiles (default 300) at zooms 12 to 16 picked at random over the district's extent, each of the three
layers, requested through Django's test client in this process — the whole request: middleware,
session login, role check, the statement, the response. Beside them the floor of the same run: the
bare ST_AsMVT statement of each tile alone (geo.tiles.tile_sql, on one cursor). p50 / p95 / max per
layer, and the bytes. Target: p95 ≤ 50 ms a tile. Not a test: the verdict line says whether it was met.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from fixtures import city  # noqa: E402

TARGET_MS = 50.0
ZOOMS = (12, 13, 14, 15, 16)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    return z, int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subdistricts", type=int, default=int(os.environ.get("BENCH_TILES_SUBDISTRICTS", 20)))
    parser.add_argument("--incidents", type=int, default=int(os.environ.get("BENCH_TILES_INCIDENTS", 1_000_000)))
    parser.add_argument("--tiles", type=int, default=300, help="tiles per layer")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--database", default=None,
                        help="an existing city (manage.py seed_city into it): reused and kept")
    args = parser.parse_args()

    from django.conf import settings
    from django.contrib.auth.models import User
    from django.contrib.gis.db.models import Extent
    from django.test import Client
    from django.utils import timezone

    from geo import tiles
    from geo.models import Grid, Subdistrict

    began = time.perf_counter()
    with city.bench_city(args.database, "bench_tiles", subdistricts=args.subdistricts,
                         incidents=args.incidents, seed=14) as (name, stats):
        generated = "reused" if stats is None else f"generated in {stats.total_s / 60:.1f} min"
        user = city.district_user()  # generate() writes no logins: the district centre's, as seed_city makes it
        with connection.cursor() as cur:
            cur.execute("SELECT reltuples::int8 FROM pg_class WHERE relname = 'incidents_incident'")
            incidents = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM dispatch_member WHERE active")
            members = cur.fetchone()[0]
        subs = Subdistrict.objects.count()
        grids = Grid.objects.count()
        w, s, e, n = Subdistrict.objects.aggregate(extent=Extent("boundary"))["extent"]
        rng = random.Random(args.seed)
        keys = [tiles.TileKey(*tile_of(rng.uniform(w, e), rng.uniform(s, n), rng.choice(ZOOMS)))
                for _ in range(args.tiles)]
        print(f"GridLink tiles benchmark: {subs} sub-districts, {grids:,} grids, {members:,} members, "
              f"{incidents:,} incidents; {name} {generated}; set up in {(time.perf_counter() - began) / 60:.1f} min; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
        print(f"{len(keys)} tiles per layer at zooms {ZOOMS[0]}–{ZOOMS[-1]} over the district, as `{city.DISTRICT_USER}`")

        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        client = Client()
        client.force_login(user)
        rows = []
        for layer in tiles.LAYERS:
            for key in keys[:10]:  # warm: the first requests open the connection, load PROJ
                client.get(f"/api/v1/tiles/{layer}/{key.z}/{key.x}/{key.y}.pbf")
            calls, sizes, floors = [], [], []
            fresh = User.objects.get(pk=user.pk)  # no tenants cached: the statement's subquery, as the API's
            for key in keys:  # each tile through the API, then its bare statement: the same cache for both
                started = time.perf_counter()
                response = client.get(f"/api/v1/tiles/{layer}/{key.z}/{key.x}/{key.y}.pbf")
                calls.append(time.perf_counter() - started)
                assert response.status_code in (200, 204), response.status_code
                sizes.append(len(response.content))
                statement = tiles.tile_sql(layer, key, user=fresh, at=timezone.now(), connection=connection)
                assert statement is not None
                started = time.perf_counter()
                with connection.cursor() as cur:
                    cur.execute(*statement)
                    cur.fetchone()
                floors.append(time.perf_counter() - started)
            rows.append((layer, calls, floors, sizes))

        print(f"| {subs} sub-districts, {incidents / 1e6:.1f} M incidents | tiles | p50 ms | p95 ms | max ms | "
              f"bytes p50 / max | empty |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for layer, calls, floors, sizes in rows:
            print(f"| **`{layer}`** through the API | {len(calls)} | {1000 * statistics.median(calls):.1f} | "
                  f"{1000 * p95(calls):.1f} | {1000 * max(calls):.1f} | {int(statistics.median(sizes)):,} / "
                  f"{max(sizes):,} | {sum(1 for size in sizes if not size)} |")
            print(f"| floor: the bare ST_AsMVT statement | {len(floors)} | {1000 * statistics.median(floors):.1f} | "
                  f"{1000 * p95(floors):.1f} | {1000 * max(floors):.1f} | | |")
        worst = max(p95(calls) for _, calls, _, _ in rows)
        print(f"target a tile under {TARGET_MS:.0f} ms at p95: worst layer's p95 {1000 * worst:.1f} ms — "
              f"{'met' if 1000 * worst <= TARGET_MS else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
