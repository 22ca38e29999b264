"""The monthly ranking of the grid leaders (网格长联动治理排名), computed (selectors).

`ranking_board(subdistrict=, period=)` computes one sub-district's month — the grid leaders ranked by
arrival, timeliness and disposal, the rotating red flag (流动红旗), the red and black list (红黑榜),
and the same indicators by village/community, by department and by unit — as a `RankingBoard`
(`.as_dict()` is the API's JSON, what a publication stores, and what the page and the Excel file
are drawn from). `ranking_shown` answers what the page and the API show: the month's publication
when there is one (never recomputed), else the live board.

Definitions (the same words are on the page and in the README, "Monthly ranking, compliance and
year-end assessment"):

- **Grid leaders** (网格长): the sub-district's members of the force `grid_leader`, or holding the
  role `grid_leader` or `security_director` (治保主任, who are grid leaders too: the plan's 52 of
  whom 13 are security directors). Every active one is listed; one with no order in the month is
  listed as "no orders" and not ranked.
- **The month of an order** is the local month (Asia/Shanghai) of its `dispatched_at`.
- **Dispatched** (派单, the denominator): every order of the month, except (a) orders on a case
  merged into another (the duplicate's orders are stood down; its case counts once, in the case it
  joined) and (b) orders stood down before they were due — the command room called them off, or
  the case was resolved, transferred or closed by others, while the member was still within the
  deadline (an order without a deadline stood down: also left out). An order stood down *after* its
  deadline had passed counts: dispatched, not arrived (the member was late when called off). A
  declined order counts: dispatched, not arrived. An order still on the way when the board is
  computed counts as not arrived (yet): the running month is provisional and cannot be published.
  Orders of a transferred case count as they stand.
- **Arrived** (到场): the order has an arrival (`arrived_at`). 到场率 = arrived / dispatched.
- **In time** (及时): arrived no later than the order's deadline (`arrived_at <= arrive_by`).
  及时率 = in time / dispatched orders *with* a deadline: an order without one (a community grid
  leader called after 21:30, the plan's "no deadline at night") counts in arrival and disposal, not
  in timeliness.
- **Disposed** (处置): the member arrived and the case is resolved when the board is computed
  (`resolved_at` set: resolved on site, or completed by the offices it was handed to; a case
  reopened is not resolved until it is resolved again). 处置率 = disposed / dispatched. An order the
  member did not arrive on is never disposed by them, whoever resolved the case.
- **Score** (综合得分) = 100 × (40 % × 到场率 + 30 % × 及时率 + 30 % × 处置率), rounded half up to
  one decimal (`WEIGHTS`). Without any order with a deadline, timeliness drops out and the other
  two weights are scaled to 100 % (4/7 and 3/7).
- **Rank**: standard competition ranking (1, 1, 3) on the score as shown (one decimal): equal
  scores share the rank. **The red flag** goes to the leader ranked first; among several ranked
  first, to the one with the most orders in the month (the same score over more work); still
  equal, they share it.
- **Red list** (红榜): the five best by score, at an equal score the one with more orders first.
  **Black list** (黑榜): the five lowest of the others, at an equal score the one with more orders
  (more failed) first. A tie with the fifth on both lists everyone tied. Each black-list entry
  names its cause: the weakest indicator (the one furthest below the rate of all grid leaders
  together; none below: the lowest) and the orders behind it — the case numbers not arrived,
  arrived late and not resolved.
- **Change**: against the month before — its publication when there is one (what was announced),
  else computed now the same way; rank change = last month's rank − this month's (positive: up).
- **By village/community**: the orders of every member of the community's units (its grid
  leaders). **By department** (部门): the units of `DEPARTMENT_KINDS` — the sub-district's offices
  (职能科室) and the seconded stations and squads (下沉站所: police station, grid squad, safety
  enforcement, traffic, labour, urban management, judicial, market, environment, fire, traffic
  police, transport, road, housing, building). **By unit**: every unit whose members had orders,
  social forces included (property companies, sites, enterprises, business parks). A member's
  orders count for the unit they belong to now.
- **Grades**: a rate is good from `RATE_GOOD` (90 %), fair from `RATE_FAIR` (75 %), poor below; a
  score good from 90, fair from 75 (`SCORE_GOOD`, `SCORE_FAIR`), on the value as shown.

Cost: one SQL statement aggregates the month and the month before for every member, unit,
community and the totals (GROUPING SETS over the orders of the sub-district's members dispatched
in the two months: the index on (member, dispatched_at) serves it), one more lists the black list's
orders, and three small ones read the names.
"""

import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import cast

from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from config.db_router import read_alias, reads_from_replica
from dispatch.models import DispatchOrder, Force, Member, Role, Unit
from geo.models import Community, Subdistrict
from incidents.models import Status
from reports.excel import Column, Sheet
from reports.periods import Period

WEIGHTS = {"arrival": 0.4, "timeliness": 0.3, "disposal": 0.3}
INDICATORS = ("arrival", "timeliness", "disposal")
RATE_GOOD, RATE_FAIR = 0.90, 0.75
SCORE_GOOD, SCORE_FAIR = 90.0, 75.0
LIST_SIZE = 5  # the red and the black list: five each (more on a tie at the fifth place)
FORMULA = "100 × (0.4 × arrival + 0.3 × timeliness + 0.3 × disposal)"

LEADER_FORCES = (Force.GRID_LEADER,)
LEADER_ROLES = (Role.GRID_LEADER, Role.SECURITY_DIRECTOR)
K = Unit.Kind
DEPARTMENT_KINDS = (
    K.SUBDISTRICT_OFFICE, K.POLICE_STATION, K.GRID_SQUAD, K.SAFETY_ENFORCEMENT, K.TRAFFIC_STATION,
    K.LABOUR_SECURITY, K.URBAN_MANAGEMENT, K.JUDICIAL_OFFICE, K.MARKET_SUPERVISION, K.ENVIRONMENT_OFFICE,
    K.FIRE_SQUAD, K.TRAFFIC_POLICE, K.TRANSPORT_OFFICE, K.ROAD_ADMINISTRATION, K.HOUSING_OFFICE, K.BUILDING_STATION,
)

# Outcome bits of one counted order (a publication keeps them to tell what changed since).
ARRIVED, DUE, TIMELY, DISPOSED = 1, 2, 4, 8


def leader_q() -> Q:
    """The members who are grid leaders (the ORM form of the SQL below)."""
    return Q(force__in=LEADER_FORCES) | Q(roles__overlap=list(LEADER_ROLES))


# --- the counted orders: one definition for the ranking, the compliance and the assessment ----------

# Every order of the sub-district's members dispatched in [since, end), less those the definitions
# leave out (merged cases; stood down before they were due), with its outcome. `this_period` splits
# the month from the month before (since = the previous month's start) when both are read at once.
COUNTED_SQL = """
WITH counted AS MATERIALIZED (
    SELECT o.id, o.member_id, m.unit_id, u.community_id, i.grid_id, i.number, o.state, o.dispatched_at,
           o.arrive_by, o.arrived_at, o.arrival_distance_m, o.arrival_flagged,
           o.dispatched_at >= %(start)s AS this_period,
           (m.force = ANY(%(leader_forces)s::varchar[]) OR m.roles && %(leader_roles)s::varchar[]) AS leader,
           o.arrived_at IS NOT NULL AS arrived,
           o.arrive_by IS NOT NULL AS due,
           (o.arrive_by IS NOT NULL AND o.arrived_at IS NOT NULL AND o.arrived_at <= o.arrive_by) AS timely,
           (o.arrived_at IS NOT NULL AND i.resolved_at IS NOT NULL) AS disposed
    FROM dispatch_dispatchorder o
    JOIN dispatch_member m ON m.id = o.member_id
    JOIN dispatch_unit u ON u.id = m.unit_id
    JOIN incidents_incident i ON i.id = o.incident_id
    WHERE m.subdistrict_id = %(subdistrict)s
      AND o.dispatched_at >= %(since)s AND o.dispatched_at < %(end)s
      AND i.status <> %(merged)s
      AND NOT (o.state = %(stood_down)s AND (o.arrive_by IS NULL OR o.stood_down_at <= o.arrive_by))
)
"""

_BOARD_SQL = COUNTED_SQL + """
SELECT this_period,
       CASE WHEN GROUPING(member_id) = 0 THEN 'member' WHEN GROUPING(unit_id) = 0 THEN 'unit'
            WHEN GROUPING(community_id) = 0 THEN 'community' WHEN GROUPING(leader) = 0 THEN 'leaders'
            ELSE 'all' END AS level,
       COALESCE(member_id, unit_id, community_id) AS key, leader,
       count(*), count(*) FILTER (WHERE arrived), count(*) FILTER (WHERE due),
       count(*) FILTER (WHERE timely), count(*) FILTER (WHERE disposed), NULL::jsonb AS outcomes
FROM counted
GROUP BY GROUPING SETS ((this_period, member_id), (this_period, unit_id), (this_period, community_id),
                        (this_period, leader), (this_period))
UNION ALL
SELECT true, 'outcomes', NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       jsonb_object_agg(id::text, arrived::int + 2 * due::int + 4 * timely::int + 8 * disposed::int)
FROM counted WHERE this_period AND %(with_outcomes)s
"""

_OUTCOMES_SQL = COUNTED_SQL + """
SELECT jsonb_object_agg(id::text, arrived::int + 2 * due::int + 4 * timely::int + 8 * disposed::int)
FROM counted WHERE this_period
"""

_FAILURES_SQL = COUNTED_SQL + """
SELECT member_id, number, state, arrive_by, arrived_at, arrived, due, timely, disposed
FROM counted
WHERE this_period AND member_id = ANY(%(members)s)
  AND NOT (arrived AND (timely OR NOT due) AND disposed)
ORDER BY member_id, dispatched_at, id
"""


def counted_params(*, subdistrict: Subdistrict, start: datetime, end: datetime, since: datetime | None = None,
                   **more) -> dict:
    return {"subdistrict": subdistrict.pk, "start": start, "since": since or start, "end": end,
            "leader_forces": list(LEADER_FORCES), "leader_roles": list(LEADER_ROLES),
            "merged": Status.MERGED, "stood_down": DispatchOrder.State.STOOD_DOWN, **more}


def run(sql: str, params: dict) -> list[tuple]:
    """One read statement, JIT off for its transaction (PostgreSQL's JIT costs far more than these
    aggregates take: its estimate is inflated by the joins). On the read replica inside
    `reads_from_replica()` (config/db_router.py)."""
    alias = read_alias()
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        return cursor.fetchall()


def _json(value) -> dict:
    if value is None:
        return {}
    return json.loads(value) if isinstance(value, str) else value


# --- arithmetic ----------------------------------------------------------------------------------------

def round_half_up(value: float, digits: int = 1) -> float:
    scale = 10 ** digits
    return math.floor(value * scale + 0.5 + 1e-9) / scale


def rate(part: int, whole: int) -> float | None:
    """A fraction 0–1 kept to 4 decimals (a percentage to one decimal, as shown); None without a whole."""
    return round_half_up(part / whole, 4) if whole else None


def score_of(rates: dict[str, float | None], weights: dict[str, float] = WEIGHTS) -> float | None:
    """100 × the weighted mean of the rates there are (an indicator without a denominator drops out
    and the others' weights are scaled to 100 %), rounded half up to one decimal."""
    present = {k: (w, rate) for k, w in weights.items() if (rate := rates.get(k)) is not None}
    if not present:
        return None
    total = sum(w for w, _rate in present.values())
    return round_half_up(100 * sum(rate * w for w, rate in present.values()) / total, 1)


def rate_grade(value: float | None) -> str:
    if value is None:
        return ""
    shown = round_half_up(value * 100, 1)
    return "good" if shown >= RATE_GOOD * 100 else "fair" if shown >= RATE_FAIR * 100 else "poor"


def score_grade(value: float | None) -> str:
    if value is None:
        return ""
    return "good" if value >= SCORE_GOOD else "fair" if value >= SCORE_FAIR else "poor"


@dataclass
class Counts:
    dispatched: int = 0
    arrived: int = 0
    due: int = 0  # dispatched with a deadline: timeliness' denominator
    timely: int = 0
    disposed: int = 0

    def add(self, other: "Counts") -> None:
        for name in ("dispatched", "arrived", "due", "timely", "disposed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def rates(self) -> dict[str, float | None]:
        return {"arrival": rate(self.arrived, self.dispatched), "timeliness": rate(self.timely, self.due),
                "disposal": rate(self.disposed, self.dispatched)}


@dataclass
class RankRow:
    """One leader, community, unit or department in a table (JSON: `as_dict`)."""

    id: int | None
    code: str
    name: str
    group: str = ""  # a leader's unit; a unit's kind (code)
    community: str = ""  # a leader's village/community
    community_id: int | None = None
    security_director: bool = False
    kind: str = ""
    dispatched: int = 0
    arrived: int = 0
    due: int = 0
    timely: int = 0
    disposed: int = 0
    arrival_rate: float | None = None
    timeliness_rate: float | None = None
    disposal_rate: float | None = None
    score: float | None = None
    rank: int | None = None
    previous_rank: int | None = None
    previous_score: float | None = None
    rank_change: int | None = None
    score_change: float | None = None
    red_flag: bool = False
    grades: dict = field(default_factory=dict)

    def fill(self, counts: Counts) -> "RankRow":
        self.dispatched, self.arrived, self.due = counts.dispatched, counts.arrived, counts.due
        self.timely, self.disposed = counts.timely, counts.disposed
        rates = counts.rates
        self.arrival_rate, self.timeliness_rate, self.disposal_rate = (
            rates["arrival"], rates["timeliness"], rates["disposal"])
        self.score = score_of(rates) if counts.dispatched else None
        self.grades = {"arrival": rate_grade(self.arrival_rate), "timeliness": rate_grade(self.timeliness_rate),
                       "disposal": rate_grade(self.disposal_rate), "score": score_grade(self.score)}
        return self


def rank_rows(rows: list[RankRow]) -> tuple[list[RankRow], list[RankRow]]:
    """(ranked, without orders): the rows with orders by score (then orders, then code), ranked
    1, 1, 3 on the score as shown."""
    ranked = sorted((r for r in rows if r.dispatched), key=lambda r: (-(r.score or 0), -r.dispatched, r.code))
    for position, row in enumerate(ranked):
        previous = ranked[position - 1] if position else None
        row.rank = previous.rank if previous is not None and previous.score == row.score else position + 1
    idle = sorted((r for r in rows if not r.dispatched), key=lambda r: r.code)
    return ranked, idle


def total_row(counts: Counts, name: str) -> RankRow:
    return RankRow(id=None, code="", name=name).fill(counts)


# --- the board -----------------------------------------------------------------------------------------

@dataclass
class RankTable:
    rows: list[RankRow]
    no_orders: list[RankRow]
    total: RankRow

    def as_dict(self) -> dict:
        return {"rows": [asdict(r) for r in self.rows],
                "no_orders": [{"id": r.id, "code": r.code, "name": r.name, "group": r.group, "kind": r.kind,
                               "community": r.community} for r in self.no_orders],
                "total": asdict(self.total)}


@dataclass
class RankingBoard:
    """One sub-district's month: every table of the ranking page (JSON: `as_dict`)."""

    subdistrict: Subdistrict
    period: Period
    computed_at: datetime
    previous_key: str
    previous_source: str  # "published" or "computed"
    leaders: RankTable
    communities: RankTable
    departments: RankTable
    units: RankTable
    red_flag: list[RankRow]
    red_list: list[RankRow]
    black_list: list[tuple[RankRow, dict]]
    outcomes: dict[str, int] = field(default_factory=dict)  # only when asked (publishing)

    def as_dict(self) -> dict:
        return {
            "subdistrict": self.subdistrict.code, "subdistrict_name": self.subdistrict.name,
            "month": self.period.key, "first_day": self.period.first_day.isoformat(),
            "last_day": self.period.last_day.isoformat(), "start": self.period.start.isoformat(),
            "end": self.period.end.isoformat(), "computed_at": self.computed_at.isoformat(),
            "previous_month": self.previous_key, "previous_source": self.previous_source,
            "formula": FORMULA, "weights": dict(WEIGHTS),
            "thresholds": {"rate_good": RATE_GOOD, "rate_fair": RATE_FAIR, "score_good": SCORE_GOOD,
                           "score_fair": SCORE_FAIR},
            "list_size": LIST_SIZE,
            "tables": {"leaders": self.leaders.as_dict(), "communities": self.communities.as_dict(),
                       "departments": self.departments.as_dict(), "units": self.units.as_dict()},
            "red_flag": [asdict(r) for r in self.red_flag],
            "red_list": [asdict(r) for r in self.red_list],
            "black_list": [{**asdict(r), "cause": cause} for r, cause in self.black_list],
        }


def _leaders(subdistrict: Subdistrict, with_orders: Iterable[int]) -> list[Member]:
    """The grid leaders to list: the active ones, and any other with orders in the month."""
    return list(Member.objects.filter(subdistrict=subdistrict).filter(leader_q())
                .filter(Q(active=True) | Q(pk__in=list(with_orders)))
                .select_related("unit__community").order_by("code"))


def _counts(rows) -> dict[tuple[bool, str, object], Counts]:
    found: dict[tuple[bool, str, object], Counts] = {}
    for this_period, level, key, leader, n, arrived, due, timely, disposed, _outcomes in rows:
        if level == "outcomes":
            continue
        key = leader if level == "leaders" else key
        found[(this_period, level, key)] = Counts(n, arrived, due, timely, disposed)
    return found


def _tables(subdistrict, counts, this: bool, leaders, units, communities) -> dict[str, RankTable]:
    """The four tables of one month (`this`: the month ranked; else the month before), ranked."""

    def get(level, key) -> Counts:
        return counts.get((this, level, key), Counts())

    leader_rows = [RankRow(
        id=m.pk, code=m.code, name=m.name, group=m.unit.name,
        community=m.unit.community.name if m.unit.community_id else "", community_id=m.unit.community_id,
        security_director=Role.SECURITY_DIRECTOR in (m.roles or []),
    ).fill(get("member", m.pk)) for m in leaders]
    unit_rows = [RankRow(id=u.pk, code=u.code, name=u.name, kind=u.kind, group=u.kind).fill(get("unit", u.pk))
                 for u in units]
    community_rows = [RankRow(id=c.pk, code=c.code, name=c.name, kind=c.kind).fill(get("community", c.pk))
                      for c in communities]
    department_rows = [RankRow(**{**asdict(r), "grades": dict(r.grades)}) for r in unit_rows
                       if r.kind in DEPARTMENT_KINDS]

    active_leaders = {m.pk for m in leaders if m.active}

    def table(rows, total: Counts, name: str) -> RankTable:
        ranked, idle = rank_rows(rows)
        if rows is leader_rows:  # an inactive leader without an order is no longer listed
            idle = [r for r in idle if r.id in active_leaders]
        return RankTable(ranked, idle, total_row(total, name))

    return {
        "leaders": table(leader_rows, get("leaders", True), _("All grid leaders")),
        "communities": table(community_rows, _sum(community_rows), _("All villages/communities")),
        "departments": table(department_rows, _sum(department_rows), _("All departments")),
        "units": table(unit_rows, get("all", None), _("All units")),
    }


def _sum(rows: list[RankRow]) -> Counts:
    total = Counts()
    for row in rows:
        total.add(Counts(row.dispatched, row.arrived, row.due, row.timely, row.disposed))
    return total


def _previous_ranks(previous_board: dict | None, previous_tables: dict[str, RankTable]) -> dict[str, dict]:
    """{table: {id: (rank, score)}} of the month before: as published, else as computed now."""
    if previous_board is not None:
        return {name: {row["id"]: (row.get("rank"), row.get("score")) for row in table.get("rows", [])}
                for name, table in previous_board.get("tables", {}).items()}
    return {name: {row.id: (row.rank, row.score) for row in table.rows} for name, table in previous_tables.items()}


def _apply_change(table: RankTable, previous: dict) -> None:
    for row in table.rows:
        rank, score = previous.get(row.id, (None, None))
        row.previous_rank, row.previous_score = rank, score
        row.rank_change = rank - row.rank if rank is not None and row.rank is not None else None
        row.score_change = (round_half_up(row.score - score, 1) if score is not None and row.score is not None
                            else None)


def _first(rows: list[RankRow], key, size: int) -> list[RankRow]:
    """The first `size` rows by `key`, and every row equal to the last of them on `key` (a tie)."""
    ordered = sorted(rows, key=key)
    if len(ordered) <= size:
        return ordered
    last = key(ordered[size - 1])
    return ordered[:size] + [r for r in ordered[size:] if key(r) == last]


def _lists(leaders: RankTable) -> tuple[list[RankRow], list[RankRow], list[RankRow]]:
    """(red flag, red list, black list) of the ranked leaders. Ties on the score are broken by the
    orders of the month: at an equal score the leader with more orders goes first on the red side
    (more work done as well) and first on the black side (more orders failed); still equal: both."""
    ranked = leaders.rows
    first = [r for r in ranked if r.rank == 1]
    most = max((r.dispatched for r in first), default=0)
    red_flag = [r for r in first if r.dispatched == most]
    for row in red_flag:
        row.red_flag = True
    red_list = _first(ranked, lambda r: (-(r.score or 0), -r.dispatched), LIST_SIZE)
    red_ids = {r.id for r in red_list}
    black = _first([r for r in ranked if r.id not in red_ids], lambda r: ((r.score or 0), -r.dispatched), LIST_SIZE)
    return red_flag, red_list, black


def _cause(row: RankRow, average: RankRow, failures: list[tuple]) -> dict:
    """The weakest indicator (furthest below the sub-district's rate; none below: the lowest) and
    the orders behind each shortfall."""
    own = {"arrival": row.arrival_rate, "timeliness": row.timeliness_rate, "disposal": row.disposal_rate}
    avg = {"arrival": average.arrival_rate, "timeliness": average.timeliness_rate,
           "disposal": average.disposal_rate}
    known = {k: rate for k in INDICATORS if (rate := own[k]) is not None}
    present = list(known)
    below = [k for k in present if (a := avg[k]) is not None and known[k] < a]
    if below:
        weakest = max(below, key=lambda k: (cast(float, avg[k]) - known[k], -INDICATORS.index(k)))
    else:
        weakest = min(present, key=lambda k: (known[k], INDICATORS.index(k))) if present else "arrival"
    not_arrived, late, unresolved = [], [], []
    for _member, number, state, arrive_by, arrived_at, arrived, due, timely, disposed in failures:
        if not arrived:
            not_arrived.append({"number": number, "state": state})
        else:
            if due and not timely:
                late.append({"number": number,
                             "minutes": math.ceil((arrived_at - arrive_by).total_seconds() / 60)})
            if not disposed:
                unresolved.append({"number": number})
    return {"indicator": weakest, "rate": own[weakest], "average": avg[weakest],
            "not_arrived": not_arrived, "late": late, "unresolved": unresolved}


def published_board(*, subdistrict: Subdistrict, period: Period) -> dict | None:
    from reports.models import RankingPublication

    publication = (RankingPublication.objects.filter(subdistrict=subdistrict, month=period.first_day)
                   .only("board").first())
    return publication.board if publication is not None else None


def ranking_board(*, subdistrict: Subdistrict, period: Period, with_outcomes: bool = False) -> RankingBoard:
    """The month's ranking computed now (see the module's definitions). `with_outcomes`: also each
    counted order's outcome bits, from the same statement (what a publication keeps)."""
    now = timezone.now()
    previous = period.previous()
    rows = run(_BOARD_SQL, counted_params(subdistrict=subdistrict, start=period.start, end=period.end,
                                          since=previous.start, with_outcomes=with_outcomes))
    counts = _counts(rows)
    outcomes = next((_json(r[-1]) for r in rows if r[1] == "outcomes"), {}) if with_outcomes else {}
    ordered = {cast(int, key) for (this, level, key) in counts if level == "member" and this}  # member ids
    leaders = _leaders(subdistrict, ordered)
    units = list(Unit.objects.filter(subdistrict=subdistrict).order_by("code"))
    communities = list(Community.objects.filter(subdistrict=subdistrict).defer("boundary").order_by("code"))

    tables = _tables(subdistrict, counts, True, leaders, units, communities)
    previous_board = published_board(subdistrict=subdistrict, period=previous)
    previous_tables = ({} if previous_board is not None
                       else _tables(subdistrict, counts, False, leaders, units, communities))
    for name, ranks in _previous_ranks(previous_board, previous_tables).items():
        if name in tables:
            _apply_change(tables[name], ranks)

    red_flag, red_list, black = _lists(tables["leaders"])
    failures: dict[int, list[tuple]] = {}
    if black:
        for row in run(_FAILURES_SQL, counted_params(subdistrict=subdistrict, start=period.start, end=period.end,
                                                     members=[r.id for r in black])):
            failures.setdefault(row[0], []).append(row)
    average = tables["leaders"].total
    return RankingBoard(
        subdistrict=subdistrict, period=period, computed_at=now, previous_key=previous.key,
        previous_source="published" if previous_board is not None else "computed",
        leaders=tables["leaders"], communities=tables["communities"], departments=tables["departments"],
        units=tables["units"], red_flag=red_flag, red_list=red_list,
        black_list=[(r, _cause(r, average, failures.get(cast(int, r.id), []))) for r in black], outcomes=outcomes,
    )


def ranking_outcomes(*, subdistrict: Subdistrict, period: Period) -> dict[str, int]:
    """{order id: outcome bits} of every order counted in the month, as they stand now."""
    rows = run(_OUTCOMES_SQL, counted_params(subdistrict=subdistrict, start=period.start, end=period.end))
    return _json(rows[0][0]) if rows else {}


def outcomes_changed(published: dict[str, int], now: dict[str, int]) -> int:
    """How many orders count differently now: newly counted, no longer counted, or another outcome."""
    keys = set(published) | set(now)
    return sum(1 for key in keys if published.get(key) != now.get(key))


# --- what the page and the API show ------------------------------------------------------------------

@dataclass
class RankingShown:
    """The month as the page and the API show it: the publication (frozen) when there is one, else the
    live board; `changed`: orders counted differently now than when it was published."""

    board: dict
    published: bool
    published_at: datetime | None = None
    published_by: str = ""
    changed: int | None = None
    publishable: bool = False  # ended and not published yet
    reason: str = ""  # why it cannot be published (yet)

    def as_dict(self) -> dict:
        return {"published": self.published, "published_at": self.published_at, "published_by": self.published_by,
                "changed_since_publication": self.changed, "publishable": self.publishable,
                "not_publishable_because": self.reason, "board": self.board}


def user_name(user) -> str:
    """Who published: their member's name, else their full name, else their login."""
    if user is None:
        return ""
    member = Member.objects.filter(user=user).only("name").first()
    return (member.name if member is not None else "") or user.get_full_name() or user.get_username()


def ranking_shown(*, subdistrict: Subdistrict, period: Period) -> RankingShown:
    from reports.models import RankingPublication

    # The publication on the primary (a page shows one just published); the computations on the read
    # replica when there is one (config/db_router.py: a second of lag is no matter to them).
    publication = (RankingPublication.objects.filter(subdistrict=subdistrict, month=period.first_day)
                   .select_related("published_by").first())
    if publication is not None:
        with reads_from_replica():
            outcomes = ranking_outcomes(subdistrict=subdistrict, period=period)
        return RankingShown(board=publication.board, published=True, published_at=publication.published_at,
                            published_by=user_name(publication.published_by),
                            changed=outcomes_changed(publication.outcomes or {}, outcomes))
    with reads_from_replica():
        board = ranking_board(subdistrict=subdistrict, period=period).as_dict()
    ended = period.end <= timezone.now()
    reason = "" if ended else str(_("The month has not ended: it can be published from %(day)s.")
                                   % {"day": period.end.date().isoformat()})
    return RankingShown(board=board, published=False, publishable=ended, reason=reason)


# --- Excel -------------------------------------------------------------------------------------------------

def kind_label(kind: str) -> str:
    """A unit's kind in the active language."""
    return str(Unit.Kind(kind).label) if kind in Unit.Kind.values else kind


def community_kind_label(kind: str) -> str:
    """A village/community's kind (村 or 社区) in the active language."""
    return str(Community.Kind(kind).label) if kind in Community.Kind.values else kind


def indicator_label(indicator: str) -> str:
    return {"arrival": _("Arrival rate"), "timeliness": _("Timeliness rate"),
            "disposal": _("Disposal rate")}.get(indicator, indicator)


def _rate_columns() -> list[Column]:
    return [Column(_("Dispatched"), "int"), Column(_("Arrived"), "int"), Column(_("With a deadline"), "int"),
            Column(_("Arrived in time"), "int"), Column(_("Disposed"), "int"), Column(_("Arrival rate"), "rate"),
            Column(_("Timeliness rate"), "rate"), Column(_("Disposal rate"), "rate"), Column(_("Score"), "float")]


def _rate_values(row: dict) -> list:
    return [row["dispatched"], row["arrived"], row["due"], row["timely"], row["disposed"], row["arrival_rate"],
            row["timeliness_rate"], row["disposal_rate"], row["score"]]


def _change_values(row: dict) -> list:
    return [row.get("previous_rank"), row.get("rank_change"), row.get("previous_score"), row.get("score_change")]


def _change_columns() -> list[Column]:
    return [Column(_("Rank last month"), "int"), Column(_("Rank change"), "int"),
            Column(_("Score last month"), "float"), Column(_("Score change"), "float")]


def cause_text(cause: dict) -> str:
    """The black list's cause in words: the indicator, then the case numbers behind it."""
    parts = [_("%(indicator)s %(rate)s (all grid leaders %(average)s)") % {
        "indicator": indicator_label(cause["indicator"]), "rate": percent(cause.get("rate")),
        "average": percent(cause.get("average"))}]
    if cause.get("not_arrived"):
        parts.append(_("not arrived: %(cases)s") % {"cases": "、".join(o["number"] for o in cause["not_arrived"])})
    if cause.get("late"):
        parts.append(_("late: %(cases)s") % {"cases": "、".join(
            _("%(number)s (%(minutes)s min)") % o for o in cause["late"])})
    if cause.get("unresolved"):
        parts.append(_("not resolved: %(cases)s") % {"cases": "、".join(o["number"] for o in cause["unresolved"])})
    return "; ".join(parts)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{round_half_up(value * 100, 1):.1f}%"


def ranking_sheets(board: dict, *, published: str = "") -> list[Sheet]:
    """The ranking's Excel sheets, from the board as the page shows it (published or live)."""
    month = board["month"]
    heading = _("%(subdistrict)s · monthly ranking of grid leaders · %(month)s") % {
        "subdistrict": board["subdistrict_name"], "month": month}
    if published:
        heading = f"{heading} · {published}"
    tables = board["tables"]
    leaders = Sheet(_("Grid leaders"), heading, [
        Column(_("Rank")), Column(_("Red flag")), Column(_("Name")), Column(_("Staff number")),
        Column(_("Village/community")), Column(_("Unit")), *_rate_columns(), *_change_columns()],
        [[r["rank"], "★" if r["red_flag"] else "", r["name"], r["code"], r["community"], r["group"],
          *_rate_values(r), *_change_values(r)] for r in tables["leaders"]["rows"]]
        + [["", "", r["name"], r["code"], r["community"], r["group"], 0, 0, 0, 0, 0, None, None, None, None,
            None, None, None, None] for r in tables["leaders"]["no_orders"]]
        + [["", "", tables["leaders"]["total"]["name"], "", "", "", *_rate_values(tables["leaders"]["total"]),
            None, None, None, None]])
    lists = Sheet(_("Red and black list"), heading, [
        Column(_("List")), Column(_("Rank")), Column(_("Name")), Column(_("Village/community")),
        Column(_("Arrival rate"), "rate"), Column(_("Timeliness rate"), "rate"), Column(_("Disposal rate"), "rate"),
        Column(_("Score"), "float"), Column(_("Cause"))],
        [[_("Red list"), r["rank"], r["name"], r["community"], r["arrival_rate"], r["timeliness_rate"],
          r["disposal_rate"], r["score"], ""] for r in board["red_list"]]
        + [[_("Black list"), r["rank"], r["name"], r["community"], r["arrival_rate"], r["timeliness_rate"],
            r["disposal_rate"], r["score"], cause_text(r["cause"])] for r in board["black_list"]])

    def grouped(title: str, name: str, key: str) -> Sheet:
        table = tables[key]
        label = community_kind_label if key == "communities" else kind_label
        return Sheet(title, heading, [Column(_("Rank")), Column(name), Column(_("Kind")), *_rate_columns(),
                                      *_change_columns()],
                     [[r["rank"], r["name"], label(r["kind"]), *_rate_values(r), *_change_values(r)]
                      for r in table["rows"]]
                     + [["", r["name"], label(r["kind"]), 0, 0, 0, 0, 0, None, None, None, None,
                         None, None, None, None] for r in table["no_orders"]]
                     + [["", table["total"]["name"], "", *_rate_values(table["total"]), None, None, None, None]])

    definitions = Sheet(_("Definitions"), heading, [Column(_("Term")), Column(_("Definition"))],
                        [[term, text] for term, text in definitions_text(board)])
    return [leaders, lists, grouped(_("Villages and communities"), _("Village/community"), "communities"),
            grouped(_("Departments"), _("Department"), "departments"), grouped(_("Units"), _("Unit"), "units"),
            definitions]


def definitions_text(board: dict) -> list[tuple[str, str]]:
    """The definitions, in the active language, with the board's own weights and thresholds."""
    w = board.get("weights", WEIGHTS)
    t = board.get("thresholds", {"rate_good": RATE_GOOD, "rate_fair": RATE_FAIR, "score_good": SCORE_GOOD,
                                 "score_fair": SCORE_FAIR})
    return [
        (_("Grid leaders"), _("Members of the grid-leader force or holding the role of grid leader or security "
                              "director; a leader with no order in the month is listed as “no orders”, not ranked.")),
        (_("Month"), _("An order belongs to the month (Asia/Shanghai) in which it was dispatched.")),
        (_("Dispatched"), _("Every order of the month, except orders on a case merged into another and orders stood "
                            "down before they were due (called off by the command room, or the case resolved, "
                            "transferred or closed by others within the deadline; stood down without a deadline: "
                            "left out too). Stood down after the deadline: counted, not arrived. Declined: counted, "
                            "not arrived. Still on the way: not arrived (yet). Orders of a transferred case count "
                            "as they stand.")),
        (_("Arrival rate"), _("Arrived / dispatched.")),
        (_("Timeliness rate"), _("Arrived no later than the order's deadline / dispatched orders with a deadline "
                                 "(an order without a deadline — a village grid leader called after 21:30 — counts "
                                 "in arrival and disposal only).")),
        (_("Disposal rate"), _("Arrived and the case resolved by the time of computing (resolved on site or completed "
                               "by the offices; a reopened case is not resolved) / dispatched.")),
        (_("Score"), _("100 × (%(a)s %% × arrival + %(t)s %% × timeliness + %(d)s %% × disposal), rounded half up to "
                       "one decimal; without an order with a deadline, timeliness drops out and the other weights "
                       "are scaled to 100 %%.") % {"a": round(w["arrival"] * 100), "t": round(w["timeliness"] * 100),
                                                   "d": round(w["disposal"] * 100)}),
        (_("Rank"), _("Standard competition ranking (1, 1, 3) on the score as shown; equal scores share the rank. "
                      "The red flag goes to the leader ranked first; among several ranked first, to the one with "
                      "the most orders in the month; still equal, they share it.")),
        (_("Red and black list"), _("Red list: the five best scores; black list: the five lowest of the others, "
                                    "lowest first; at an equal score the leader with more orders comes first on "
                                    "both, and a tie with the fifth lists everyone tied. Each black-list entry names "
                                    "its weakest indicator (furthest below the rate of all grid leaders) and the "
                                    "case numbers not arrived, late and not resolved.")),
        (_("Change"), _("Against the month before: as published, else computed now; rank change = last month's "
                        "rank − this month's (positive: up).")),
        (_("Villages, departments and units"), _("A village/community: the orders of the members of its units (its "
                                                 "grid leaders). Departments: the sub-district's offices and the "
                                                 "seconded stations and squads. Units: every unit with orders. A "
                                                 "member's orders count for their present unit.")),
        (_("Grades"), _("Rates: good from %(rg)s %%, fair from %(rf)s %%, poor below; scores: good from %(sg)s, fair "
                        "from %(sf)s.") % {"rg": round(t["rate_good"] * 100), "rf": round(t["rate_fair"] * 100),
                                           "sg": round(t["score_good"]), "sf": round(t["score_fair"])}),
    ]
