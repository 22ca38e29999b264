"""The year-end assessment (年终综合考评) of every department and village/community.

The plan (四、工作保障 (四)): the linkage's results go into the year-end assessment of each
department and each village/community. `assessment_report(subdistrict=, period=year)` computes,
for the year, per department (reports.ranking.DEPARTMENT_KINDS) and per village/community:

- **On-site work** (orders): dispatched, arrival, timeliness and disposal rates exactly as the
  monthly ranking counts them (reports/ranking.py), over the year; its score is the monthly
  formula (100 × (40 % arrival + 30 % timeliness + 30 % disposal)).
- **Off-site work** (hand-overs: the cases transferred or assigned to the unit, by the local year of
  their creation; those on a case merged into another left out): returned ones are counted but left
  out of the rates (the case went to the wrong office; the command room sends it on).
  受理及时率 = accepted no later than `accept_by` / hand-overs with an acceptance deadline;
  办结率 = completed / hand-overs not returned; 按期办结率 = completed no later than the result
  deadline / hand-overs with a result deadline. Its score = 100 × (30 % acceptance + 40 % completion
  + 30 % on time), an indicator without a denominator dropping out as in the monthly score.
  A village/community's hand-overs are those to its own units.
- **Score** (综合得分): the mean of the two scores weighted by their volumes (orders and hand-overs
  not returned, one each); a unit with only one kind of work has that score; with neither it is
  listed as "no linkage work" and not ranked. Rank: standard competition ranking on the score as
  shown, as the monthly ranking.
- **Cases**: a village/community's cases reported in the year (merged duplicates and cases outside
  the jurisdiction left out, as the year-over-year report counts them); a department's hand-overs.
- **Satisfaction** (满意率, shown, not scored): call-backs that reached the person in the year,
  satisfied or basically satisfied / done — a village/community's by where the case was, a
  department's by the case's unit (its first hand-over not returned, lead first; else the unit of
  the member who arrived first), as the year-over-year report attributes them.
- **Red flags** (流动红旗, villages/communities): the published months of the year in which one
  of its grid leaders held the red flag.

Cost: four statements (orders, hand-overs, cases, call-backs), each on the sub-district and the
year's range, and three small reads (names, publications).
"""

from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from config.db_router import reads_from_replica
from dispatch.models import Unit
from geo.models import Community, Subdistrict
from incidents.models import CallbackTask, Handover
from reports.excel import Column, Sheet
from reports.periods import Period
from reports.ranking import (
    COUNTED_SQL,
    DEPARTMENT_KINDS,
    Counts,
    community_kind_label,
    counted_params,
    kind_label,
    rate,
    rate_grade,
    round_half_up,
    run,
    score_grade,
    score_of,
)

HANDOVER_WEIGHTS = {"acceptance": 0.3, "completion": 0.4, "on_time": 0.3}

_ORDERS_SQL = COUNTED_SQL + """
SELECT CASE WHEN GROUPING(unit_id) = 0 THEN 'unit' ELSE 'community' END, COALESCE(unit_id, community_id),
       count(*), count(*) FILTER (WHERE arrived), count(*) FILTER (WHERE due),
       count(*) FILTER (WHERE timely), count(*) FILTER (WHERE disposed)
FROM counted
GROUP BY GROUPING SETS ((unit_id), (community_id))
"""

_HANDOVERS_SQL = """
SELECT CASE WHEN GROUPING(h.unit_id) = 0 THEN 'unit' ELSE 'community' END, COALESCE(h.unit_id, u.community_id),
       count(*) FILTER (WHERE h.state <> %(returned)s),
       count(*) FILTER (WHERE h.state = %(returned)s),
       count(*) FILTER (WHERE h.state <> %(returned)s AND h.accept_by IS NOT NULL),
       count(*) FILTER (WHERE h.state <> %(returned)s AND h.accept_by IS NOT NULL AND h.decided_at <= h.accept_by),
       count(*) FILTER (WHERE h.state = %(completed)s),
       count(*) FILTER (WHERE h.state <> %(returned)s AND h.deadline IS NOT NULL),
       count(*) FILTER (WHERE h.state = %(completed)s AND h.deadline IS NOT NULL AND h.completed_at <= h.deadline)
FROM incidents_handover h
JOIN dispatch_unit u ON u.id = h.unit_id
JOIN incidents_incident i ON i.id = h.incident_id
WHERE u.subdistrict_id = %(subdistrict)s AND h.created_at >= %(start)s AND h.created_at < %(end)s
  AND i.status <> %(merged)s
GROUP BY GROUPING SETS ((h.unit_id), (u.community_id))
"""

_CASES_SQL = """
SELECT community_id, count(*)
FROM incidents_incident
WHERE subdistrict_id = %(subdistrict)s AND reported_at >= %(start)s AND reported_at < %(end)s
  AND status <> %(merged)s AND NOT outside_jurisdiction
GROUP BY community_id
"""

_SATISFACTION_SQL = """
WITH cb AS (
    SELECT cb.incident_id, cb.satisfaction, i.community_id
    FROM incidents_callbacktask cb
    JOIN incidents_incident i ON i.id = cb.incident_id
    WHERE i.subdistrict_id = %(subdistrict)s AND cb.state = %(done)s
      AND cb.done_at >= %(start)s AND cb.done_at < %(end)s
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
), attributed AS (
    SELECT cb.satisfaction, cb.community_id, COALESCE(handed.unit_id, arrived.unit_id) AS unit_id
    FROM cb LEFT JOIN handed ON handed.incident_id = cb.incident_id
    LEFT JOIN arrived ON arrived.incident_id = cb.incident_id
)
SELECT CASE WHEN GROUPING(unit_id) = 0 THEN 'unit' ELSE 'community' END, COALESCE(unit_id, community_id),
       count(*), count(*) FILTER (WHERE satisfaction IN (%(satisfied)s, %(basically)s))
FROM attributed
GROUP BY GROUPING SETS ((unit_id), (community_id))
"""


@dataclass
class Handovers:
    handled: int = 0  # not returned
    returned: int = 0
    accept_due: int = 0
    accepted_in_time: int = 0
    completed: int = 0
    report_due: int = 0
    completed_in_time: int = 0

    @property
    def rates(self) -> dict[str, float | None]:
        return {"acceptance": rate(self.accepted_in_time, self.accept_due),
                "completion": rate(self.completed, self.handled),
                "on_time": rate(self.completed_in_time, self.report_due)}


@dataclass
class AssessmentRow:
    id: int | None
    code: str
    name: str
    kind: str = ""
    # on-site work: the orders
    dispatched: int = 0
    arrived: int = 0
    due: int = 0
    timely: int = 0
    disposed: int = 0
    arrival_rate: float | None = None
    timeliness_rate: float | None = None
    disposal_rate: float | None = None
    orders_score: float | None = None
    # off-site work: the hand-overs
    handovers: int = 0
    returned: int = 0
    accept_due: int = 0
    accepted_in_time: int = 0
    completed: int = 0
    report_due: int = 0
    completed_in_time: int = 0
    acceptance_rate: float | None = None
    completion_rate: float | None = None
    on_time_rate: float | None = None
    handovers_score: float | None = None
    # context
    cases: int = 0
    callbacks: int = 0
    satisfied: int = 0
    satisfaction_rate: float | None = None
    red_flags: int = 0
    # the assessment
    score: float | None = None
    rank: int | None = None
    grades: dict = field(default_factory=dict)

    def fill(self, orders: Counts, handovers: Handovers, *, cases: int, callbacks: tuple[int, int],
             red_flags: int = 0) -> "AssessmentRow":
        self.dispatched, self.arrived, self.due = orders.dispatched, orders.arrived, orders.due
        self.timely, self.disposed = orders.timely, orders.disposed
        r = orders.rates
        self.arrival_rate, self.timeliness_rate, self.disposal_rate = r["arrival"], r["timeliness"], r["disposal"]
        self.orders_score = score_of(r) if orders.dispatched else None
        h = handovers
        self.handovers, self.returned, self.accept_due = h.handled, h.returned, h.accept_due
        self.accepted_in_time, self.completed = h.accepted_in_time, h.completed
        self.report_due, self.completed_in_time = h.report_due, h.completed_in_time
        hr = h.rates
        self.acceptance_rate, self.completion_rate, self.on_time_rate = hr["acceptance"], hr["completion"], hr["on_time"]
        self.handovers_score = score_of(hr, HANDOVER_WEIGHTS) if h.handled else None
        self.cases = cases
        self.callbacks, self.satisfied = callbacks
        self.satisfaction_rate = rate(self.satisfied, self.callbacks)
        self.red_flags = red_flags
        parts = [(s, n) for s, n in ((self.orders_score, orders.dispatched), (self.handovers_score, h.handled))
                 if s is not None and n]
        self.score = (round_half_up(sum(s * n for s, n in parts) / sum(n for _s, n in parts), 1)
                      if parts else None)
        self.grades = {name: rate_grade(getattr(self, f"{name}_rate")) for name in (
            "arrival", "timeliness", "disposal", "acceptance", "completion", "on_time", "satisfaction")}
        self.grades |= {"orders_score": score_grade(self.orders_score),
                        "handovers_score": score_grade(self.handovers_score), "score": score_grade(self.score)}
        return self

    @property
    def work(self) -> int:
        return self.dispatched + self.handovers


@dataclass
class AssessmentTable:
    rows: list[AssessmentRow]
    no_work: list[AssessmentRow]

    def as_dict(self) -> dict:
        return {"rows": [asdict(r) for r in self.rows],
                "no_work": [{"id": r.id, "code": r.code, "name": r.name, "kind": r.kind, "cases": r.cases}
                            for r in self.no_work]}


@dataclass
class Assessment:
    subdistrict: Subdistrict
    period: Period
    computed_at: datetime
    departments: AssessmentTable
    communities: AssessmentTable
    running: bool  # the year has not ended: provisional

    def as_dict(self) -> dict:
        return {"subdistrict": self.subdistrict.code, "subdistrict_name": self.subdistrict.name,
                "year": self.period.key, "start": self.period.start.isoformat(), "end": self.period.end.isoformat(),
                "computed_at": self.computed_at.isoformat(), "running": self.running,
                "weights": {"orders": {"arrival": 0.4, "timeliness": 0.3, "disposal": 0.3},
                            "handovers": dict(HANDOVER_WEIGHTS)},
                "departments": self.departments.as_dict(), "communities": self.communities.as_dict()}


def _rank(rows: list[AssessmentRow]) -> AssessmentTable:
    """Ranked as the monthly ranking ranks (1, 1, 3 on the score as shown); at an equal score the
    unit with more work (orders and hand-overs) is listed first. Without a score: "no linkage work"."""
    ranked = sorted((r for r in rows if r.score is not None), key=lambda r: (-(r.score or 0), -r.work, r.code))
    for position, row in enumerate(ranked):
        previous = ranked[position - 1] if position else None
        row.rank = previous.rank if previous is not None and previous.score == row.score else position + 1
    return AssessmentTable(ranked, sorted((r for r in rows if r.score is None), key=lambda r: r.code))


def _red_flags(subdistrict: Subdistrict, period: Period) -> dict[int, int]:
    """{community id: published months of the year in which one of its grid leaders held the red flag}."""
    from reports.models import RankingPublication

    months: dict[int, int] = {}
    for board in RankingPublication.objects.filter(
            subdistrict=subdistrict, month__gte=period.first_day, month__lte=period.last_day).values_list(
            "board", flat=True):
        for community_id in {row.get("community_id") for row in board.get("red_flag", [])} - {None}:
            months[community_id] = months.get(community_id, 0) + 1
    return months


@reads_from_replica()  # read-only: on the read replica when there is one (config/db_router.py)
def assessment_report(*, subdistrict: Subdistrict, period: Period) -> Assessment:
    """The year's assessment of the departments and the villages/communities (see the module's definitions)."""
    params = counted_params(subdistrict=subdistrict, start=period.start, end=period.end,
                            returned=Handover.State.RETURNED, completed=Handover.State.COMPLETED,
                            done=CallbackTask.State.DONE, satisfied=CallbackTask.Satisfaction.SATISFIED,
                            basically=CallbackTask.Satisfaction.BASICALLY_SATISFIED)
    orders = {(level, key): Counts(*values) for level, key, *values in run(_ORDERS_SQL, params)}
    handovers = {(level, key): Handovers(*values) for level, key, *values in run(_HANDOVERS_SQL, params)}
    cases = dict(run(_CASES_SQL, params))
    callbacks = {(level, key): (n, ok) for level, key, n, ok in run(_SATISFACTION_SQL, params)}
    flags = _red_flags(subdistrict, period)

    departments = []
    for unit in Unit.objects.filter(subdistrict=subdistrict, kind__in=DEPARTMENT_KINDS).order_by("code"):
        h = handovers.get(("unit", unit.pk), Handovers())
        departments.append(AssessmentRow(unit.pk, unit.code, unit.name, unit.kind).fill(
            orders.get(("unit", unit.pk), Counts()), h, cases=h.handled + h.returned,
            callbacks=callbacks.get(("unit", unit.pk), (0, 0))))
    communities = []
    for community in Community.objects.filter(subdistrict=subdistrict).defer("boundary").order_by("code"):
        communities.append(AssessmentRow(community.pk, community.code, community.name, community.kind).fill(
            orders.get(("community", community.pk), Counts()), handovers.get(("community", community.pk), Handovers()),
            cases=cases.get(community.pk, 0), callbacks=callbacks.get(("community", community.pk), (0, 0)),
            red_flags=flags.get(community.pk, 0)))
    return Assessment(subdistrict=subdistrict, period=period, computed_at=timezone.now(),
                      departments=_rank(departments), communities=_rank(communities),
                      running=period.end > timezone.now())


def assessment_sheets(report: dict) -> list[Sheet]:
    heading = _("%(subdistrict)s · year-end assessment · %(year)s") % {
        "subdistrict": report["subdistrict_name"], "year": report["year"]}
    if report.get("running"):
        heading = f"{heading} · {_('to date (the year has not ended)')}"

    def columns(name: str, cases: str, extra: list[Column]) -> list[Column]:
        return [Column(_("Rank")), Column(name), Column(_("Kind")), Column(_("Score"), "float"),
                Column(_("Dispatched"), "int"), Column(_("Arrival rate"), "rate"), Column(_("Timeliness rate"), "rate"),
                Column(_("Disposal rate"), "rate"), Column(_("On-site score"), "float"),
                Column(_("Hand-overs"), "int"), Column(_("Returned"), "int"), Column(_("Accepted in time"), "rate"),
                Column(_("Completion rate"), "rate"), Column(_("Completed on time"), "rate"),
                Column(_("Off-site score"), "float"), Column(cases, "int"), Column(_("Call-backs"), "int"),
                Column(_("Satisfaction rate"), "rate"), *extra]

    def values(r: dict, extra: list, label=kind_label) -> list:
        return [r.get("rank"), r["name"], label(r["kind"]), r.get("score"), r.get("dispatched", 0),
                r.get("arrival_rate"), r.get("timeliness_rate"), r.get("disposal_rate"), r.get("orders_score"),
                r.get("handovers", 0), r.get("returned", 0), r.get("acceptance_rate"), r.get("completion_rate"),
                r.get("on_time_rate"), r.get("handovers_score"), r.get("cases", 0), r.get("callbacks", 0),
                r.get("satisfaction_rate"), *extra]

    departments, communities = report["departments"], report["communities"]
    return [
        Sheet(_("Departments"), heading, columns(_("Department"), _("Cases handed over"), []),
              [values(r, []) for r in departments["rows"] + departments["no_work"]]),
        Sheet(_("Villages and communities"), heading,
              columns(_("Village/community"), _("Cases"), [Column(_("Red flags"), "int")]),
              [values(r, [r.get("red_flags", 0)], community_kind_label)
               for r in communities["rows"] + communities["no_work"]]),
    ]
