"""Validation of a set of grids against their sub-district and communities: what a planner's draft
must pass before it is published (planner/services.py), each problem with where it is.

The grids of a version are a *coverage*: polygons that tile the sub-district, each border shared
exactly by its two neighbours. The checks run on the coordinates as stored (lon, lat: a border is
straight between its vertices there, as PostGIS sees it; projected first, a shared straight border
would bend differently on each side), and each piece found is measured in m² in a local projection:

- `invalid`: a polygon that is not valid (a self-intersection, a ring that touches itself), at the
  point GEOS names;
- `outside`: a grid reaching outside the sub-district, the part outside;
- `overlap`: two grids covering the same ground, the shared area;
- `gap`: ground of the sub-district in no grid, each hole;
- `edges`: borders of neighbours that do not match (GEOS's coverage check, `shapely.coverage_invalid_edges`:
  a vertex on one side only, a border drawn twice a little apart), the edges themselves — the cause
  of most overlaps and gaps too small to see;
- `sliver`: a grid under `min_area_m2`;
- `no_community`: a grid without a community (or with one that is not the sub-district's);
- `outside_community`: a grid reaching outside its community, the part outside;
- `community_without_grid`: a community left with no grid.

Overlaps, gaps and parts outside smaller than `tolerance_m2` are digitising noise, not problems
(their edges still show under `edges`). Pure functions of shapely geometries in EPSG:4326 (lon,
lat): no database, so the planner's page, the import command and the benchmark share them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyproj
import shapely
from django.utils.translation import gettext as _
from shapely.geometry.base import BaseGeometry

KINDS = ("invalid", "outside", "overlap", "gap", "edges", "sliver", "no_community", "outside_community",
         "community_without_grid")
DEFAULT_MIN_AREA_M2 = 2_000.0  # a grid smaller than a few houses is a sliver left by an edit
DEFAULT_TOLERANCE_M2 = 1.0  # less than a square metre: digitising noise


@dataclass(frozen=True)
class DraftGrid:
    """A grid as drawn: its code, name, community code (or None) and boundary (lon, lat)."""

    code: str
    name: str
    community: str | None
    boundary: BaseGeometry


@dataclass(frozen=True)
class Problem:
    kind: str
    message: str
    grids: tuple[str, ...] = ()
    community: str | None = None
    where: BaseGeometry | None = None  # lon, lat
    area_m2: float | None = None

    def as_dict(self) -> dict:
        return {"kind": self.kind, "message": self.message, "grids": list(self.grids),
                "community": self.community, "area_m2": None if self.area_m2 is None else round(self.area_m2, 1),
                "where": None if self.where is None else shapely.geometry.mapping(self.where)}


@dataclass
class _Local:
    """A local azimuthal equidistant projection around a point, to measure areas in m²."""

    lon: float
    lat: float
    forward: pyproj.Transformer = field(init=False)

    def __post_init__(self) -> None:
        local = pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={self.lat} +lon_0={self.lon} +datum=WGS84 +units=m")
        self.forward = pyproj.Transformer.from_crs("EPSG:4326", local, always_xy=True)

    def to_m(self, geometry):
        return shapely.transform(geometry, lambda xy: np.column_stack(self.forward.transform(xy[:, 0], xy[:, 1])))



def _parts(geometry) -> list:
    """The polygons of an areal result (a difference or an intersection may hold lines and points)."""
    if geometry is None or geometry.is_empty:
        return []
    if geometry.geom_type == "Polygon":
        return [geometry]
    if geometry.geom_type in ("MultiPolygon", "GeometryCollection"):
        return [part for g in geometry.geoms for part in _parts(g)]
    return []


def _areal(geometry):
    parts = _parts(geometry)
    return shapely.MultiPolygon(parts) if parts else None


def _reason(geometry) -> str:
    """GEOS's reason for an invalid polygon, in the user's language where it is a known one."""
    reason = shapely.is_valid_reason(geometry)
    if geometry.is_empty:
        return _("empty")
    known = {
        "Self-intersection": _("its border crosses itself"),
        "Ring Self-intersection": _("a ring touches itself"),
        "Too few points in geometry component": _("too few points"),
        "Hole lies outside shell": _("a hole lies outside it"),
        "Nested shells": _("one part lies inside another"),
        "Interior is disconnected": _("its inside is cut in two"),
        "Invalid Coordinate": _("a coordinate is not a number"),
    }
    return known.get(reason.split("[")[0].strip(), reason)


def _where_invalid(geometry) -> BaseGeometry | None:
    """The point GEOS names in its reason (`Self-intersection[x y]`), else a point on the polygon."""
    reason = shapely.is_valid_reason(geometry)
    if "[" in reason:
        try:
            x, y = (float(v) for v in reason[reason.index("[") + 1:reason.index("]")].split()[:2])
            return shapely.Point(x, y)
        except ValueError:
            pass
    return shapely.point_on_surface(geometry) if not geometry.is_empty else None


def validate_grids(*, subdistrict: BaseGeometry, communities: dict[str, BaseGeometry],
                   grids: Sequence[DraftGrid], min_area_m2: float = DEFAULT_MIN_AREA_M2,
                   tolerance_m2: float = DEFAULT_TOLERANCE_M2) -> list[Problem]:
    """Every problem of `grids` (see the module docstring), in the order of KINDS, then by grid code."""
    centre = shapely.centroid(subdistrict)
    local = _Local(centre.x, centre.y)

    def m2(geometry) -> float:
        return local.to_m(geometry).area

    def areal_beyond_tolerance(geometry) -> tuple[BaseGeometry | None, float]:
        piece = _areal(geometry)
        area = m2(piece) if piece is not None else 0.0
        return (piece, area) if area > tolerance_m2 else (None, area)

    sub = shapely.make_valid(subdistrict)
    community_areas = {code: shapely.make_valid(g) for code, g in communities.items()}
    problems: list[Problem] = []
    valid: list[DraftGrid] = []

    fine = shapely.is_valid(np.asarray([g.boundary for g in grids], dtype=object)) if grids else []
    for grid, is_fine in zip(grids, fine, strict=True):
        if grid.boundary.is_empty or not is_fine:
            problems.append(Problem("invalid", _("Grid %(code)s is not a valid polygon (%(reason)s).")
                                    % {"code": grid.code, "reason": _reason(grid.boundary)},
                                    grids=(grid.code,), where=_where_invalid(grid.boundary)))
        else:
            valid.append(grid)
    geometries = [grid.boundary for grid in valid]

    shapely.prepare(sub)
    within_sub = shapely.covered_by(np.asarray(geometries, dtype=object), sub) if geometries else []
    for grid, inside in zip(valid, within_sub, strict=True):  # outside the sub-district
        if inside:
            continue
        outside, area = areal_beyond_tolerance(shapely.difference(grid.boundary, sub))
        if outside is not None:
            problems.append(Problem("outside", _("Grid %(code)s reaches %(area).0f m² outside the sub-district.")
                                    % {"code": grid.code, "area": area}, grids=(grid.code,),
                                    where=outside, area_m2=area))

    # overlaps between grids: the candidate pairs from a spatial index
    tree = shapely.STRtree(geometries)
    left, right = tree.query(geometries, predicate="intersects")
    ahead = left < right
    left, right = left[ahead], right[ahead]
    array = np.asarray(geometries, dtype=object)
    # neighbours that only share their border (most pairs) have no area in common
    crossing = ~shapely.touches(array[left], array[right]) if len(left) else np.zeros(0, dtype=bool)
    for i, j in zip(left[crossing].tolist(), right[crossing].tolist(), strict=True):
        shared, area = areal_beyond_tolerance(shapely.intersection(geometries[i], geometries[j]))
        if shared is not None:
            a, b = sorted((valid[i].code, valid[j].code))
            problems.append(Problem("overlap", _("Grids %(a)s and %(b)s overlap by %(area).0f m².")
                                    % {"a": a, "b": b, "area": area}, grids=(a, b), where=shared, area_m2=area))

    if geometries:
        # gaps inside the sub-district
        for hole in _parts(shapely.difference(sub, shapely.union_all(geometries))):
            area = m2(hole)
            if area > tolerance_m2:
                problems.append(Problem("gap", _("%(area).0f m² of the sub-district lie in no grid.")
                                        % {"area": area}, where=hole, area_m2=area))
        # borders that do not match (GEOS's coverage validation): the exact edges
        edges = shapely.coverage_invalid_edges(np.asarray(geometries, dtype=object))
        for grid, edge in zip(valid, edges, strict=True):
            if edge is not None and not edge.is_empty:
                problems.append(Problem("edges", _("The border of grid %(code)s does not match its neighbours'.")
                                        % {"code": grid.code}, grids=(grid.code,), where=edge))

    sizes = shapely.area(local.to_m(np.asarray(geometries, dtype=object))) if geometries else []
    for grid, area in zip(valid, sizes, strict=True):  # slivers (every grid measured in one transform)
        if area < min_area_m2:
            problems.append(Problem("sliver", _("Grid %(code)s covers only %(area).0f m² (at least %(min).0f).")
                                    % {"code": grid.code, "area": area, "min": min_area_m2},
                                    grids=(grid.code,), where=grid.boundary, area_m2=area))

    for area_ in community_areas.values():
        shapely.prepare(area_)
    for grid in valid:  # communities
        if not grid.community or grid.community not in community_areas:
            problems.append(Problem("no_community", _("Grid %(code)s belongs to no community of the sub-district.")
                                    % {"code": grid.code}, grids=(grid.code,), where=grid.boundary))
            continue
        community = community_areas[grid.community]
        if shapely.covered_by(grid.boundary, community):
            continue
        outside, area = areal_beyond_tolerance(shapely.difference(grid.boundary, community))
        if outside is not None:
            problems.append(Problem("outside_community",
                                    _("Grid %(code)s reaches %(area).0f m² outside its community %(community)s.")
                                    % {"code": grid.code, "area": area, "community": grid.community},
                                    grids=(grid.code,), community=grid.community, where=outside, area_m2=area))
    for code in sorted(set(communities) - {g.community for g in grids if g.community}):
        problems.append(Problem("community_without_grid", _("Community %(code)s has no grid.") % {"code": code},
                                community=code, where=communities[code]))

    order = {kind: n for n, kind in enumerate(KINDS)}
    return sorted(problems, key=lambda p: (order[p.kind], p.grids, p.community or ""))


def problem_counts(problems: Iterable[Problem]) -> dict[str, int]:
    counts = dict.fromkeys(KINDS, 0)
    for problem in problems:
        counts[problem.kind] += 1
    return counts
