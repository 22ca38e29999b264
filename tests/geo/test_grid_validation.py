"""The validation of a planner's draft (geo/coverage.py): each problem reported with where it is.

A sub-district of 0.02° × 0.02° near Hangzhou (about 2 km × 2.2 km), two communities (west, east),
four grids (the quadrants) that tile it; each test breaks the tiling one way."""

import pytest
import shapely
from shapely.geometry import Polygon, box

from geo.coverage import DraftGrid, problem_counts, validate_grids

X0, Y0, D = 120.0, 30.3, 0.02
SUB = box(X0, Y0, X0 + D, Y0 + D)
MID_X, MID_Y = X0 + D / 2, Y0 + D / 2
COMMUNITIES = {"W": box(X0, Y0, MID_X, Y0 + D), "E": box(MID_X, Y0, X0 + D, Y0 + D)}


def quadrants(**replace) -> list[DraftGrid]:
    grids = {
        "SW": DraftGrid("SW", "西南", "W", box(X0, Y0, MID_X, MID_Y)),
        "NW": DraftGrid("NW", "西北", "W", box(X0, MID_Y, MID_X, Y0 + D)),
        "SE": DraftGrid("SE", "东南", "E", box(MID_X, Y0, X0 + D, MID_Y)),
        "NE": DraftGrid("NE", "东北", "E", box(MID_X, MID_Y, X0 + D, Y0 + D)),
    }
    for code, grid in replace.items():
        if grid is None:
            del grids[code]
        else:
            grids[code] = grid
    return list(grids.values())


def check(grids, **kw):
    return validate_grids(subdistrict=SUB, communities=COMMUNITIES, grids=grids, **kw)


def kinds(problems) -> dict[str, int]:
    return {k: n for k, n in problem_counts(problems).items() if n}


def test_a_tiling_has_no_problem():
    assert check(quadrants()) == []


def test_a_vertex_moved_on_one_side_only_shows_the_overlaps_and_the_unmatched_borders():
    # SW's north-east corner pushed into its three neighbours: its border no longer matches theirs
    moved = Polygon([(X0, Y0), (MID_X, Y0), (MID_X + 0.001, MID_Y + 0.001), (X0, MID_Y)])
    problems = check(quadrants(SW=DraftGrid("SW", "西南", "W", moved)))
    found = kinds(problems)
    assert found["overlap"] == 3 and found["edges"] >= 2 and "gap" not in found
    overlap = next(p for p in problems if p.kind == "overlap")
    assert "SW" in overlap.grids and overlap.area_m2 > 1
    assert overlap.where.representative_point().within(moved)  # drawn where it is
    edges = {p.grids[0] for p in problems if p.kind == "edges"}
    assert "SW" in edges
    assert all(p.where is not None for p in problems)


def test_a_self_intersecting_grid_is_reported_at_its_crossing():
    bowtie = Polygon([(X0, Y0), (MID_X, MID_Y), (MID_X, Y0), (X0, MID_Y)])
    problems = check(quadrants(SW=DraftGrid("SW", "西南", "W", bowtie)))
    invalid = [p for p in problems if p.kind == "invalid"]
    assert [p.grids for p in invalid] == [("SW",)]
    assert invalid[0].where.distance(shapely.Point(X0 + D / 4, Y0 + D / 4)) < 1e-9
    assert "gap" in kinds(problems)  # the ground it should cover lies in no grid


def test_a_grid_outside_the_sub_district_and_a_gap_left_behind():
    shifted = shapely.affinity.translate(box(X0, Y0, MID_X, MID_Y), yoff=-0.002)
    problems = check(quadrants(SW=DraftGrid("SW", "西南", "W", shifted)))
    outside = next(p for p in problems if p.kind == "outside")
    assert outside.grids == ("SW",) and outside.area_m2 == pytest.approx(0.002 * 111_000 * 0.01 * 96_000, rel=0.05)
    assert outside.where.bounds[3] <= Y0 + 1e-9
    gap = next(p for p in problems if p.kind == "gap")
    assert gap.where.bounds[1] >= MID_Y - 0.002 - 1e-9


def test_a_sliver_a_grid_without_a_community_and_a_community_left_without_a_grid():
    sliver = DraftGrid("X1", "碎片", "W", box(X0, Y0, X0 + 0.0001, Y0 + 0.0001))
    base = quadrants(SW=DraftGrid("SW", "西南", "W", box(X0, Y0, MID_X, MID_Y).difference(sliver.boundary)))
    problems = check([*base, sliver])
    assert [p.grids for p in problems if p.kind == "sliver"] == [("X1",)]
    assert "gap" not in kinds(problems) and "overlap" not in kinds(problems)

    orphan = quadrants(SE=DraftGrid("SE", "东南", None, box(MID_X, Y0, X0 + D, MID_Y)),
                       NE=DraftGrid("NE", "东北", "Z", box(MID_X, MID_Y, X0 + D, Y0 + D)))
    problems = check(orphan)
    assert sorted(p.grids for p in problems if p.kind == "no_community") == [("NE",), ("SE",)]
    assert [p.community for p in problems if p.kind == "community_without_grid"] == ["E"]


def test_a_grid_across_its_communitys_border():
    wide = DraftGrid("SW", "西南", "W", box(X0, Y0, MID_X + 0.001, MID_Y))
    narrow = DraftGrid("SE", "东南", "E", box(MID_X + 0.001, Y0, X0 + D, MID_Y))
    problems = check(quadrants(SW=wide, SE=narrow))
    crossing = [p for p in problems if p.kind == "outside_community"]
    assert [(p.grids, p.community) for p in crossing] == [(("SW",), "W")]
    assert crossing[0].area_m2 > 1_000
    assert crossing[0].as_dict()["where"]["type"] in ("Polygon", "MultiPolygon")


def test_each_message_is_in_the_users_language():
    from django.utils import translation

    bowtie = Polygon([(X0, Y0), (MID_X, MID_Y), (MID_X, Y0), (X0, MID_Y)])
    with translation.override("zh-hans"):
        problems = check(quadrants(SW=DraftGrid("SW", "西南", "W", bowtie)))
    assert "网格 SW 不是有效的多边形（边界自相交）。" in [p.message for p in problems]
