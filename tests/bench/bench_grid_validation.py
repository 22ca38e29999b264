#!/usr/bin/env python
"""Benchmark: the validation of a planner's draft at city scale (geo/coverage.py).

A generated district of about 190 sub-districts' grids — 10,000 grids by default, a Voronoi
tessellation of random seeds over 60 × 55 km near Hangzhou, grouped into communities of about five
grids each (a community is the union of its grids) — is validated as one draft, once as drawn (no
problem) and once with damage of every kind the page reports (vertices moved on one side of a
border, a self-intersection, a grid pushed outside, a sliver, a grid without a community).

Printed beside the floor of the same run: PostgreSQL/PostGIS's bare union of the same grids and its
difference with the district (the gap check alone, without the overlaps, the edges and the
communities), on a temporary table of the development database (nothing is kept). Target:
validation under 2 s. Not a test: the verdict line says whether the target was met.
"""

from __future__ import annotations

import argparse
import os
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

import shapely  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from shapely.geometry import box  # noqa: E402

from geo.coverage import DraftGrid, problem_counts, validate_grids  # noqa: E402

TARGET_S = 2.0
X0, Y0, WIDTH, HEIGHT = 119.9, 30.1, 0.62, 0.5  # about 60 × 55 km


def district(n: int, seed: int) -> tuple[shapely.Polygon, dict[str, shapely.Geometry], list[DraftGrid]]:
    rng = np.random.default_rng(seed)
    area = box(X0, Y0, X0 + WIDTH, Y0 + HEIGHT)
    seeds = shapely.points(np.column_stack([X0 + rng.random(n) * WIDTH, Y0 + rng.random(n) * HEIGHT]))
    cells = shapely.intersection(shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds),
                                                                            extend_to=area)), area)
    cells = [c for c in cells if not c.is_empty]
    # communities: each cell goes to the nearest of n/5 community seeds; a community is its cells' union
    hubs = np.column_stack([X0 + rng.random(max(1, n // 5)) * WIDTH, Y0 + rng.random(max(1, n // 5)) * HEIGHT])
    centres = shapely.get_coordinates(shapely.centroid(cells))
    nearest = np.argmin(((centres[:, None, :] - hubs[None, :, :]) ** 2).sum(axis=2), axis=1)
    grids = [DraftGrid(f"G{i:05d}", f"网格{i}", f"C{nearest[i]:04d}", shapely.MultiPolygon([cell]))
             for i, cell in enumerate(cells)]
    members: dict[str, list] = {}
    for grid in grids:
        members.setdefault(grid.community, []).append(grid.boundary)
    communities = {code: shapely.coverage_union_all(parts) for code, parts in members.items()}
    return area, communities, grids


def damaged(grids: list[DraftGrid], rng: np.random.Generator) -> list[DraftGrid]:
    """Damage of each kind the planner's page reports, at random grids."""
    out = list(grids)
    picks = rng.choice(len(out), size=5, replace=False)
    moved = out[picks[0]]
    coords = shapely.get_coordinates(moved.boundary)
    coords[1] += (0.0005, 0.0005)  # a shared vertex moved on this side only
    coords[-1] = coords[0]
    out[picks[0]] = DraftGrid(moved.code, moved.name, moved.community, shapely.Polygon(coords))
    x, y = shapely.get_coordinates(shapely.centroid(out[picks[1]].boundary))[0]
    bowtie = shapely.Polygon([(x, y), (x + 0.001, y + 0.001), (x + 0.001, y), (x, y + 0.001)])
    out[picks[1]] = DraftGrid(out[picks[1]].code, out[picks[1]].name, out[picks[1]].community, bowtie)
    out[picks[2]] = DraftGrid(out[picks[2]].code, out[picks[2]].name, None, out[picks[2]].boundary)
    shifted = shapely.affinity.translate(out[picks[3]].boundary, xoff=0.003)
    out[picks[3]] = DraftGrid(out[picks[3]].code, out[picks[3]].name, out[picks[3]].community, shifted)
    x, y = shapely.get_coordinates(shapely.centroid(out[picks[4]].boundary))[0]
    out.append(DraftGrid("SLIVER", "碎片", out[picks[4]].community, box(x, y, x + 0.0001, y + 0.0001)))
    return out


def floor_postgis(area: shapely.Polygon, grids: list[DraftGrid], runs: int) -> list[float]:
    """PostGIS's bare union of the grids and its difference with the district, timed in SQL."""
    out = []
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("CREATE TEMPORARY TABLE bench_grids (geom geometry(MultiPolygon, 4326)) ON COMMIT DROP")
        cur.execute("INSERT INTO bench_grids SELECT ST_GeomFromWKB(w, 4326) FROM unnest(%s::bytea[]) w",
                    [[shapely.to_wkb(g.boundary) for g in grids]])
        for _ in range(runs):
            started = time.perf_counter()
            cur.execute("SELECT ST_Area(ST_Difference(ST_GeomFromWKB(%s, 4326), ST_Union(geom))) FROM bench_grids",
                        [shapely.to_wkb(area)])
            cur.fetchone()
            out.append(time.perf_counter() - started)
        transaction.set_rollback(True)
    return out


def timed(function, runs: int) -> tuple[list[float], object]:
    out, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        out.append(time.perf_counter() - started)
    return out, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grids", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()

    started = time.perf_counter()
    area, communities, grids = district(args.grids, args.seed)
    broken = damaged(grids, np.random.default_rng(args.seed))
    print(f"GridLink grid validation benchmark: {len(grids)} grids in {len(communities)} communities over "
          f"{WIDTH * 96:.0f} × {HEIGHT * 111:.0f} km, generated in {time.perf_counter() - started:.1f} s; "
          f"{os.cpu_count()} CPUs")

    def check(draft):
        return lambda: validate_grids(subdistrict=area, communities=communities, grids=draft)

    clean, clean_problems = timed(check(grids), args.runs)
    hurt, hurt_problems = timed(check(broken), args.runs)
    floor = floor_postgis(area, grids, args.runs)
    found = {k: n for k, n in problem_counts(hurt_problems).items() if n}
    print("| | median s | best s |\n|---|---:|---:|")
    print(f"| validation, as drawn ({len(clean_problems)} problems) | {statistics.median(clean):.2f} | {min(clean):.2f} |")
    print(f"| validation, damaged ({found}) | {statistics.median(hurt):.2f} | {min(hurt):.2f} |")
    print(f"| floor: PostGIS ST_Union + ST_Difference alone | {statistics.median(floor):.2f} | {min(floor):.2f} |")
    worst = max(statistics.median(clean), statistics.median(hurt))
    print(f"target validation of {len(grids)} grids under {TARGET_S:.0f} s: {worst:.2f} s "
          f"({worst / statistics.median(floor):.1f}× the floor) — {'met' if worst < TARGET_S else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
