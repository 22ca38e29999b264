# ruff: noqa: S608 - the statements are this module's constants put together; every value is a parameter
"""Vector tiles of a whole district's map layers (Mapbox Vector Tile, EPSG:3857), one SQL statement
per tile: PostGIS cuts, clips and encodes (`ST_TileEnvelope`, `ST_AsMVTGeom`, `ST_AsMVT`).

The sub-district map (/ and the GeoJSON layers of geo/api.py) sends a sub-district's layers whole;
a district's — 190 sub-districts, ~10,000 grids, ~130,000 members — are too many for that, so the
district map (/district/) reads them tile by tile. Three layers, each a tile of its own:

- `grids`: the grids of the version in force now of each sub-district (the latest published version
  whose effective time has come: geo.selectors.boundary_version_in_force, as one DISTINCT ON);
- `incidents`: the open cases (not closed, not merged) and the closed ones reported in the last
  24 hours — with status, category and the major flag;
- `members`: the active members at their last known position (else at home, `at_home`), with
  their force and whether a shift covers now (`on_duty`).

Scope: only the rows of the user's sub-districts (geo/tenancy.py), as a subquery of the same
statement; a district-centre user gets all of their district's. Every geometry filter is a bounding
box `&&` in EPSG:4326 on the column's own GiST index (the tile's envelope transformed once: a
Mercator tile is a longitude/latitude rectangle too); only the rows that pass are transformed.

geo does not import incidents or dispatch (the layers of pyproject.toml): the statements name their
tables. `DONE_STATUSES` is incidents' set of finished statuses; tests/geo/test_tiles.py holds it
equal to `incidents.flows.OPEN_STATUSES`' complement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import EmptyResultSet
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.translation import gettext

from config.errors import DomainError
from config.inputs import ascii_int
from geo.models import Subdistrict
from geo.tenancy import tenant_q

EXTENT = 4096  # tile units per side (the MVT default)
BUFFER = 64  # tile units drawn beyond each edge, so that symbols and lines meet across tiles
MIN_ZOOM, MAX_ZOOM = 0, 22
LAYERS = ("grids", "incidents", "members")
DONE_STATUSES = ("closed", "merged")  # incidents.flows: every status but these is open
RECENT = timedelta(hours=24)  # closed cases stay on the map this long after they were reported

# The tile's envelope in EPSG:3857 (for ST_AsMVTGeom) and, with the buffer, as a box in EPSG:4326
# (for the indexes). Materialized: computed once, read by the filters as an InitPlan parameter.
_TILE = (
    "tile AS MATERIALIZED (SELECT e.env, ST_Transform(ST_TileEnvelope(%s, %s, %s, margin => %s), 4326) AS bbox "
    "FROM (SELECT ST_TileEnvelope(%s, %s, %s) AS env) e)"
)
_GEOM = f"ST_AsMVTGeom(ST_Transform({{column}}, 3857), (SELECT env FROM tile), {EXTENT}, {BUFFER}, true)"
_ENCODE = f"SELECT ST_AsMVT(f, %s, {EXTENT}, 'geom', 'id') FROM ({{rows}}) f WHERE f.geom IS NOT NULL"

_GRIDS = f"""
WITH {_TILE}, mine AS ({{mine}}),
in_force AS (
  SELECT DISTINCT ON (v.subdistrict_id) v.id, v.number
  FROM geo_boundaryversion v
  WHERE v.status = 'published' AND v.effective_from <= %s AND v.subdistrict_id IN (SELECT id FROM mine)
  ORDER BY v.subdistrict_id, v.effective_from DESC, v.number DESC
)
{_ENCODE.format(rows=f'''
  SELECT g.id, g.code, g.name, s.code AS subdistrict, s.name AS subdistrict_name, v.number AS version,
         {_GEOM.format(column="g.boundary")} AS geom
  FROM geo_grid g
  JOIN in_force v ON v.id = g.version_id
  JOIN geo_subdistrict s ON s.id = g.subdistrict_id
  WHERE g.boundary && (SELECT bbox FROM tile)''')}
"""

# Two disjoint halves, each on its own index: the open cases (the partial GiST index of their
# locations, incident_open_location), and the closed ones of the last 24 hours — a few hundred, read
# by time (reported_at's index) and then boxed: the location's index would fetch the whole history's
# cases in the tile first.
_INCIDENT_COLUMNS = f"""
  SELECT i.id, i.number, i.status, i.major, c.code AS category, c.name AS category_name,
         s.code AS subdistrict, EXTRACT(EPOCH FROM i.reported_at)::bigint AS reported_at,
         {_GEOM.format(column="i.location")} AS geom"""
_INCIDENT_JOINS = """
  JOIN incidents_category c ON c.id = i.category_id
  JOIN geo_subdistrict s ON s.id = i.subdistrict_id"""
_INCIDENTS = f"""
WITH {_TILE}, mine AS ({{mine}}),
recent AS MATERIALIZED (
  SELECT i.* FROM incidents_incident i
  WHERE i.reported_at >= %s AND i.status = 'closed' AND i.subdistrict_id IN (SELECT id FROM mine)
)
{_ENCODE.format(rows=f'''{_INCIDENT_COLUMNS}
  FROM incidents_incident i {_INCIDENT_JOINS}
  WHERE i.location && (SELECT bbox FROM tile) AND i.status NOT IN ('closed', 'merged')
    AND i.subdistrict_id IN (SELECT id FROM mine)
  UNION ALL
  {_INCIDENT_COLUMNS}
  FROM recent i {_INCIDENT_JOINS}
  WHERE i.location && (SELECT bbox FROM tile)''')}
"""

# The last known position, else home: two disjoint halves, each on its own GiST index.
_MEMBERS = f"""
WITH {_TILE}, mine AS ({{mine}}),
at AS (
  SELECT p.member_id AS id, p.point AS point, false AS at_home
  FROM dispatch_memberposition p WHERE p.point && (SELECT bbox FROM tile)
  UNION ALL
  SELECT m.id, m.home, true FROM dispatch_member m
  WHERE m.home && (SELECT bbox FROM tile)
    AND NOT EXISTS (SELECT 1 FROM dispatch_memberposition p WHERE p.member_id = m.id)
)
{_ENCODE.format(rows=f'''
  SELECT m.id, m.code, m.name, m.force, s.code AS subdistrict, at.at_home,
         EXISTS (SELECT 1 FROM dispatch_dutyshift d
                 WHERE d.member_id = m.id AND d.starts_at <= %s AND d.ends_at > %s) AS on_duty,
         {_GEOM.format(column="at.point")} AS geom
  FROM at
  JOIN dispatch_member m ON m.id = at.id
  JOIN geo_subdistrict s ON s.id = m.subdistrict_id
  WHERE m.active AND m.subdistrict_id IN (SELECT id FROM mine)''')}
"""

_SQL = {"grids": _GRIDS, "incidents": _INCIDENTS, "members": _MEMBERS}


class TileOutOfRange(DomainError):
    """z, x or y not a whole number, or outside the tile pyramid: 400, the message names the range."""

    def __init__(self, message):
        super().__init__(message, code="bad_tile", http_status=400)


@dataclass(frozen=True)
class TileKey:
    z: int
    x: int
    y: int

    def __post_init__(self) -> None:
        if not MIN_ZOOM <= self.z <= MAX_ZOOM:
            raise TileOutOfRange(gettext("The zoom z is between %(min)d and %(max)d.")
                                 % {"min": MIN_ZOOM, "max": MAX_ZOOM})
        last = 2**self.z - 1
        if not (0 <= self.x <= last and 0 <= self.y <= last):
            raise TileOutOfRange(gettext("At zoom %(z)d, x and y are between 0 and %(last)d.")
                                 % {"z": self.z, "last": last})

    @classmethod
    def parse(cls, z: str, x: str, y: str) -> TileKey:
        """The key of a tile's address (ASCII digits); TileOutOfRange otherwise."""
        numbers = [ascii_int(value, minimum=0, maximum=2**31 - 1) for value in (z, x, y)]
        if any(number is None for number in numbers):
            raise TileOutOfRange(gettext("z, x and y are whole numbers, not negative."))
        return cls(*cast(list[int], numbers))


def tile_sql(layer: str, key: TileKey, *, user: User | AnonymousUser, at: datetime,
             connection: BaseDatabaseWrapper) -> tuple[str, list] | None:
    """The one statement of a tile and its parameters; None when the user works nowhere (the tile is
    empty without asking). `layer` is one of LAYERS (a KeyError otherwise)."""
    mine = Subdistrict.objects.filter(tenant_q(user, "pk")).values("id").query
    try:
        mine_sql, mine_params = mine.get_compiler(connection=connection).as_sql()
    except EmptyResultSet:  # tenant_q of known, empty ids: nobody's rows
        return None
    tile_params = [key.z, key.x, key.y, BUFFER / EXTENT, key.z, key.x, key.y]
    sql = _SQL[layer].format(mine=mine_sql)
    params: list = [*tile_params, *mine_params]
    if layer == "grids":
        params += [at, layer]
    elif layer == "incidents":
        params += [at - RECENT, layer]
    else:
        params += [layer, at, at]
    return sql, params


def tile(layer: str, key: TileKey, *, user: User | AnonymousUser, at: datetime,
         connection: BaseDatabaseWrapper) -> bytes:
    """The encoded tile of `layer` at `key` with the rows of the user's sub-districts as of `at`:
    one statement on `connection`; b"" for a tile with no feature."""
    statement = tile_sql(layer, key, user=user, at=at, connection=connection)
    if statement is None:
        return b""
    with connection.cursor() as cursor:
        cursor.execute(*statement)
        row = cursor.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""
