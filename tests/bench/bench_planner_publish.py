#!/usr/bin/env python
"""Benchmark: publishing a planner's draft at city scale (planner.services.grid_version_publish).

On a throwaway database (`bench_planner_<pid>`, created and migrated like a test database, dropped
at the end; the development database is not touched): the district of bench_grid_validation.py —
10,000 grids by default, a Voronoi tessellation grouped into communities — published as version 1,
two members serving each grid (a grid worker with a duty post in it, a grid leader without one),
then a draft of as many grids that merges 300 pairs of neighbours and splits 300 other grids
(each along a chord between two of its vertices, so that no neighbour needs a new vertex), imported
through planner.services.draft_import. Publishing it validates the draft (it must pass), works out
every member's grid in the new version (geo.lineage: kept, merged, or the part of a split that holds
the post), copies the draft into Grid rows and adds the members' links.

Printed beside the floor of the same run: PostgreSQL's bare INSERT … SELECT of the same rows (into a
temporary table of the same columns, and into geo_grid itself with its triggers — the coverage
check and the audit trail — rolled back). Target: publishing under 10 s. Not a test: the verdict
line says whether the target was met.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import shapely  # noqa: E402
from bench_grid_validation import district  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from geo.coverage import DEFAULT_MIN_AREA_M2, DraftGrid  # noqa: E402

TARGET_S = 10.0
MERGES, SPLITS = 300, 300
M2_PER_DEGREE2 = 111_000 * 96_000  # near 30°N: enough to keep the split parts clear of slivers


def redraw(grids: list[DraftGrid], rng: np.random.Generator) -> tuple[list[DraftGrid], int, int]:
    """The planner's new version: MERGES pairs of neighbours of one community merged, SPLITS other grids
    cut along a chord between two of their vertices (convex Voronoi cells: both parts are valid and
    share the chord exactly)."""
    shapes = [g.boundary for g in grids]
    tree = shapely.STRtree(shapes)
    used: set[int] = set()
    merged: dict[int, int] = {}
    for i in rng.permutation(len(grids)).tolist():
        if len(merged) >= MERGES:
            break
        if i in used:
            continue
        for j in tree.query(shapes[i], predicate="intersects").tolist():
            if j != i and j not in used and grids[j].community == grids[i].community \
                    and shapely.intersection(shapes[i].boundary, shapes[j].boundary).length > 0:
                merged[i] = j
                used |= {i, j}
                break
    split: dict[int, tuple[shapely.Polygon, shapely.Polygon]] = {}
    for i in rng.permutation(len(grids)).tolist():
        if len(split) >= SPLITS:
            break
        ring = shapely.get_coordinates(shapely.get_exterior_ring(shapely.get_geometry(shapes[i], 0)))[:-1]
        if i in used or len(ring) < 5:
            continue
        k = len(ring) // 2
        first = shapely.Polygon(np.vstack([ring[:k + 1], ring[:1]]))
        second = shapely.Polygon(np.vstack([ring[k:], ring[:1], ring[k:k + 1]]))
        if min(first.area, second.area) * M2_PER_DEGREE2 > 3 * DEFAULT_MIN_AREA_M2:  # no sliver
            split[i] = (first, second)
            used.add(i)
    out = []
    gone = set(merged.values())
    for i, g in enumerate(grids):
        if i in gone:
            continue
        if i in merged:
            union = shapely.coverage_union_all([shapes[i], shapes[merged[i]]])
            out.append(DraftGrid(g.code, g.name, g.community, union))
        elif i in split:
            first, second = split[i]
            out.append(DraftGrid(g.code, g.name, g.community, shapely.MultiPolygon([first])))
            out.append(DraftGrid(g.code + "-2", g.name + "（2）", g.community, shapely.MultiPolygon([second])))
        else:
            out.append(g)
    return out, len(merged), len(split)


def load(area, communities: dict, grids: list[DraftGrid]):
    """Sub-district, communities, version 1 with the grids, two members per grid and their links."""
    from django.contrib.auth.models import User
    from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point

    from dispatch.models import Force, Member, MemberGrid, Role, TravelMode, Unit
    from geo.models import BoundaryVersion, Community, Grid, Subdistrict

    def geos(shape):
        g = GEOSGeometry(memoryview(shapely.to_wkb(shape)), srid=4326)
        return MultiPolygon(g, srid=4326) if g.geom_type == "Polygon" else g

    since = timezone.now() - timedelta(days=365)
    with transaction.atomic():
        sub = Subdistrict.objects.create(code="BENCH", name="基准区", boundary=geos(area))
        community_id = {c.code: c.pk for c in Community.objects.bulk_create([
            Community(subdistrict=sub, code=code, name=code, kind=Community.Kind.COMMUNITY, boundary=geos(shape))
            for code, shape in communities.items()], batch_size=1000)}
        v1 = BoundaryVersion.objects.create(subdistrict=sub, number=1, status=BoundaryVersion.Status.PUBLISHED,
                                            effective_from=since, published_at=since)
        rows = Grid.objects.bulk_create([
            Grid(version=v1, subdistrict=sub, community_id=community_id[g.community], code=g.code, name=g.name,
                 boundary=geos(g.boundary)) for g in grids], batch_size=1000)
        unit = Unit.objects.create(subdistrict=sub, code="U", name="网格中队", kind=Unit.Kind.GRID_SQUAD)
        posts = shapely.point_on_surface([g.boundary for g in grids])
        homes = shapely.centroid([g.boundary for g in grids])
        members = []
        for i, (post, home) in enumerate(zip(posts, homes, strict=True)):
            members.append(Member(subdistrict=sub, unit=unit, code=f"W{i}", name=f"网格员{i}", force=Force.GRID_WORKER,
                                  phone="13800000000", travel_mode=TravelMode.EBIKE,
                                  home=Point(post.x, post.y, srid=4326), duty_post=Point(post.x, post.y, srid=4326)))
            members.append(Member(subdistrict=sub, unit=unit, code=f"L{i}", name=f"网格长{i}", force=Force.GRID_LEADER,
                                  roles=[Role.GRID_LEADER], phone="13800000000", travel_mode=TravelMode.EBIKE,
                                  home=Point(home.x, home.y, srid=4326)))
        members = Member.objects.bulk_create(members, batch_size=2000)
        MemberGrid.objects.bulk_create([MemberGrid(member=m, grid=rows[i // 2]) for i, m in enumerate(members)],
                                       batch_size=5000)
        planner = User.objects.create_superuser("bench-planner", password=None)
    return sub, planner, len(members)


def floors(draft_id: int, subdistrict_id: int, runs: int) -> tuple[float, float]:
    """The bare copy of the draft's rows: into a temporary table, and into geo_grid (rolled back)."""
    temp, real = [], []
    with connection.cursor() as cur:
        for _ in range(runs):
            with transaction.atomic():
                cur.execute("CREATE TEMPORARY TABLE bench_copy (LIKE geo_grid) ON COMMIT DROP")
                started = time.perf_counter()
                cur.execute("INSERT INTO bench_copy (id, version_id, subdistrict_id, community_id, code, name, boundary) "
                            "SELECT id, version_id, %s, community_id, code, name, boundary FROM geo_draftgrid "
                            "WHERE version_id = %s", [subdistrict_id, draft_id])
                temp.append(time.perf_counter() - started)
                transaction.set_rollback(True)
            with transaction.atomic():
                started = time.perf_counter()
                cur.execute("INSERT INTO geo_grid (version_id, subdistrict_id, community_id, code, name, boundary) "
                            "SELECT version_id, %s, community_id, code, name, boundary FROM geo_draftgrid "
                            "WHERE version_id = %s", [subdistrict_id, draft_id])
                real.append(time.perf_counter() - started)
                transaction.set_rollback(True)
    return min(temp), min(real)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grids", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--runs", type=int, default=3, help="runs of the floor (publishing runs once)")
    parser.add_argument("--profile", action="store_true", help="print where publishing spends its time (cProfile)")
    args = parser.parse_args()

    name = f"bench_planner_{os.getpid()}"
    settings.DATABASES["default"]["TEST"]["NAME"] = name
    began = time.perf_counter()
    original = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        from planner import services

        area, communities, grids = district(args.grids, args.seed)
        sub, planner, n_members = load(area, communities, grids)
        drawn, merges, splits = redraw(grids, np.random.default_rng(args.seed))
        draft = services.draft_import(subdistrict=sub, grids=drawn, actor=planner, label="bench")
        print(f"GridLink publish benchmark: version 1 of {len(grids)} grids in {len(communities)} communities, "
              f"{n_members} members; the draft: {len(drawn)} grids ({merges} merges, {splits} splits); "
              f"set up on {name} in {time.perf_counter() - began:.0f} s; {os.cpu_count()} CPUs")

        started = time.perf_counter()
        problems = services.draft_problems(draft)
        validation = time.perf_counter() - started
        started = time.perf_counter()
        moves = services.staff_moves(draft)
        lineage = time.perf_counter() - started
        reasons = {r: sum(1 for m in moves if m.reason == r) for r in sorted({m.reason for m in moves})}
        assert not problems, f"the generated draft has problems: {problems[:3]}"
        temp_floor, grid_floor = floors(draft.pk, sub.pk, args.runs)

        profiler = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        services.grid_version_publish(version_id=draft.pk, base_revision=draft.revision, effective_from=timezone.now(),
                                      actor=planner)
        publish = time.perf_counter() - started
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        from dispatch.models import MemberGrid

        links = MemberGrid.objects.filter(grid__version=draft).count()
        print("| | s |\n|---|---:|")
        print(f"| publish ({len(drawn)} grids, {len(moves)} staff moves {reasons}, {links} new links) | {publish:.2f} |")
        print(f"| of which: validation of the draft | {validation:.2f} |")
        print(f"| of which: the staff's lineage | {lineage:.2f} |")
        print(f"| floor: INSERT … SELECT of the draft's rows into a temporary table | {temp_floor:.2f} |")
        print(f"| floor: INSERT … SELECT into geo_grid (its triggers; rolled back) | {grid_floor:.2f} |")
        print(f"target publishing {len(drawn)} grids with their staff under {TARGET_S:.0f} s: {publish:.2f} s "
              f"({publish / grid_floor:.1f}× the INSERT into geo_grid) — {'met' if publish < TARGET_S else 'NOT met'}")
    finally:
        connection.creation.destroy_test_db(original, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
