"""Reads that answer "where": which sub-district, grid and community a point falls in, and which
gazetteer entries match a piece of Chinese address text.

Point in grid: the grids of the boundary version in force at the instant, `ST_Covers` on the GiST
index. A point on the border of two grids is covered by both; it gets the one with the lowest
code (deterministic), and the dispatch issue shows the other grid's staff as backups.

Address search: pg_trgm word similarity on the GIN trigram index, plus a substring match, so
partial text ("1288号", "花园3幢") and slightly wrong text ("良木路1288号") still find the entry.
In the substring match `%` and `_` match themselves (`config.inputs.like_escape`).
Common variants are folded first (栋/号楼 → 幢, full-width digits → ASCII).
"""

import re
from dataclasses import dataclass
from datetime import datetime

from django.contrib.gis.geos import Point
from django.db import connection, transaction

from config.inputs import like_escape
from geo.models import Address, Community, Grid, Subdistrict
from geo.selectors import boundary_version_in_force

# How far outside a sub-district a point may lie and still be taken as "outside jurisdiction"
# (to hand over to the neighbour) instead of being refused as a wrong location.
NEAR_OUTSIDE_M = 5000

_FULLWIDTH = str.maketrans("０１２３４５６７８９－", "0123456789-")
_VARIANTS = [(re.compile(r"(\d+)\s*(?:栋|号楼|座楼)"), r"\1幢"), (re.compile(r"\s+"), "")]


def normalize_address(text: str) -> str:
    text = text.translate(_FULLWIDTH).strip()
    for pattern, repl in _VARIANTS:
        text = pattern.sub(repl, text)
    return text


@dataclass(frozen=True)
class Location:
    """Where a point lies: its sub-district (or the nearest one when just outside), grid and
    community in the version in force, and whether it is outside the sub-district."""

    subdistrict: Subdistrict | None
    grid: Grid | None
    community: Community | None
    outside: bool
    distance_outside_m: float = 0.0


def grids_at_point(subdistrict: Subdistrict, point: Point, at: datetime | None = None) -> list[Grid]:
    """Every grid of the version in force covering the point, lowest code first."""
    version = boundary_version_in_force(subdistrict=subdistrict, at=at)
    if version is None:
        return []
    return list(
        Grid.objects.filter(version=version, boundary__covers=point).select_related("community").order_by("code")
    )


def locate(point: Point, *, at: datetime | None = None, subdistrict: Subdistrict | None = None) -> Location:
    """The sub-district, grid and community of a WGS 84 point. Outside every sub-district, the
    nearest one within NEAR_OUTSIDE_M is named with `outside=True`; farther, none is."""
    if subdistrict is None:
        subdistrict = Subdistrict.objects.filter(boundary__covers=point).order_by("code").first()
        if subdistrict is None:
            near, distance = _nearest_subdistrict(point)
            return Location(near, None, None, outside=True, distance_outside_m=distance)
    elif not Subdistrict.objects.filter(pk=subdistrict.pk, boundary__covers=point).exists():
        distance = _distance_m(subdistrict, point)
        near = subdistrict if distance <= NEAR_OUTSIDE_M else None
        return Location(near, None, None, outside=True, distance_outside_m=distance)
    grids = grids_at_point(subdistrict, point, at)
    grid = grids[0] if grids else None
    return Location(subdistrict, grid, grid.community if grid else None, outside=False)


def _distance_m(subdistrict: Subdistrict, point: Point) -> float:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_Distance(boundary::geography, ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography)"
            " FROM geo_subdistrict WHERE id = %s",
            [point.x, point.y, subdistrict.pk],
        )
        return float(cur.fetchone()[0])


def _nearest_subdistrict(point: Point) -> tuple[Subdistrict | None, float]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id, ST_Distance(boundary::geography, p::geography) FROM geo_subdistrict,"
            " ST_SetSRID(ST_MakePoint(%s, %s), 4326) AS p"
            " WHERE ST_DWithin(boundary::geography, p::geography, %s) ORDER BY 2, 1 LIMIT 1",
            [point.x, point.y, NEAR_OUTSIDE_M],
        )
        row = cur.fetchone()
    if row is None:
        return None, float("inf")
    return Subdistrict.objects.get(pk=row[0]), float(row[1])


@dataclass(frozen=True)
class AddressMatch:
    address: Address
    score: float


def address_search(subdistrict: Subdistrict, text: str, *, limit: int = 10) -> list[AddressMatch]:
    """Gazetteer entries matching `text`, best first (trigram word similarity, substring)."""
    query = normalize_address(text)
    if not query:
        return []
    sql = """
        SELECT id, GREATEST(word_similarity(%(q)s, text), similarity(%(q)s, text),
                            CASE WHEN strpos(text, %(q)s) > 0 THEN 0.9 + 0.1 * length(%(q)s)::float / length(text)
                                 ELSE 0 END) AS score
        FROM geo_address
        WHERE subdistrict_id = %(sub)s AND (%(q)s <%% text OR text LIKE %(like)s OR text %% %(q)s)
        ORDER BY score DESC, length(text), text
        LIMIT %(limit)s
    """
    with transaction.atomic(), connection.cursor() as cur:
        # The operators <% and % use these thresholds (and the GIN trigram index).
        cur.execute("SET LOCAL pg_trgm.word_similarity_threshold = 0.35")
        cur.execute("SET LOCAL pg_trgm.similarity_threshold = 0.3")
        cur.execute(sql, {"q": query, "like": f"%{like_escape(query)}%", "sub": subdistrict.pk, "limit": limit})
        rows = cur.fetchall()
    by_id = Address.objects.select_related("place").in_bulk([r[0] for r in rows])
    return [AddressMatch(by_id[r[0]], float(r[1])) for r in rows]


def geocode(subdistrict: Subdistrict, text: str, *, min_score: float = 0.6) -> Address | None:
    """The gazetteer entry an address text means, or None when no entry matches well enough:
    an order that cannot be located goes to the "needs location" queue, never to a guess."""
    matches = address_search(subdistrict, text, limit=2)
    if not matches or matches[0].score < min_score:
        return None
    if len(matches) > 1 and matches[1].score >= matches[0].score - 1e-9 and \
            matches[1].address.location != matches[0].address.location:
        return None  # two equally good, different places: ambiguous, ask a person
    return matches[0].address
