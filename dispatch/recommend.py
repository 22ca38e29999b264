"""Who should go: the recommendation of responders for an incident (auto-select).

point → grid → responsibility rules → candidates → travel time → ranking, each candidate with the
reason it is there.

- **Grid**: the grids that cover the point, of the boundary version in force when the incident was
  reported (its `reported_at`; `at` for an unsaved one): a case taken before a new version took
  effect keeps its grid's staff, one taken after gets the new grid's. On a border
  the point belongs to the grid with the lowest code (the rule of `geo.gazetteer`); the staff of
  the other covering grids are listed as *backups*, never pre-selected, and their reason says so.
- **Rules** (`dispatch.models.ResponsibilityRule`, seeded by `dispatch.rules_seed`, edited in
  admin) of levels up to the incident's escalation level, filtered by category, police-type,
  major, the evening cut-off (`until_time`, local time, exact to the minute: a rule "before 21:30"
  applies at 21:29 and not at 21:30 or later; it starts applying at settings.DISPATCH_DAY_STARTS)
  and, for road-following rules, a road of the given class within `road_within_m` metres.
- **Outside the sub-district** (a point taken as "outside jurisdiction") only road-following rules
  apply — an accident on the arterial just over the boundary is still the traffic police's — and
  the recommendation carries a note saying that the case belongs to the neighbour. Inside the
  sub-district but in no grid, the grid's staff cannot be named; every other rule applies, with a note.
- **Candidates** per rule: on duty at `at` (a duty shift covers it), their current load (live orders
  on cases still handled on site) against a per-force limit, and the position they are ranked
  from: the shared position when fresh (settings.POSITION_STALE_MINUTES), else the duty post of
  their shift or of their post, else home — the reason says so.
- **Ranking**: straight-line distance is only a pre-filter (the nearest few per rule); travel
  seconds on the road graph by the member's mode (`dispatch.routing`) decide. Each rule proposes
  its `count` fastest members who are on duty and under their load limit; the security director is
  the grid leader's alternative ("the grid leader *or* the security director"), proposed only when
  no grid leader of the grid is. Members off duty or at their load limit are listed after the
  others, never proposed, and their reason says why.
- **Deadline**: the rule's minutes, or "at once" (settings.DISPATCH_AT_ONCE_MINUTES) when it has
  none; a member chosen by hand that no rule names gets the plan's deadline for their force and the
  time of day (`dispatch.deadlines`: none for a grid leader or a contact after 21:30); the unit's
  reserve never gets a later deadline than its unit's own rule (or, for a unit already on the case,
  than its members' plan deadline). A candidate can arrive in time when their travel time is within
  it, or when no deadline binds them and a route exists.

Cost: the same queries whatever the number of candidates and the level — one for the grids, the
neighbouring grids, the nearby roads and the rules' fingerprint (the rules are cached per process),
one for every candidate with their shift, position and load (and the unit's reserve when the level
asks for it), both prepared once per database connection. The travel times and the routes are one
single-source Dijkstra per travel mode over the in-process road graph (`dispatch.routing`).
`make bench` measures it (see the README).
"""

from __future__ import annotations

import math
import re
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

import numpy as np
from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.errors import DomainError
from dispatch import routing
from dispatch.deadlines import at_once_minutes, day_starts, local_zone, manual_deadline_minutes
from dispatch.models import DispatchOrder, Force, ResponsibilityRule, Role, Unit
from geo.models import Place
from incidents.models import Category, Incident

T = ResponsibilityRule.Target

# The pre-filter: per rule, this many nearest by straight line (at least, or `count` × factor) are
# given a travel time; of those, the proposed ones and a few more are listed.
PREFILTER_MIN = 12
PREFILTER_FACTOR = 4
LIST_EXTRA = 3  # available members listed beyond the proposed ones, per rule
LIST_UNAVAILABLE = 2  # off-duty or fully loaded members listed, per rule
ROUTES_MAX = 6  # routes drawn for the first candidates (the proposed ones come first)
ROAD_RADIUS_GUESS = 100.0  # metres searched for road classes before the rules are known
# A member's load: their live orders on cases still handled on site. These constants are written
# out in _MEMBERS_SQL (as literals, so that its generic plan can use the index); a test checks
# that the two agree.
LOAD_STATES = DispatchOrder.CURRENT_STATES  # orders not declined or stood down
BUSY_STATUSES = ("new", "dispatched", "arrived", "reported")  # flows.OPEN_ON_SITE, in the SQL's order
# The places whose contact is proposed (property, construction site, park building, enterprise).
PLACE_KINDS_WITH_CONTACT = ("residential_complex", "construction_site", "park_building", "enterprise")

_INCIDENT_SQL = """
SELECT i.id, i.level, ST_X(i.location), ST_Y(i.location), i.subdistrict_id, i.major, i.description, i.category_id,
       c.code, c.scope, c.is_police, i.place_id, p.kind, p.name, p.contact_id, i.reported_at
FROM incidents_incident i JOIN incidents_category c ON c.id = i.category_id
LEFT JOIN geo_place p ON p.id = i.place_id
WHERE i.id = %s
"""

# Department-assistance cases name the department that asks ("城管部门请求协助：…"): the words by
# which a unit kind is recognised in the description, when no hand-over names the unit.
DEPARTMENT_WORDS: dict[str, tuple[str, ...]] = {
    Unit.Kind.URBAN_MANAGEMENT: ("城管",),
    Unit.Kind.MARKET_SUPERVISION: ("市场监管",),
    Unit.Kind.ENVIRONMENT_OFFICE: ("环保", "生态环境"),
    Unit.Kind.HOUSING_OFFICE: ("房管",),
    Unit.Kind.TRANSPORT_OFFICE: ("交通运输", "运管"),
    Unit.Kind.ROAD_ADMINISTRATION: ("路政",),
    Unit.Kind.FIRE_SQUAD: ("消防",),
    Unit.Kind.JUDICIAL_OFFICE: ("司法",),
    Unit.Kind.LABOUR_SECURITY: ("劳动保障", "劳动监察", "劳保"),
    Unit.Kind.TRAFFIC_POLICE: ("交警",),
    Unit.Kind.SAFETY_ENFORCEMENT: ("安全执法", "安监"),
    Unit.Kind.BUILDING_STATION: ("楼宇工作站",),
}


# --- results -------------------------------------------------------------------------------------

@dataclass
class GridRef:
    id: int
    code: str
    name: str
    community_id: int
    community_name: str


@dataclass
class Candidate:
    """One member who could go, with everything the dispatcher weighs."""

    member_id: int
    code: str
    name: str
    phone: str
    force: str
    roles: list[str]
    unit_id: int
    unit_name: str
    unit_kind: str
    mode: str
    rule: ResponsibilityRule | None
    relation: str  # own_grid, backup_grid, neighbour_grid, community, place, department, reserve, force, leaders, chosen
    level: int
    on_duty: bool
    load: int
    load_limit: int
    position_source: str  # live, duty_post, home
    position_stale: bool
    position_recorded_at: datetime | None
    origin: tuple[float, float]  # lon, lat
    straight_m: float
    travel_seconds: float | None
    deadline_minutes: int | None  # None: no deadline binds them (the plan's 21:30 rule)
    arrive_by: datetime | None
    reachable: bool  # within the deadline, or no deadline and a route
    proposed: bool
    reasons: list[str] = field(default_factory=list)
    rules: list[ResponsibilityRule] = field(default_factory=list)
    route: list[tuple[float, float]] | None = None

    @property
    def available(self) -> bool:
        return self.on_duty and self.load < self.load_limit

    @property
    def overloaded(self) -> bool:
        return self.load >= self.load_limit

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


@dataclass
class Recommendation:
    incident_id: int
    at: datetime
    level: int
    point: tuple[float, float]
    grid: GridRef | None
    backup_grids: list[GridRef]
    neighbour_grids: list[GridRef]
    outside: bool
    rules: list[ResponsibilityRule]
    candidates: list[Candidate]
    already_dispatched: list[int]
    notes: list[str]

    @property
    def proposed(self) -> list[Candidate]:
        return [c for c in self.candidates if c.proposed]

    def candidate(self, member_id: int) -> Candidate | None:
        return next((c for c in self.candidates if c.member_id == member_id), None)


# --- settings ------------------------------------------------------------------------------------

def deadline_of(rule: ResponsibilityRule) -> int:
    """A rule's deadline in minutes: its own, or "at once" when it has none. (A member no rule
    names gets `dispatch.deadlines.manual_deadline_minutes`.)"""
    return rule.deadline_minutes if rule.deadline_minutes is not None else at_once_minutes()


def _latest_last(minutes: int | None) -> float:
    """A deadline as a sort key: no deadline is the latest of all."""
    return math.inf if minutes is None else minutes


def _earliest(*minutes: int | None) -> int | None:
    """The strictest of some deadlines (None, no deadline, only when none binds)."""
    bound = [m for m in minutes if m is not None]
    return min(bound) if bound else None


def load_limit(force: str) -> int:
    return int(settings.DISPATCH_LOAD_LIMITS.get(force, settings.DISPATCH_LOAD_LIMIT))


def before_cutoff(rule: ResponsibilityRule, at: datetime) -> bool:
    """Whether a rule with an evening cut-off applies at `at` (local time of settings.TIME_ZONE):
    from DISPATCH_DAY_STARTS up to, not including, `until_time` — 21:29 yes, 21:30 and 21:31 no."""
    if rule.until_time is None:
        return True
    local = at.astimezone(local_zone()).time()
    return day_starts() <= local < rule.until_time


# --- running the two queries ---------------------------------------------------------------------
#
# Both queries are prepared on the server once per database connection and executed by name
# afterwards: planning them costs about as much as running them. The prepared names are kept per
# driver connection (weakly, so a closed connection forgets them); PREPARE outlives transactions.
# Behind a pooler that does not keep sessions (PgBouncer in transaction mode) set
# DISPATCH_PREPARED_STATEMENTS=0: the queries are then sent as they are.

_PARAM = re.compile(r"%\((\w+)\)s")
_prepared: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _run(cur, name: str, sql: str, params: dict, *, generic: bool = False) -> list[tuple]:
    """Execute one of the module's queries (prepared on first use). `generic`: use the generic
    plan whatever the planner would prefer — for a query whose custom plan costs more to make
    than to run (the plan_cache_mode setting only concerns prepared statements; it is set back
    at once)."""
    if not settings.DISPATCH_PREPARED_STATEMENTS:
        cur.execute(sql, params)
        return cur.fetchall()
    names = list(dict.fromkeys(_PARAM.findall(sql)))
    raw = cur.db.connection
    done = _prepared.setdefault(raw, set())
    if name not in done:
        position = {n: i + 1 for i, n in enumerate(names)}
        cur.execute(f"PREPARE {name} AS " + _PARAM.sub(lambda m: f"${position[m.group(1)]}", sql))
        done.add(name)
    execute = f"EXECUTE {name} ({', '.join(['%s'] * len(names))})"
    if not generic:
        cur.execute(execute, [params[n] for n in names])
        return cur.fetchall()
    cur.execute("SET plan_cache_mode = force_generic_plan; " + execute, [params[n] for n in names])
    if cur.db.Database.__name__ == "psycopg":
        cur.nextset()  # psycopg 3 stands on the first statement's result, psycopg2 on the last
    rows = cur.fetchall()
    cur.execute("RESET plan_cache_mode")
    return rows


# --- the geography of the point ------------------------------------------------------------------

_CONTEXT_SQL = """
WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326) AS g),
v AS (SELECT id FROM geo_boundaryversion
      WHERE subdistrict_id = %(sub)s AND status = %(published)s AND effective_from <= %(grids_at)s
      ORDER BY effective_from DESC, number DESC LIMIT 1),
cover AS (SELECT gr.id, gr.code, gr.name, gr.community_id, gr.boundary FROM geo_grid gr, p
          WHERE gr.version_id = (SELECT id FROM v) AND ST_Covers(gr.boundary, p.g)),
own AS (SELECT * FROM cover ORDER BY code LIMIT 1)
SELECT 'cover', c.id, c.code, c.name, c.community_id, cm.name, NULL::float
  FROM cover c JOIN geo_community cm ON cm.id = c.community_id
UNION ALL
SELECT 'neighbour', n.id, n.code, n.name, n.community_id, cm.name, NULL
  FROM own, geo_grid n JOIN geo_community cm ON cm.id = n.community_id
  WHERE %(neighbours)s AND n.version_id = (SELECT id FROM v) AND ST_Intersects(n.boundary, own.boundary)
    AND n.id NOT IN (SELECT id FROM cover)
UNION ALL
SELECT 'inside', NULL, NULL, NULL, NULL, NULL, CASE WHEN ST_Covers(s.boundary, p.g) THEN 1 ELSE 0 END
  FROM geo_subdistrict s, p WHERE s.id = %(sub)s
UNION ALL
-- Road classes near the point, for road-following rules: a bounding box in degrees as the index
-- pre-filter (a generous one: a degree is at least 96 km here), the distance in metres.
SELECT 'road', NULL, r.road_class, NULL, NULL, NULL, min(ST_Distance(r.line::geography, p.g::geography))
  FROM geo_road r, p
  WHERE %(roads)s AND r.subdistrict_id = %(sub)s AND r.line && ST_Expand(p.g, %(box)s)
    AND ST_DWithin(r.line::geography, p.g::geography, %(road_m)s)
  GROUP BY r.road_class
UNION ALL
-- The rules' fingerprint: the rules are cached in process and reloaded when it changes.
SELECT 'rules', NULL, md5(coalesce(string_agg(rr::text, '|' ORDER BY rr.id), '')), NULL, NULL, NULL, NULL
  FROM dispatch_responsibilityrule rr
"""


@dataclass
class _Context:
    grid: GridRef | None
    backups: list[GridRef]
    neighbours: list[GridRef]
    inside: bool
    road_m: dict[str, float]
    road_radius: float
    rules_fingerprint: str
    with_neighbours: bool


def _context(*, subdistrict_id: int, point: Point, grids_at: datetime, road_m: float, neighbours: bool) -> _Context:
    """The grids covering the point (lowest code first), the grids touching the first one, whether
    the point is inside the sub-district, the nearest distance to each road class within `road_m`
    metres, and the rules' fingerprint — in one query."""
    params = {"x": point.x, "y": point.y, "sub": subdistrict_id, "grids_at": grids_at, "published": "published",
              "roads": road_m > 0, "road_m": road_m, "box": max(road_m, 1) / 90000.0, "neighbours": neighbours}
    cover, near, roads, inside, fingerprint = [], [], {}, False, ""
    with connection.cursor() as cur:
        for kind, gid, code, name, community_id, community_name, value in _run(cur, "gridlink_rec_context", _CONTEXT_SQL, params):
            if kind == "cover":
                cover.append(GridRef(gid, code, name, community_id, community_name))
            elif kind == "neighbour":
                near.append(GridRef(gid, code, name, community_id, community_name))
            elif kind == "inside":
                inside = bool(value)
            elif kind == "rules":
                fingerprint = code
            else:
                roads[code] = float(value)
    cover.sort(key=lambda g: g.code)
    near.sort(key=lambda g: g.code)
    return _Context(cover[0] if cover else None, cover[1:], near, inside, roads, road_m, fingerprint, neighbours)


# --- rules ---------------------------------------------------------------------------------------

# The rules, cached per process: (fingerprint, rules). Reloaded when the fingerprint the context
# query reads changes, so an edit in admin is seen by the next recommendation of every process.
_rules_cache: dict[str, tuple[str, list[ResponsibilityRule]]] = {}


def _all_rules(fingerprint: str | None) -> list[ResponsibilityRule]:
    cached = _rules_cache.get("rules")
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    rules = list(ResponsibilityRule.objects.order_by("level", "priority", "code"))
    if fingerprint is not None:
        _rules_cache["rules"] = (fingerprint, rules)
    return rules


def rules_in_force(level: int, rules: list[ResponsibilityRule] | None = None) -> list[ResponsibilityRule]:
    """Active rules of the rings up to `level`, in order (level, priority, code)."""
    rules = _all_rules(None) if rules is None else rules
    return [r for r in rules if r.active and r.level <= level]


def _wants_neighbours(rules: list[ResponsibilityRule], level: int) -> bool:
    return any(r.active and r.level <= level and r.target == T.NEIGHBOUR_GRID_STAFF for r in rules)


def _road_radius(rules: list[ResponsibilityRule]) -> float:
    return float(max((r.road_within_m for r in rules if r.active and r.road_classes), default=0))


def rule_matches(rule: ResponsibilityRule, *, category, major: bool, at: datetime, road_m: dict[str, float],
                 inside: bool) -> bool:
    """Whether a rule applies to a case of `category` at `at`, given the road classes near the point."""
    if rule.scopes or rule.category_codes:
        if category.scope not in rule.scopes and category.code not in rule.category_codes:
            return False
    if rule.police_type is not None and rule.police_type != category.is_police:
        return False
    if rule.major_only and not major:
        return False
    if rule.road_classes and not any(road_m.get(c, math.inf) <= rule.road_within_m for c in rule.road_classes):
        return False
    if not inside and not rule.road_classes:
        return False  # outside the sub-district only road-following rules apply
    return before_cutoff(rule, at)


def department_kinds(description: str) -> list[str]:
    return [kind for kind, words in DEPARTMENT_WORDS.items() if any(w in (description or "") for w in words)]


# --- candidates ----------------------------------------------------------------------------------

_MEMBERS_SQL = """
WITH here AS (SELECT o.member_id FROM dispatch_dispatchorder o
              WHERE o.incident_id = %(incident)s AND o.state NOT IN ('declined', 'stood_down')),
served AS (SELECT mg.member_id, array_agg(mg.grid_id) AS grids FROM dispatch_member_grids mg
           WHERE mg.grid_id = ANY(%(grids)s) GROUP BY mg.member_id),
handed AS (SELECT h.unit_id FROM incidents_handover h
           WHERE h.incident_id = %(incident)s AND h.state IN ('pending', 'accepted')),
-- The members the rules name (a superset; Python decides exactly) ...
named AS MATERIALIZED (
  SELECT m.id, m.unit_id, m.force FROM dispatch_member m
  CROSS JOIN LATERAL (SELECT u.id, u.kind, u.community_id FROM dispatch_unit u WHERE u.id = m.unit_id OFFSET 0) u
  LEFT JOIN served ON served.member_id = m.id
  WHERE m.subdistrict_id = %(sub)s AND m.active AND (
         m.force = ANY(%(forces)s)
      OR (m.force = ANY(%(grid_forces)s) AND served.member_id IS NOT NULL)
      OR (%(security_director)s = ANY(m.roles) AND u.community_id = %(community)s)
      OR m.id = (SELECT pl.contact_id FROM geo_place pl WHERE pl.id = %(place)s
                 AND pl.kind IN ('residential_complex', 'construction_site', 'park_building', 'enterprise'))
      OR u.kind = ANY(%(unit_kinds)s)
      OR (%(handovers)s AND u.id IN (SELECT unit_id FROM handed))
      OR m.roles && %(leader_roles)s::varchar[]
      OR m.id = ANY(%(chosen)s)
      OR m.id IN (SELECT member_id FROM here))
)
-- ... and, when the unit's reserve is asked for, everybody of their units and forces.
SELECT m.id, m.code, m.name, m.phone, m.force, m.roles, m.travel_mode, m.unit_id, u.name, u.kind, u.community_id,
       ST_X(m.home), ST_Y(m.home), ST_X(m.duty_post), ST_Y(m.duty_post),
       ST_X(pos.point), ST_Y(pos.point), pos.recorded_at,
       s.member_id IS NOT NULL, ST_X(s.post), ST_Y(s.post),
       COALESCE(busy.n, 0), m.id IN (SELECT member_id FROM here), served.grids, u.id IN (SELECT unit_id FROM handed),
       m.id IN (SELECT id FROM named)
FROM dispatch_member m
-- Each member's unit by its key (OFFSET 0: a lookup per member, never flattened into a join that the
-- planner, costing random reads at random_page_cost's default, answers by hashing every unit of
-- the city — 20,900 of them — for a few hundred members; likewise in `named` above).
CROSS JOIN LATERAL (SELECT u.id, u.name, u.kind, u.community_id FROM dispatch_unit u WHERE u.id = m.unit_id
                    OFFSET 0) u
LEFT JOIN served ON served.member_id = m.id
LEFT JOIN dispatch_memberposition pos ON pos.member_id = m.id
-- The member's shift covering the instant (a member's shifts never overlap: at most one), looked up
-- per member on the exclusion constraint's GiST index (member, half-open range) — not every shift of
-- every sub-district covering the instant (tens of thousands in a city), which a subquery would read.
LEFT JOIN LATERAL (SELECT ds.member_id, ds.post FROM dispatch_dutyshift ds
                   WHERE ds.member_id = m.id AND tstzrange(ds.starts_at, ds.ends_at, '[)') @> %(at)s::timestamptz
                   LIMIT 1) s ON true
-- Live orders on cases still handled on site, from the few open cases.
LEFT JOIN (SELECT o.member_id, count(*) AS n
           FROM incidents_incident i JOIN dispatch_dispatchorder o ON o.incident_id = i.id
           WHERE i.subdistrict_id = %(sub)s AND i.status IN ('new', 'dispatched', 'arrived', 'reported')
             AND o.state IN ('dispatched', 'accepted', 'arrived')
           GROUP BY o.member_id) busy ON busy.member_id = m.id
WHERE m.subdistrict_id = %(sub)s AND m.active AND (
       m.id IN (SELECT id FROM named)
    OR (%(reserve)s AND (m.unit_id, m.force) IN (SELECT unit_id, force FROM named)))
"""


@dataclass(eq=False)
class _Row:
    id: int
    code: str
    name: str
    phone: str
    force: str
    roles: list[str]
    mode: str
    unit_id: int
    unit_name: str
    unit_kind: str
    unit_community_id: int | None
    home: tuple[float, float]
    duty_post: tuple[float, float] | None
    position: tuple[float, float] | None
    position_at: datetime | None
    on_duty: bool
    shift_post: tuple[float, float] | None
    load: int
    here: bool
    grids: set[int]
    handed: bool
    named: bool  # named by a rule's target (else only fetched as a unit's reserve)

    @classmethod
    def from_db(cls, r) -> _Row:
        def pt(x, y):
            return (x, y) if x is not None else None
        return cls(id=r[0], code=r[1], name=r[2], phone=r[3], force=r[4], roles=list(r[5] or []), mode=r[6],
                   unit_id=r[7], unit_name=r[8], unit_kind=r[9], unit_community_id=r[10], home=(r[11], r[12]),
                   duty_post=pt(r[13], r[14]), position=pt(r[15], r[16]), position_at=r[17], on_duty=bool(r[18]),
                   shift_post=pt(r[19], r[20]), load=int(r[21]), here=bool(r[22]), grids=set(r[23] or []),
                   handed=bool(r[24]), named=bool(r[25]))


def _fetch_members(params: dict) -> list[_Row]:
    with connection.cursor() as cur:
        return [_Row.from_db(r) for r in _run(cur, "gridlink_rec_members", _MEMBERS_SQL, params, generic=True)]


@dataclass(eq=False)
class _Match:
    """A member matched by a rule, before ranking."""

    row: _Row
    rule: ResponsibilityRule | None
    relation: str
    note: tuple | None  # the relation in words, translated when shown: (lazy template, arguments)
    deadline: int | None  # minutes; None: no deadline binds them
    level: int


def _member_filters(rules: list[ResponsibilityRule], *, ctx: _Context, incident, chosen: list[int]) -> dict:
    """The parameters of _MEMBERS_SQL selecting (a superset of) the members the rules target;
    `_row_matches` decides exactly. Empty lists select nothing."""
    p: dict = {"forces": set(), "grid_forces": set(), "unit_kinds": set(), "leader_roles": set(),
               "security_director": Role.SECURITY_DIRECTOR.value, "community": None, "place": None,
               "handovers": False, "chosen": list(chosen),
               "reserve": any(r.target == T.UNIT_RESERVE for r in rules)}
    for rule in rules:
        if rule.target == T.FORCE and rule.force:
            p["forces"].add(rule.force)
        elif rule.target in (T.GRID_STAFF, T.NEIGHBOUR_GRID_STAFF) and rule.force:
            p["grid_forces"].add(rule.force)
        elif rule.target == T.SECURITY_DIRECTOR and ctx.grid is not None:
            p["community"] = ctx.grid.community_id
        elif rule.target == T.PLACE_CONTACT:
            p["place"] = incident.place_id
        elif rule.target == T.UNIT_KIND and rule.unit_kind:
            p["unit_kinds"].add(rule.unit_kind)
        elif rule.target == T.UNIT_KIND:  # the department concerned
            p["unit_kinds"].update(department_kinds(incident.description))
            p["handovers"] = True
        elif rule.target == T.LEADERS:
            p["leader_roles"].update([rule.role] if rule.role else [Role.PRINCIPAL_LEADER, Role.RESPONSIBLE_LEADER])
    return {k: sorted(str(x) for x in v) if isinstance(v, set) else v for k, v in p.items()}


def _row_matches(rule: ResponsibilityRule, row: _Row, ctx: _Context, p: dict) -> tuple[str, tuple | None] | None:
    """(relation, words) when the member is one the rule targets, else None."""
    if rule.role and rule.role not in row.roles:
        return None
    if rule.force and row.force != rule.force and rule.target not in (T.UNIT_KIND, T.UNIT_RESERVE):
        return None
    if rule.target == T.FORCE:
        return "force", None
    if rule.target == T.GRID_STAFF:
        if ctx.grid and ctx.grid.id in row.grids:
            return "own_grid", (_N_GRID, {"grid": ctx.grid.name})
        for g in ctx.backups:
            if g.id in row.grids:
                return "backup_grid", (_N_BACKUP, {"grid": g.name})
        return None
    if rule.target == T.NEIGHBOUR_GRID_STAFF:
        for g in ctx.neighbours:
            if g.id in row.grids:
                return "neighbour_grid", (_N_NEIGHBOUR, {"grid": g.name})
        return None
    if rule.target == T.SECURITY_DIRECTOR:
        if ctx.grid and Role.SECURITY_DIRECTOR in row.roles and row.unit_community_id == ctx.grid.community_id:
            return "community", (_N_DIRECTOR, {"community": ctx.grid.community_name})
        return None
    if rule.target == T.PLACE_CONTACT:
        if p.get("contact_id") == row.id:
            return "place", (_N_CONTACT, {"place": p.get("place_name") or row.unit_name})
        return None
    if rule.target == T.UNIT_KIND:
        if rule.unit_kind:
            return ("unit", None) if row.unit_kind == rule.unit_kind else None
        if row.handed or row.unit_kind in p["department_kinds"]:
            return "department", (_N_DEPARTMENT, {"unit": row.unit_name})
        return None
    if rule.target == T.LEADERS:
        if Role.PRINCIPAL_LEADER in row.roles or Role.RESPONSIBLE_LEADER in row.roles:
            return "leaders", None
        return None
    return None


# How a member relates to the case, in words (translated only for the candidates shown).
_N_GRID = gettext_lazy("grid %(grid)s")
_N_BACKUP = gettext_lazy("backup: the point lies on the border with grid %(grid)s")
_N_NEIGHBOUR = gettext_lazy("neighbouring grid %(grid)s")
_N_DIRECTOR = gettext_lazy("security director of %(community)s")
_N_CONTACT = gettext_lazy("contact of %(place)s")
_N_DEPARTMENT = gettext_lazy("the department concerned: %(unit)s")
_N_RESERVE = gettext_lazy("reserve of %(unit)s")
_N_CHOSEN = gettext_lazy("chosen by the dispatcher")


# --- positions and travel --------------------------------------------------------------------------

def _origin(row: _Row, at: datetime) -> tuple[tuple[float, float], str, bool]:
    """(lon, lat) the member is ranked from, its source (live, duty_post, home), and whether a
    shared position was there but too old."""
    stale_after = timedelta(minutes=settings.POSITION_STALE_MINUTES)
    if row.position is not None and row.position_at is not None:
        if abs(at - row.position_at) <= stale_after:
            return row.position, "live", False
        stale = True
    else:
        stale = False
    if row.on_duty and row.shift_post is not None:
        return row.shift_post, "duty_post", stale
    if row.duty_post is not None:
        return row.duty_post, "duty_post", stale
    return row.home, "home", stale


# --- the recommendation ------------------------------------------------------------------------------

def incident_facts(*, incident_id: int):
    """The incident as much as a recommendation reads of it, in one plain query
    (an unsaved Incident with its category and place attached; None when there is no such case).
    For reading only: the API's hot path, where building the ORM query cost more than running it."""
    with connection.cursor() as cur:
        cur.execute(_INCIDENT_SQL, [incident_id])
        row = cur.fetchone()
    if row is None:
        return None
    (pk, level, x, y, subdistrict_id, major, description, category_id, code, scope, is_police, place_id, kind,
     place_name, contact_id, reported_at) = row
    incident = Incident(id=pk, level=level, location=Point(x, y, srid=4326) if x is not None else None,
                        subdistrict_id=subdistrict_id, major=major, description=description,
                        category_id=category_id, place_id=place_id, reported_at=reported_at)
    incident.category = Category(id=category_id, code=code, scope=scope, is_police=is_police)
    incident.place = Place(id=place_id, kind=kind, name=place_name, contact_id=contact_id) if place_id else None
    return incident


def recommend(incident, *, at: datetime | None = None, level: int | None = None,
              include_members: list[int] | tuple[int, ...] = (), routes: bool = True) -> Recommendation:
    """The responders proposed for `incident` at `at` (default now) for escalation `level`
    (default the incident's), ranked. `include_members`: members chosen by hand, assessed too
    (on duty, load, travel time) even when no rule names them. `routes`: draw the routes of the
    first candidates (for the map)."""
    at = at or timezone.now()
    level = incident.level if level is None else max(0, int(level))
    if incident.location is None:
        raise DomainError(_("The case has no location yet: place it on the map first."), code="location")
    point = incident.location
    notes: list[str] = []

    # The context query is shaped by the rules cached so far; should the rules have changed in
    # a way that needs more (farther roads, the neighbouring grids), it runs again.
    cached = _rules_cache.get("rules")
    grids_at = getattr(incident, "reported_at", None) or at  # the version in force at the incident's time
    ctx = _context(subdistrict_id=incident.subdistrict_id, point=point, grids_at=grids_at,
                   road_m=_road_radius(cached[1]) if cached else ROAD_RADIUS_GUESS,
                   neighbours=_wants_neighbours(cached[1], level) if cached else True)
    known = _all_rules(ctx.rules_fingerprint)
    all_rules = rules_in_force(level, known)
    wants_neighbours = _wants_neighbours(all_rules, level)
    if _road_radius(known) > ctx.road_radius or (wants_neighbours and not ctx.with_neighbours):
        ctx = _context(subdistrict_id=incident.subdistrict_id, point=point, grids_at=grids_at, road_m=_road_radius(known),
                       neighbours=wants_neighbours)
    rules = [r for r in all_rules if rule_matches(r, category=incident.category, major=incident.major, at=at,
                                                  road_m=ctx.road_m, inside=ctx.inside)]
    if not ctx.inside:
        notes.append(_("The point lies outside the sub-district: hand the case to the neighbouring "
                       "sub-district. Only road-following rules apply here."))
    elif ctx.grid is None:
        notes.append(_("No grid covers this point: grid staff cannot be proposed."))
    if ctx.backups:
        notes.append(_("The point lies on the border of grids %(grids)s: it belongs to %(grid)s (lowest code); "
                       "the other grid's staff are listed as backups.")
                     % {"grids": ", ".join(g.code for g in [cast(GridRef, ctx.grid), *ctx.backups]),
                        "grid": cast(GridRef, ctx.grid).code})  # backups only beside a grid
    if not rules and ctx.inside:
        notes.append(_("No responsibility rule applies to this case: choose the responders by hand."))

    chosen = [int(m) for m in include_members]
    p = _member_filters(rules, ctx=ctx, incident=incident, chosen=chosen)
    p.update({
        "incident": incident.pk, "sub": incident.subdistrict_id, "at": at,
        "grids": [g.id for g in [ctx.grid, *ctx.backups, *ctx.neighbours] if g],
        "department_kinds": department_kinds(incident.description),
    })
    rows = _fetch_members(p)
    place = incident.place if p["place"] is not None else None  # a query unless select_related
    if place is not None and place.kind in PLACE_KINDS_WITH_CONTACT:
        p["contact_id"], p["place_name"] = place.contact_id, place.name

    already = sorted(r.id for r in rows if r.here)
    matches: list[_Match] = []
    for rule in rules:
        if rule.target == T.UNIT_RESERVE:
            continue
        for row in rows:
            if row.here or not row.named:
                continue
            hit = _row_matches(rule, row, ctx, p)
            if hit:
                matches.append(_Match(row, rule, hit[0], hit[1], deadline_of(rule), rule.level))

    target = routing.points_xy([point])[0]
    try:
        graph = routing.graph_for(incident.subdistrict_id)
    except ValueError:  # no roads at all: travel times cannot be given
        graph = None
        notes.append(_("No road network: candidates are ranked by straight-line distance."))
    origins: dict[int, tuple[tuple[float, float], str, bool]] = {}
    seconds: dict[int, float] = {}
    straight: dict[int, float] = {}

    def measure(members: list[_Row]) -> None:
        """Straight-line metres for these members; travel seconds come later, for the pre-filtered."""
        todo = [r for r in members if r.id not in straight]
        if not todo:
            return
        for r in todo:
            origins[r.id] = _origin(r, at)
        xy = routing.to_local(np.array([origins[r.id][0] for r in todo], dtype=float))
        for r, d in zip(todo, np.hypot(*(xy - target).T).tolist(), strict=True):
            straight[r.id] = d

    def travel(members: list[_Row]) -> None:
        todo = {r.id: r for r in members if r.id not in seconds}
        if not todo:
            return
        rows_ = list(todo.values())
        if graph is None:
            times = np.full(len(rows_), np.inf)
        else:
            xy = routing.to_local(np.array([origins[r.id][0] for r in rows_], dtype=float))
            times = graph.seconds_to(target, xy, [r.mode for r in rows_])
        for r, s in zip(rows_, times.tolist(), strict=True):
            seconds[r.id] = s

    limits, default_limit = dict(settings.DISPATCH_LOAD_LIMITS), int(settings.DISPATCH_LOAD_LIMIT)

    def available(r: _Row) -> bool:
        return r.on_duty and r.load < limits.get(r.force, default_limit)

    def prefilter(group: list[_Match], count: int) -> list[_Match]:
        """The nearest by straight line: enough available ones to rank, a few unavailable ones to
        show. Their travel times are computed afterwards, all at once."""
        measure([m.row for m in group])
        group = sorted(group, key=lambda m: (straight[m.row.id], m.row.code))
        k = max(PREFILTER_MIN, PREFILTER_FACTOR * count)
        return [m for m in group if available(m.row)][:k] + [m for m in group if not available(m.row)][:LIST_UNAVAILABLE]

    def rank_key(m: _Match):
        return (0 if available(m.row) else 1, seconds.get(m.row.id, math.inf), straight[m.row.id], m.row.code)

    proposed: dict[int, _Match] = {}
    shown: list[_Match] = []
    by_rule: dict[int, list[_Match]] = defaultdict(list)
    for m in matches:
        by_rule[cast(ResponsibilityRule, m.rule).pk].append(m)  # the matches ranked here come from rules
    measure([m.row for m in matches])
    kept: dict[int, tuple[list[_Match], list[_Match]]] = {}
    for rule in rules:
        group = by_rule.get(rule.pk, [])
        own = [m for m in group if m.relation != "backup_grid"]
        backups = [m for m in group if m.relation == "backup_grid"]
        kept[rule.pk] = (prefilter(own, rule.count) if own else [], prefilter(backups, rule.count) if backups else [])
    travel([m.row for own, backups in kept.values() for m in own + backups])

    leader_proposed = False
    for rule in rules:
        own, backups = kept[rule.pk]
        if not own and not backups:
            continue
        ranked = sorted(own, key=rank_key)
        quota = rule.count
        if rule.target == T.SECURITY_DIRECTOR and leader_proposed:
            quota = 0  # the grid leader's alternative: a grid leader of the grid goes already
        # `count` members matching the rule go: those an earlier rule proposes already count.
        taken = 0
        for m in ranked:
            if taken >= quota:
                break
            if m.row.id in proposed:
                taken += 1
            elif available(m.row):
                proposed[m.row.id] = m
                taken += 1
        if rule.target == T.GRID_STAFF and rule.force == Force.GRID_LEADER and taken:
            leader_proposed = True
        extra_avail = [m for m in ranked if available(m.row) and m.row.id not in proposed][:LIST_EXTRA]
        unavailable = [m for m in ranked if not available(m.row)][:LIST_UNAVAILABLE]
        # The nearest by straight line is always listed, so that the dispatcher sees why it is not
        # the first (a river, a one-way street, a slower mode).
        nearest = [m for m in sorted(ranked, key=lambda m: straight[m.row.id]) if available(m.row)][:1]
        shown.extend([m for m in ranked if proposed.get(m.row.id) is m] + extra_avail + nearest + unavailable)
        if backups:
            shown.extend(sorted(backups, key=rank_key)[:rule.count + LIST_EXTRA])

    # The unit's reserve: members of the units already going (proposed now or dispatched before),
    # of the same force, not yet ordered. Its deadline is never later than the unit's own rule's.
    reserve_rules = [r for r in rules if r.target == T.UNIT_RESERVE]
    if reserve_rules:
        unit_deadline: dict[tuple[int, str], int | None] = {}
        for m in proposed.values():
            key = (m.row.unit_id, m.row.force)
            unit_deadline[key] = _earliest(unit_deadline.get(key, m.deadline), m.deadline)
        for r in rows:
            if r.here:  # a unit already on the case: its member's plan deadline
                unit_deadline.setdefault((r.unit_id, r.force), manual_deadline_minutes(
                    force=r.force, roles=r.roles, at=at, major=incident.major))
        reserve_rows = rows if unit_deadline else []
        for rule in reserve_rules:
            per_unit: dict[tuple[int, str], list[_Match]] = defaultdict(list)
            for row in reserve_rows:
                if row.here or row.id in proposed or (rule.force and row.force != rule.force):
                    continue
                key = (row.unit_id, row.force)
                if key in unit_deadline:
                    per_unit[key].append(_Match(row, rule, "reserve", (_N_RESERVE, {"unit": row.unit_name}),
                                                _earliest(deadline_of(rule), unit_deadline[key]), rule.level))
            groups = [prefilter(group, rule.count) for group in per_unit.values()]
            travel([m.row for group in groups for m in group])
            for group in groups:
                ranked = sorted(group, key=rank_key)
                taken = 0
                for m in ranked:
                    if taken < rule.count and available(m.row) and m.row.id not in proposed:
                        proposed[m.row.id] = m
                        taken += 1
                shown.extend([m for m in ranked if proposed.get(m.row.id) is m]
                             + [m for m in ranked if available(m.row) and m.row.id not in proposed][:1]
                             + [m for m in ranked if not available(m.row)][:1])

    # Members chosen by hand; those no rule names get the plan's deadline for their force and the hour.
    named = {m.row.id for m in shown}
    for row in rows:
        if row.id in chosen and row.id not in named and not row.here:
            ruled = [m for m in matches if m.row.id == row.id]
            if ruled:
                shown.append(min(ruled, key=lambda m: _latest_last(m.deadline)))
            else:
                shown.append(_Match(row, None, "chosen", (_N_CHOSEN, {}), manual_deadline_minutes(
                    force=row.force, roles=row.roles, at=at, major=incident.major), level))
    measure([m.row for m in shown])
    travel([m.row for m in shown])

    candidates = _merge(shown, proposed, matches, at=at, origins=origins, straight=straight, seconds=seconds)
    candidates.sort(key=lambda c: (not c.proposed, not c.available, c.level if c.proposed else 0,
                                   c.travel_seconds if c.travel_seconds is not None else math.inf, c.straight_m,
                                   c.code))
    if routes and graph is not None:
        _draw_routes(graph, target, [c for c in candidates[:ROUTES_MAX] if c.travel_seconds is not None])
    return Recommendation(
        incident_id=incident.pk, at=at, level=level, point=(point.x, point.y), grid=ctx.grid,
        backup_grids=ctx.backups, neighbour_grids=ctx.neighbours if wants_neighbours else [], outside=not ctx.inside,
        rules=rules, candidates=candidates, already_dispatched=already, notes=notes,
    )


def _draw_routes(graph: routing.RoadGraph, target: np.ndarray, candidates: list[Candidate]) -> None:
    """The fastest route of each candidate to the target (`RoadGraph.routes_to`)."""
    if not candidates:
        return
    origins_xy = routing.to_local(np.array([c.origin for c in candidates], dtype=float))
    for c, route in zip(candidates, graph.routes_to(target, origins_xy, [c.mode for c in candidates]), strict=True):
        if route:
            c.route = route


def _merge(shown: list[_Match], proposed: dict[int, _Match], matches: list[_Match], *, at, origins, straight,
           seconds) -> list[Candidate]:
    """One candidate per member: the proposing rule (or the strictest deadline) first, every
    rule that names them in the reason."""
    by_member: dict[int, list[_Match]] = defaultdict(list)
    for m in shown:
        if all(m is not x for x in by_member[m.row.id]):
            by_member[m.row.id].append(m)
    for m in matches:  # other rules naming a shown member add to their reason
        if m.row.id in by_member and all(m.rule is not x.rule for x in by_member[m.row.id]):
            by_member[m.row.id].append(m)
    out = []
    for member_id, ms in by_member.items():
        main = proposed.get(member_id) or min(ms, key=lambda m: (_latest_last(m.deadline), m.level))
        others = [m for m in ms if m is not main]
        row = main.row
        limit = load_limit(row.force)
        origin, source, stale = origins[row.id]
        secs = seconds.get(row.id, math.inf)
        secs = None if not math.isfinite(secs) else round(secs, 1)
        deadline = main.deadline
        reachable = secs is not None and (deadline is None or secs <= deadline * 60)
        reasons = [_rule_words(main)] + [_rule_words(m) for m in others]
        if not row.on_duty:
            reasons.append(_("off duty at this time: not proposed"))
        if row.load >= limit:
            reasons.append(_("at the load limit (%(load)s of %(limit)s live orders): not proposed")
                           % {"load": row.load, "limit": limit})
        if source != "live":
            where = _("duty post") if source == "duty_post" else _("home")
            if stale:
                reasons.append(_("position stale, ranked from %(where)s") % {"where": where})
            else:
                reasons.append(_("no position shared, ranked from %(where)s") % {"where": where})
        if secs is None:
            reasons.append(_("no route on the road network"))
        elif deadline is None:
            reasons.append(_("no arrival deadline at this hour"))
        elif not reachable:
            reasons.append(_("cannot arrive within %(minutes)s min") % {"minutes": deadline})
        out.append(Candidate(
            member_id=row.id, code=row.code, name=row.name, phone=row.phone, force=row.force, roles=row.roles,
            unit_id=row.unit_id, unit_name=row.unit_name, unit_kind=row.unit_kind, mode=row.mode, rule=main.rule,
            relation=main.relation, level=main.level, on_duty=row.on_duty, load=row.load, load_limit=limit,
            position_source=source, position_stale=stale,
            position_recorded_at=row.position_at if row.position is not None else None,
            origin=(round(origin[0], 6), round(origin[1], 6)), straight_m=round(straight[row.id], 1),
            travel_seconds=secs, deadline_minutes=deadline,
            arrive_by=None if deadline is None else at + timedelta(minutes=deadline),
            reachable=reachable, proposed=member_id in proposed, reasons=reasons,
            rules=[m.rule for m in [main, *others] if m.rule is not None],
        ))
    return out


def _rule_words(m: _Match) -> str:
    name = m.rule.name if m.rule is not None else ""
    note = str(m.note[0]) % m.note[1] if m.note else ""
    if note and name:
        return f"{name} ({note})"
    return name or note


def assess_members(incident, *, member_ids: list[int], at: datetime, routes: bool = False) -> dict[int, Candidate]:
    """The chosen members as the recommendation sees them at `at` (on duty, rule, reason,
    deadline, travel time), for the orders of a dispatch. A member already holding a live order on
    the case is left out; a case without a point gets an empty answer (each order then gets the
    plan's deadline, `dispatch.deadlines.manual_deadline_minutes`).
    `routes`: draw each chosen member's fastest road route to the scene (`Candidate.route`, from
    their `origin`; left None when the network cannot reach them or there is no network)."""
    if incident.location is None or not member_ids:
        return {}
    rec = recommend(incident, at=at, include_members=member_ids, routes=False)
    wanted = set(member_ids)
    chosen = {c.member_id: c for c in rec.candidates if c.member_id in wanted}
    drawable = [c for c in chosen.values() if c.travel_seconds is not None]
    if routes and drawable:
        try:
            graph = routing.graph_for(incident.subdistrict_id)
        except ValueError:  # no roads at all
            return chosen
        _draw_routes(graph, routing.points_xy([incident.location])[0], drawable)
    return chosen
