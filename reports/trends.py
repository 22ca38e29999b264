"""Year over year (同比), residents' satisfaction (满意率) and the hot-spot layer (热点图).

`year_over_year` computes one year's report for one sub-district; the page (/reports/trends/), its
API (/api/v1/reports/trends/) and its Excel file all show this one result. `heat_map` answers the
hot-spot layer of the wall map and the overview map (/api/v1/reports/heat/).

Definitions (written on the page and in the README):

- **A case counts** in the sub-district's local month of its `reported_at`, in the statistic group
  of its category (`Category.statistic_group`: petition, labour, fire, public order, traffic, and
  "other" for what belongs to none — help requests, work-safety accidents, department
  assistance). The police-type categories (治安警情, 盗窃, 打架斗殴: `Category.is_police`) are
  the public-order group. Left out: duplicates merged into another case (`status = merged`: the
  case they joined counts once) and cases outside the jurisdiction (辖区外, handed to the
  neighbour: not this sub-district's count). Every other case counts, whatever its status.
- **Compared with the same span a year before**: a month that has ended against the same whole
  month last year; the running month against last year's same month up to the same day and time;
  the year to date against last year up to the same instant. A month not begun shows only last
  year's count (its target).
- **Zero-growth target** (零增长): this year's count at most last year's. The change is
  (this − last) / last; with nothing last year it is 0 % when there is nothing this year either,
  else "new" (no percentage) and over target. Colour grades: good — within the target; fair — at
  most GROWTH_FAIR (10 %) over; poor — more, or new.
- **Grids** (the choropleth): counted on the grids of the version in force at the end of the year
  (now, for the current year), so that two years are compared on one map. A case whose recorded
  grid belongs to that version keeps it (intake placed it by its point); any other case is placed
  by its point in that version's grids (on a border the grid with the lowest code, as intake does);
  a case without a point (an assignment form naming only offices) by its recorded grid's code when
  that version has the code; otherwise it is "not placed on a grid" (counted in the totals only).
- **Satisfaction rate** (满意率): of the call-backs that reached the person (`CallbackTask` done),
  the share answering satisfied or basically satisfied (满意 + 基本满意); unreachable call-backs are
  shown but left out of the rate, open ones are not counted. A call-back counts in the local month
  it was made (`done_at`). Grades: good ≥ SATISFACTION_GOOD (90 %), fair ≥ SATISFACTION_FAIR (80 %),
  poor below. A unit with fewer than SATISFACTION_MIN_CALLBACKS (10) call-backs in the year shows
  its rate ungraded, after the others (too few answers to judge a unit by).
- **A case's unit** (for satisfaction by unit): the unit that handled it — the unit of its first
  hand-over not returned (a lead part before the others: the office of an assignment form, the
  police station or department a case was transferred to); without one, the unit of the member who
  arrived first on the scene; without either, "no unit" (settled by the command room itself).
- **Hot spots** (heat map): the cases reported in the last N days (HEAT_DAYS on the map: 7, 30, 90;
  the API takes 1–HEAT_MAX_DAYS), optionally of one category, counted by the rules above and placed
  by their point, snapped to cells of HEAT_CELL_M (25 m) in SQL: each cell is one point at the mean
  position of its cases, weighted by their number.

Cost: the counts, the grids' counts, the grid list and the call-backs are four SQL statements (each
on the sub-district and an indexed time column; about 0.25 s for the demo's two years); the heat map
is one.
"""

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import cast

from django.db import connections, transaction
from django.db.models import Count, Q
from django.db.models.functions import ExtractMonth
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.db_router import read_alias, read_connection, reads_from_replica
from config.errors import DomainError
from config.inputs import ascii_int
from config.roles import STAFF_ROLES
from dispatch.models import Unit
from geo.models import Subdistrict
from geo.selectors import boundary_version_in_force, grid_list
from incidents.models import CallbackTask, Category, Incident, Status
from reports.access import REPORT_ROLES
from reports.excel import Column, Sheet
from reports.periods import Period, month_period

GROWTH_FAIR = 0.10
SATISFACTION_GOOD = 0.90
SATISFACTION_FAIR = 0.80
SATISFACTION_MIN_CALLBACKS = 10  # fewer call-backs of a unit in the year: its rate is shown, not graded
TOTAL = "total"

HEAT_DAYS = (7, 30, 90)
HEAT_DEFAULT_DAYS = 30
HEAT_MAX_DAYS = 365
HEAT_CELL_M = 25
METRES_PER_DEGREE = 111_320.0
# The hot-spot layer is read by the report roles and by the wall's (the staff roles).
HEAT_ROLES = tuple(sorted(set(REPORT_ROLES) | set(STAFF_ROLES)))

SATISFIED = (CallbackTask.Satisfaction.SATISFIED, CallbackTask.Satisfaction.BASICALLY_SATISFIED)


# --- counting rules ----------------------------------------------------------------------------------

def counted_incidents(subdistrict):
    """The cases that count (module docstring): not merged away, not outside the jurisdiction."""
    return (Incident.objects.filter(subdistrict=subdistrict, outside_jurisdiction=False)
            .exclude(status=Status.MERGED))


def year_back(moment: datetime) -> datetime:
    """The same local day and time a year before (29 February → 28 February)."""
    local = timezone.localtime(moment)
    day = local.day if not (local.month == 2 and local.day == 29) else 28
    return timezone.make_aware(local.replace(tzinfo=None, year=local.year - 1, day=day))


# --- values -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    """This year's count against last year's and the zero-growth target."""

    this: int | None  # None: the month has not begun
    last: int
    change: float | None  # (this - last) / last; None when there is no percentage (new, or not begun)
    new: bool  # nothing last year, something this year
    within: bool | None  # within the zero-growth target (None: not begun)
    grade: str  # good, fair, poor; "" when not begun

    @property
    def text(self) -> str:
        """The change as the page prints it: +5.4 %, new, or empty for a month not begun."""
        return change_text(self)


def change_of(this: int | None, last: int) -> Change:
    if this is None:
        return Change(None, last, None, False, None, "")
    if last == 0:
        return Change(this, 0, 0.0 if this == 0 else None, this > 0, this == 0, "good" if this == 0 else "poor")
    change = (this - last) / last
    grade = "good" if this <= last else ("fair" if change <= GROWTH_FAIR + 1e-9 else "poor")
    return Change(this, last, change, False, this <= last, grade)


@dataclass(frozen=True)
class MonthCell:
    month: int
    key: str  # 2026-03
    state: str  # done, running, future
    value: Change


@dataclass(frozen=True)
class GroupTrend:
    code: str  # a statistic group, or "total"
    name: str
    ytd: Change
    months: list[MonthCell]


@dataclass(frozen=True)
class GridTrend:
    code: str
    name: str
    community: str
    value: Change


@dataclass(frozen=True)
class Satisfaction:
    done: int  # call-backs that reached the person
    satisfied: int
    basically: int
    dissatisfied: int
    unreachable: int
    rate: float | None  # (satisfied + basically) / done
    last_rate: float | None  # the same span last year
    change_pp: float | None  # rate - last_rate, in percentage points
    grade: str

    @property
    def rate_text(self) -> str:
        return percent(self.rate)

    @property
    def last_rate_text(self) -> str:
        return percent(self.last_rate)

    @property
    def change_text(self) -> str:
        if self.change_pp is None:
            return ""
        points = round(self.change_pp, 1)
        return _("%(points)s pt") % {"points": "0.0" if points == 0 else f"{points:+.1f}"}


@dataclass(frozen=True)
class SatisfactionMonth:
    month: int
    key: str
    state: str
    value: Satisfaction | None  # None: not begun
    last: Satisfaction  # last year's month (to date for the running month)


@dataclass(frozen=True)
class SatisfactionUnit:
    unit_id: int | None
    name: str
    value: Satisfaction

    @property
    def graded(self) -> bool:
        """Enough call-backs (SATISFACTION_MIN_CALLBACKS) in the year for the rate to be graded."""
        return self.value.done >= SATISFACTION_MIN_CALLBACKS


@dataclass
class Trends:
    subdistrict: str
    subdistrict_name: str
    period: Period
    as_of: datetime  # this year counted until (excluded)
    compared_until: datetime  # last year counted until: the same instant a year before
    generated_at: datetime
    groups: list[GroupTrend]  # the statistic groups, then the total
    grid_version: int | None
    grids: list[GridTrend]
    unplaced: Change
    satisfaction_months: list[SatisfactionMonth]
    satisfaction_total: Satisfaction
    satisfaction_units: list[SatisfactionUnit]
    parameters: dict = field(default_factory=dict)

    @property
    def total(self) -> GroupTrend:
        return self.groups[-1]

    @property
    def graded_units(self) -> list[SatisfactionUnit]:
        return [u for u in self.satisfaction_units if u.graded]

    @property
    def small_units(self) -> list[SatisfactionUnit]:
        return [u for u in self.satisfaction_units if not u.graded]

    @property
    def month_rows(self) -> list[dict]:
        """The by-month table: one row per month, a cell per group (the page's layout)."""
        return [{"month": self.groups[0].months[index].month, "key": self.groups[0].months[index].key,
                 "state": self.groups[0].months[index].state,
                 "cells": [group.months[index].value for group in self.groups]}
                for index in range(12)]

    def as_dict(self) -> dict:
        return {
            "subdistrict": self.subdistrict, "subdistrict_name": self.subdistrict_name, "year": self.period.key,
            "start": self.period.start, "end": self.period.end, "as_of": self.as_of,
            "compared_until": self.compared_until, "generated_at": self.generated_at,
            "parameters": self.parameters,
            "groups": [asdict(g) for g in self.groups],
            "grid_version": self.grid_version,
            "grids": [asdict(g) for g in self.grids],
            "unplaced": asdict(self.unplaced),
            "satisfaction": {
                "total": asdict(self.satisfaction_total),
                "months": [asdict(m) for m in self.satisfaction_months],
                "units": [asdict(u) for u in self.satisfaction_units],
            },
        }


def group_names() -> dict[str, str]:
    names = {code: str(label) for code, label in Category.StatisticGroup.choices}
    names[TOTAL] = _("All cases")
    return names


def _month_key(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def _month_states(period: Period, as_of: datetime) -> list[str]:
    states = []
    for month in range(1, 13):
        span = month_period(date(period.first_day.year, month, 1))
        states.append("done" if span.end <= as_of else ("running" if span.start < as_of else "future"))
    return states


def _cut(period: Period, now: datetime | None) -> tuple[datetime, datetime]:
    now = now or timezone.now()
    if period.start > now:
        raise DomainError(_("The year %(year)s has not begun yet.") % {"year": period.key}, code="year")
    as_of = min(now, period.end)
    return as_of, year_back(as_of)


# --- the year-over-year report -----------------------------------------------------------------------

@reads_from_replica()  # read-only: on the read replica when there is one (config/db_router.py)
def year_over_year(*, subdistrict: Subdistrict, period: Period, now: datetime | None = None) -> Trends:
    """One year of a sub-district against the year before (module docstring)."""
    as_of, compared_until = _cut(period, now)
    last = period.same_last_year()
    states = _month_states(period, as_of)
    names = group_names()
    groups = [code for code, _label in Category.StatisticGroup.choices]

    # this: this year to date; full: last year's whole month; to_date: last year until compared_until.
    counts: dict[tuple[str, int], dict[str, int]] = {}
    rows = (counted_incidents(subdistrict).filter(reported_at__gte=last.start, reported_at__lt=as_of)
            .annotate(month=ExtractMonth("reported_at", tzinfo=timezone.get_default_timezone()))
            .values("category__statistic_group", "month")
            .annotate(this=Count("id", filter=Q(reported_at__gte=period.start)),
                      full=Count("id", filter=Q(reported_at__lt=last.end)),
                      to_date=Count("id", filter=Q(reported_at__lt=compared_until)))
            .order_by())
    for row in rows:
        for key in ((row["category__statistic_group"], row["month"]), (TOTAL, row["month"])):
            bucket = counts.setdefault(key, {"this": 0, "full": 0, "to_date": 0})
            for name in ("this", "full", "to_date"):
                bucket[name] += row[name]

    trends = []
    for code in [*groups, TOTAL]:
        months = []
        for month, state in enumerate(states, start=1):
            bucket = counts.get((code, month), {"this": 0, "full": 0, "to_date": 0})
            if state == "future":
                value = change_of(None, bucket["full"])
            elif state == "running":
                value = change_of(bucket["this"], bucket["to_date"])
            else:
                value = change_of(bucket["this"], bucket["full"])
            months.append(MonthCell(month, _month_key(period.first_day.year, month), state, value))
        ytd = change_of(sum(counts.get((code, m), {}).get("this", 0) for m in range(1, 13)),
                        sum(counts.get((code, m), {}).get("to_date", 0) for m in range(1, 13)))
        trends.append(GroupTrend(code, names[code], ytd, months))

    version = boundary_version_in_force(subdistrict=subdistrict, at=as_of - timedelta(microseconds=1))
    grids, unplaced = _grid_trends(subdistrict=subdistrict, version=version, period=period, as_of=as_of,
                                   last=last, compared_until=compared_until)
    sat_months, sat_total, sat_units = _satisfaction(subdistrict=subdistrict, period=period, as_of=as_of,
                                                     last=last, compared_until=compared_until, states=states)
    return Trends(
        subdistrict=subdistrict.code, subdistrict_name=subdistrict.name, period=period, as_of=as_of,
        compared_until=compared_until, generated_at=timezone.now(), groups=trends,
        grid_version=version.number if version else None, grids=grids, unplaced=unplaced,
        satisfaction_months=sat_months, satisfaction_total=sat_total, satisfaction_units=sat_units,
        parameters={"growth_fair": GROWTH_FAIR, "satisfaction_good": SATISFACTION_GOOD,
                    "satisfaction_fair": SATISFACTION_FAIR, "satisfaction_min_callbacks": SATISFACTION_MIN_CALLBACKS},
    )


def _no_jit(cursor) -> None:
    """PostgreSQL's JIT compiler costs half a second on these statements (their correlated subqueries
    inflate the estimates past jit_above_cost) while they run in tens of milliseconds: off, for the
    transaction only."""
    cursor.execute("SET LOCAL jit = off")


_GRID_SQL = """
WITH cases AS (
    SELECT i.reported_at,
           COALESCE(
               CASE WHEN og.version_id = %(version)s THEN og.code END,
               CASE WHEN i.location IS NOT NULL THEN (
                   SELECT g.code FROM geo_grid g
                   WHERE g.version_id = %(version)s AND ST_Intersects(g.boundary, i.location)
                   ORDER BY g.code LIMIT 1) END,
               (SELECT g.code FROM geo_grid g WHERE g.version_id = %(version)s AND g.code = og.code)
           ) AS code
    FROM incidents_incident i
    LEFT JOIN geo_grid og ON og.id = i.grid_id
    WHERE i.subdistrict_id = %(subdistrict)s AND NOT i.outside_jurisdiction AND i.status <> %(merged)s
      AND ((i.reported_at >= %(this_start)s AND i.reported_at < %(as_of)s)
           OR (i.reported_at >= %(last_start)s AND i.reported_at < %(compared_until)s))
)
SELECT code, count(*) FILTER (WHERE reported_at >= %(this_start)s),
       count(*) FILTER (WHERE reported_at < %(this_start)s)
FROM cases GROUP BY code
"""


def _grid_trends(*, subdistrict, version, period, as_of, last, compared_until) -> tuple[list[GridTrend], Change]:
    """Each grid of `version`, this year to date against last year to the same instant."""
    alias = read_alias()
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        _no_jit(cursor)
        cursor.execute(_GRID_SQL, {
            "version": version.pk if version else None, "subdistrict": subdistrict.pk, "merged": Status.MERGED,
            "this_start": period.start, "as_of": as_of, "last_start": last.start,
            "compared_until": compared_until})
        counts = {code: (this, before) for code, this, before in cursor.fetchall()}
    unplaced = change_of(*counts.pop(None, (0, 0)))
    rows = [GridTrend(g.code, g.name, g.community.name if g.community else "", change_of(*counts.get(g.code, (0, 0))))
            for g in grid_list(version=version)]
    return rows, unplaced


# --- satisfaction ------------------------------------------------------------------------------------

_SATISFACTION_SQL = """
WITH cb AS (
    SELECT cb.incident_id, cb.done_at, cb.state, cb.satisfaction
    FROM incidents_callbacktask cb
    JOIN incidents_incident i ON i.id = cb.incident_id
    WHERE i.subdistrict_id = %(subdistrict)s AND cb.state IN (%(done)s, %(unreachable)s)
      AND ((cb.done_at >= %(this_start)s AND cb.done_at < %(as_of)s)
           OR (cb.done_at >= %(last_start)s AND cb.done_at < %(last_end)s))
), handed AS (
    SELECT DISTINCT ON (h.incident_id) h.incident_id, h.unit_id
    FROM incidents_handover h
    WHERE h.incident_id IN (SELECT incident_id FROM cb) AND h.state <> %(returned)s
    ORDER BY h.incident_id, h.lead DESC, h.created_at, h.id
), arrived AS (
    SELECT DISTINCT ON (o.incident_id) o.incident_id, m.unit_id
    FROM dispatch_dispatchorder o JOIN dispatch_member m ON m.id = o.member_id
    WHERE o.incident_id IN (SELECT incident_id FROM cb) AND o.arrived_at IS NOT NULL
    ORDER BY o.incident_id, o.arrived_at, o.id
)
SELECT cb.done_at >= %(this_start)s AS this_year,
       EXTRACT(MONTH FROM cb.done_at AT TIME ZONE %(tz)s)::int AS month,
       cb.done_at < %(compared_until)s AS last_to_date,
       COALESCE(handed.unit_id, arrived.unit_id) AS unit_id,
       cb.state, cb.satisfaction, count(*)
FROM cb
LEFT JOIN handed ON handed.incident_id = cb.incident_id
LEFT JOIN arrived ON arrived.incident_id = cb.incident_id
GROUP BY 1, 2, 3, 4, 5, 6
"""


class _Tally:
    __slots__ = ("basically", "dissatisfied", "satisfied", "unreachable")

    def __init__(self):
        self.satisfied = self.basically = self.dissatisfied = self.unreachable = 0

    def add(self, state: str, satisfaction: str, n: int) -> None:
        if state == CallbackTask.State.UNREACHABLE:
            self.unreachable += n
        elif satisfaction == CallbackTask.Satisfaction.SATISFIED:
            self.satisfied += n
        elif satisfaction == CallbackTask.Satisfaction.BASICALLY_SATISFIED:
            self.basically += n
        else:
            self.dissatisfied += n

    @property
    def done(self) -> int:
        return self.satisfied + self.basically + self.dissatisfied

    @property
    def rate(self) -> float | None:
        return (self.satisfied + self.basically) / self.done if self.done else None

    def result(self, last: "_Tally | None" = None, *, graded: bool = True) -> Satisfaction:
        rate, last_rate = self.rate, last.rate if last is not None else None
        change = (rate - last_rate) * 100 if rate is not None and last_rate is not None else None
        grade = "" if rate is None or not graded else (
            "good" if rate >= SATISFACTION_GOOD - 1e-9 else "fair" if rate >= SATISFACTION_FAIR - 1e-9 else "poor")
        return Satisfaction(self.done, self.satisfied, self.basically, self.dissatisfied, self.unreachable,
                            rate, last_rate, change, grade)


def _satisfaction(*, subdistrict, period, as_of, last, compared_until, states):
    """By month (against last year's month) and by unit (year to date against last year's same span)."""
    this_months = {m: _Tally() for m in range(1, 13)}
    full_months = {m: _Tally() for m in range(1, 13)}
    to_date_months = {m: _Tally() for m in range(1, 13)}
    this_total, last_total = _Tally(), _Tally()
    this_units: dict[int | None, _Tally] = {}
    last_units: dict[int | None, _Tally] = {}
    alias = read_alias()
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        _no_jit(cursor)
        cursor.execute(_SATISFACTION_SQL, {
            "this_start": period.start, "as_of": as_of, "last_start": last.start, "last_end": last.end,
            "compared_until": compared_until, "tz": timezone.get_default_timezone_name(),
            "subdistrict": subdistrict.pk, "returned": "returned",
            "done": CallbackTask.State.DONE, "unreachable": CallbackTask.State.UNREACHABLE})
        for this_year, month, last_to_date, unit_id, state, satisfaction, n in cursor.fetchall():
            if this_year:
                for tally in (this_months[month], this_total, this_units.setdefault(unit_id, _Tally())):
                    tally.add(state, satisfaction, n)
                continue
            full_months[month].add(state, satisfaction, n)
            if last_to_date:
                for tally in (to_date_months[month], last_total, last_units.setdefault(unit_id, _Tally())):
                    tally.add(state, satisfaction, n)
    months = []
    for month, state in enumerate(states, start=1):
        before = to_date_months[month] if state == "running" else full_months[month]
        value = None if state == "future" else this_months[month].result(before)
        months.append(SatisfactionMonth(month, _month_key(period.first_day.year, month), state, value,
                                        before.result()))
    names = dict(Unit.objects.filter(subdistrict=subdistrict, pk__in=[u for u in this_units if u])
                 .values_list("pk", "name"))
    units = [SatisfactionUnit(unit_id, names.get(unit_id) or _("No unit (settled by the command room)"),
                              tally.result(last_units.get(unit_id), graded=tally.done >= SATISFACTION_MIN_CALLBACKS))
             for unit_id, tally in this_units.items()]
    # The graded units, lowest rate first; then those with too few call-backs, the most first.
    units.sort(key=lambda u: (not u.graded, u.value.rate if u.graded else -u.value.done, u.name))
    return months, this_total.result(last_total), units


# --- Excel -------------------------------------------------------------------------------------------

def _within(value: Change) -> str:
    if value.within is None:
        return ""
    return _("yes") if value.within else _("no")


def change_text(value: Change) -> str:
    if value.this is None:
        return ""
    if value.new:
        return _("new this year")
    percent_change = round(cast(float, value.change) * 100, 1)  # set beside `this` unless new
    return "0.0%" if percent_change == 0 else f"{percent_change:+.1f}%"


def percent(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.1f}%"


def trends_sheets(trends: Trends) -> list[Sheet]:
    """The report as Excel sheets (reports.excel): the page's numbers under the active language's
    headers — by group, by month, by grid, satisfaction by month and by unit."""
    heading = _("Year over year %(year)s (to %(as_of)s), %(subdistrict)s") % {
        "year": trends.period.key, "as_of": timezone.localtime(trends.as_of).strftime("%Y-%m-%d %H:%M"),
        "subdistrict": trends.subdistrict_name}
    this, last, change, within = _("This year"), _("Last year"), _("Change"), _("Within the zero-growth target")
    rate_cols = [Column(_("Called back"), "int"), Column(_("Satisfied"), "int"), Column(_("Basically satisfied"), "int"),
                 Column(_("Dissatisfied"), "int"), Column(_("Unreachable"), "int"), Column(_("Satisfaction rate"), "rate"),
                 Column(_("Last year's rate"), "rate"), Column(_("Change (points)"), "float")]

    def sat(s: Satisfaction) -> tuple:
        return (s.done, s.satisfied, s.basically, s.dissatisfied, s.unreachable, s.rate, s.last_rate,
                round(s.change_pp, 2) if s.change_pp is not None else None)

    def counts(v: Change) -> tuple:
        return (v.this, v.last, v.change, change_text(v) if v.new else "", _within(v))

    count_cols = [Column(this, "int"), Column(last, "int"), Column(change, "rate"), Column(_("Note")), Column(within)]
    return [
        Sheet(_("By group"), heading, [Column(_("Statistic group")), *count_cols],
              [(g.name, *counts(g.ytd)) for g in trends.groups]),
        Sheet(_("By month"), heading, [Column(_("Month")), Column(_("Statistic group")), *count_cols],
              [(m.key, g.name, *counts(m.value)) for g in trends.groups for m in g.months]),
        Sheet(_("By grid"), heading, [Column(_("Grid code")), Column(_("Grid")), Column(_("Village/community")),
                                      *count_cols],
              [(g.code, g.name, g.community, *counts(g.value)) for g in trends.grids]
              + [("", _("Not placed on a grid"), "", *counts(trends.unplaced))]),
        Sheet(_("Satisfaction by month"), heading, [Column(_("Month")), *rate_cols],
              [(m.key, *sat(m.value)) for m in trends.satisfaction_months if m.value is not None]
              + [(_("Year to date"), *sat(trends.satisfaction_total))]),
        Sheet(_("Satisfaction by unit"), heading, [Column(_("Unit")), *rate_cols],
              [(u.name, *sat(u.value)) for u in trends.satisfaction_units]),
    ]


# --- the hot-spot layer ------------------------------------------------------------------------------

@dataclass(frozen=True)
class HeatMap:
    days: int
    category: str  # a category code, or "" for all
    since: datetime
    until: datetime
    cell_m: int
    cases: int  # the cases drawn
    max_weight: int
    points: list[tuple[float, float, int]]  # [lat, lon, cases], heaviest first

    def as_dict(self) -> dict:
        return {"days": self.days, "category": self.category, "since": self.since, "until": self.until,
                "cell_m": self.cell_m, "cases": self.cases, "max_weight": self.max_weight,
                "points": [list(p) for p in self.points]}


def heat_params(days: str | None, category: str | None) -> tuple[int, Category | None]:
    """`?days=` (1–HEAT_MAX_DAYS, default HEAT_DEFAULT_DAYS) and `?category=` (a category code,
    default all); refused with a message (400) otherwise."""
    number = HEAT_DEFAULT_DAYS
    if days not in (None, ""):
        parsed = ascii_int(days, minimum=1, maximum=HEAT_MAX_DAYS)
        if parsed is None:
            raise DomainError(_("The number of days is a whole number from 1 to %(max)s.") % {"max": HEAT_MAX_DAYS},
                              code="days")
        number = parsed
    chosen = None
    if category not in (None, ""):
        chosen = Category.objects.filter(code=category).first()
        if chosen is None:
            raise DomainError(_("Unknown category %(code)s.") % {"code": category[:40]}, code="category")
    return number, chosen


_HEAT_SQL = """
WITH cell AS (
    SELECT %(cell_m)s / %(m_per_deg)s AS dlat,
           %(cell_m)s / (%(m_per_deg)s * GREATEST(cos(radians(ST_Y(ST_Centroid(s.boundary)))), 0.1)) AS dlon
    FROM geo_subdistrict s WHERE s.id = %(subdistrict)s
)
SELECT round(avg(ST_Y(i.location))::numeric, 6)::float8, round(avg(ST_X(i.location))::numeric, 6)::float8, count(*)
FROM incidents_incident i, cell
WHERE i.subdistrict_id = %(subdistrict)s AND NOT i.outside_jurisdiction AND i.status <> %(merged)s
  AND i.location IS NOT NULL AND i.reported_at >= %(since)s AND i.reported_at < %(until)s
  AND (%(category)s::bigint IS NULL OR i.category_id = %(category)s::bigint)
GROUP BY floor(ST_Y(i.location) / cell.dlat), floor(ST_X(i.location) / cell.dlon)
ORDER BY 3 DESC, 1, 2
"""


@reads_from_replica()  # read-only: on the read replica when there is one (config/db_router.py)
def heat_map(*, subdistrict: Subdistrict, days: int, category: Category | None,
             now: datetime | None = None) -> HeatMap:
    """The cases of the last `days` days (of `category`, or all), aggregated to HEAT_CELL_M cells."""
    until = now or timezone.now()
    since = until - timedelta(days=days)
    with read_connection().cursor() as cursor:
        cursor.execute(_HEAT_SQL, {
            "cell_m": float(HEAT_CELL_M), "m_per_deg": METRES_PER_DEGREE, "subdistrict": subdistrict.pk,
            "merged": Status.MERGED, "since": since, "until": until,
            "category": category.pk if category else None})
        points = [(lat, lon, n) for lat, lon, n in cursor.fetchall()]
    return HeatMap(days=days, category=category.code if category else "", since=since, until=until,
                   cell_m=HEAT_CELL_M, cases=sum(p[2] for p in points),
                   max_weight=max((p[2] for p in points), default=0), points=points)


def heat_categories() -> list[dict]:
    """The category filter of the layer: every category in the catalogue's order."""
    return [{"code": c.code, "name": c.display_name()} for c in Category.objects.order_by("sort_order", "code")]


# Words of the layer's control (handed to static/gridlink/heat.js).
HEAT_TEXT = {
    "layer": gettext_lazy("Hot spots"),
    "days": gettext_lazy("Last %(days)s days"),
    "period": gettext_lazy("Period"),
    "category": gettext_lazy("Category"),
    "allCategories": gettext_lazy("All categories"),
    "cases": gettext_lazy("%(cases)s cases"),
    "loading": gettext_lazy("Loading…"),
    "failed": gettext_lazy("The hot spots could not be loaded."),
    "none": gettext_lazy("No case in this period."),
}

