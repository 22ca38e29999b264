"""The weekly meeting's agenda (周例会): what the service centre's Monday meeting goes through, and
the meeting's decisions recorded as assignment forms.

The plan's 工作保障: every week the meeting hears the hot issues the grids gathered (热点问题),
the cases handed over on site (现场移交案件), the major unstable factors (重大不稳定因素) and
the progress of the tasks it assigned (例会交办任务进度通报); with the interviews' overdue
rectifications (约谈整改) beside them. `weekly_agenda` computes the week's agenda for one
sub-district; the page, its API and its Excel file all show this one result.

Definitions (written on the page and in the README):

- **Hot issues**: repeat incidents of one category close in space and time. The cases of the
  week and the HOT_WINDOW_WEEKS - 1 weeks before it (a 4-week window ending with the week; placed,
  inside the sub-district, not merged into another case) are clustered per category with PostGIS
  `ST_ClusterDBSCAN(... ) OVER (PARTITION BY category_id)` on EPSG:4549 (CGCS2000 Gauss-Kruger
  120°E: metres, the project's projected CRS), with eps HOT_EPS_M (150 m: a block, a residential
  complex's gate, a market) and minpoints HOT_MIN_POINTS (3: a thing reported three times is a
  pattern, not a coincidence). A cluster is a hot issue of the week when at least one of its
  cases falls in the week; it is listed with its category, count (and how many in the week),
  first and last report, centre, spread (the farthest case from the centre, metres), addresses
  and cases, most cases first.
- **Handed over on site, still open**: the on-site flow's transfers (`Handover.Kind.TRANSFER`:
  a case not settled on site handed to the police station, the grid squad or a department) whose
  part is still waiting for the unit's decision (pending) or being worked on (accepted), on a
  case not finished, handed over before the week's end. Overdue: past its `accept_by` while
  pending, past its `deadline` while accepted. Overdue first.
- **Major unstable factors**: cases marked major (`Incident.major`) and cases of the categories
  mass incident (群体性事件) and major sensitive incident (重大敏感警情) — UNSTABLE_CATEGORY_CODES
  of the seeded catalogue — reported in the week, or reported before and not finished yet.
- **Progress of assigned tasks**: the joint-consultation assignment forms (the channels of kind
  `joint_assignment`; the meeting's own decisions are among them) reported before the week's end
  and either not finished or finished in the week. A task's deadline is the form's, else the
  earliest result deadline of its offices' open parts; overdue when not finished past it.
  Overdue first (longest overdue first), then the others by deadline, then those finished.
- **Overdue rectifications**: interviews still open past their rectification deadline.
- **The meeting's decisions**: assignment forms recorded from this agenda (`meeting_decision_record`)
  are taken by the existing off-site intake (`incidents.services.incident_intake` on the
  joint-assignment channel): each is a case of the off-site flow with its offices' parts, deadlines
  and timeline. Its external id names the meeting — MEETING-<sub-district>-<week>-<nn> — so the
  agenda lists this meeting's decisions by their ids on the channel's unique index.

"Finished" is a case the work is done on: resolved on site, completed by its offices, or later
(reported to the command room, fed back, closed); its time is `resolved_at` (or `closed_at` for
a case closed as invalid). "Not finished" is every status before that (FINISHED_STATUSES' complement,
merged cases left out everywhere).

Cost: eight SQL statements (two of them the small category and channel tables), each filtered by
the sub-district and the time window on an index: the hot issues' window by the sub-district's
index ANDed with reported_at's (and projected and clustered in this backend, never in a parallel
worker that would set PROJ up again); the cases not finished by (subdistrict_id, status); the
week's unstable factors by the window again; the tasks finished in the week through the hand-overs
of the sub-district's units (by unit_id); the decisions by the unique (channel_id, external_id).
On a city's history (10 million cases over 190 sub-districts) a call takes a few hundred
milliseconds (README, "Weekly meeting agenda and interviews"). An index (subdistrict_id,
reported_at) on incidents would serve the windows directly; it is not needed for the 2 s.
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from config.db_router import read_connection, reads_from_replica
from config.errors import DomainError, Forbidden
from config.roles import INTAKE_ROLES, has_role
from dispatch.models import Unit
from geo.models import Subdistrict
from incidents.models import Category, Channel, Handover, Incident, Status
from incidents.services import incident_intake
from incidents.validators import clean_text, deadline_check
from reports.access import GOVERNANCE_ROLES
from reports.excel import Column, Sheet
from reports.interviews import target_name
from reports.models import Interview
from reports.periods import Period

HOT_EPS_M = 150
HOT_MIN_POINTS = 3
HOT_WINDOW_WEEKS = 4
HOT_SRID = 4549  # CGCS2000 / 3-degree Gauss-Kruger CM 120E: metres
UNSTABLE_CATEGORY_CODES = ("mass_incident", "major_sensitive")
FINISHED_STATUSES = (Status.RESOLVED, Status.COMPLETED, Status.REPORTED_TO_COMMAND, Status.FED_BACK, Status.CLOSED)
UNFINISHED_STATUSES = tuple(s for s in Status.values if s not in FINISHED_STATUSES and s != Status.MERGED)
DECISIONS_PER_MEETING = 99
DECISION_PREFIX = "MEETING"
# Who records the meeting's decisions: the governance roles that may also take an assignment form in
# (the intake's own rule, config.roles.INTAKE_ROLES) — the command room; a leader reads them.
DECISION_ROLES = tuple(r for r in GOVERNANCE_ROLES if r in INTAKE_ROLES)


# --- the agenda's rows ----------------------------------------------------------------------------

@dataclass(frozen=True)
class CaseRef:
    """A case behind a number: what the row shows and where its page is."""

    id: int
    number: str
    category: str
    category_code: str
    status: str
    status_display: str
    reported_at: datetime
    address: str
    url: str


@dataclass(frozen=True)
class HotSpot:
    category: str
    category_code: str
    count: int
    in_week: int
    first_at: datetime
    last_at: datetime
    lon: float
    lat: float
    radius_m: float
    addresses: list[str]
    cases: list[CaseRef]


@dataclass(frozen=True)
class HandedOver:
    case: CaseRef
    handover: int
    unit: str
    state: str
    state_display: str
    handed_at: datetime
    accept_by: datetime | None
    deadline: datetime | None
    overdue: bool


@dataclass(frozen=True)
class UnstableFactor:
    case: CaseRef
    kinds: list[str]  # major, mass, sensitive
    kinds_display: list[str]
    in_week: bool
    finished: bool
    level: int


@dataclass(frozen=True)
class OfficePart:
    unit: str
    state: str
    state_display: str
    deadline: datetime | None
    overdue: bool


@dataclass(frozen=True)
class Task:
    case: CaseRef
    description: str
    deadline: datetime | None
    overdue: bool
    overdue_days: int
    finished_at: datetime | None
    finished_late: bool
    meeting: str  # the meeting (week) whose decision it is, "" for another assignment form
    offices: list[OfficePart]


@dataclass(frozen=True)
class OverdueRectification:
    interview: int
    target: str
    target_kind: str  # unit, community
    reason: str
    held_at: datetime
    deadline: datetime
    overdue_days: int
    alarmed_at: datetime | None


@dataclass(frozen=True)
class Decision:
    seq: int
    task: Task


@dataclass
class Agenda:
    """The week's agenda of one sub-district (`weekly_agenda`)."""

    subdistrict: str  # code
    subdistrict_name: str
    period: Period
    generated_at: datetime
    window_start: datetime  # the hot issues' window: [window_start, period.end)
    hot_spots: list[HotSpot] = field(default_factory=list)
    handed_over: list[HandedOver] = field(default_factory=list)
    unstable: list[UnstableFactor] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    rectifications: list[OverdueRectification] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """The section's numbers, as the page's headings and the Excel summary show them."""
        return {
            "hot_spots": len(self.hot_spots),
            "hot_spot_cases": sum(h.count for h in self.hot_spots),
            "handed_over": len(self.handed_over),
            "handed_over_overdue": sum(h.overdue for h in self.handed_over),
            "unstable": len(self.unstable),
            "unstable_in_week": sum(u.in_week for u in self.unstable),
            "unstable_unfinished": sum(not u.finished for u in self.unstable),
            "tasks": len(self.tasks),
            "tasks_overdue": sum(t.overdue for t in self.tasks),
            "tasks_unfinished": sum(t.finished_at is None for t in self.tasks),
            "tasks_finished_in_week": sum(t.finished_at is not None for t in self.tasks),
            "rectifications_overdue": len(self.rectifications),
            "decisions": len(self.decisions),
        }

    @property
    def parameters(self) -> dict:
        return {"hot_eps_m": HOT_EPS_M, "hot_min_points": HOT_MIN_POINTS, "hot_window_weeks": HOT_WINDOW_WEEKS,
                "hot_srid": HOT_SRID, "unstable_categories": list(UNSTABLE_CATEGORY_CODES)}

    def as_dict(self) -> dict:
        """The API's answer (datetimes as datetimes: the renderer writes ISO 8601)."""
        return {
            "subdistrict": self.subdistrict, "subdistrict_name": self.subdistrict_name,
            "week": self.period.key, "first_day": self.period.first_day, "last_day": self.period.last_day,
            "start": self.period.start, "end": self.period.end, "window_start": self.window_start,
            "generated_at": self.generated_at, "parameters": self.parameters, "counts": self.counts,
            "hot_spots": [asdict(h) for h in self.hot_spots],
            "handed_over": [asdict(h) for h in self.handed_over],
            "unstable": [asdict(u) for u in self.unstable],
            "tasks": [asdict(t) for t in self.tasks],
            "rectifications": [asdict(r) for r in self.rectifications],
            "decisions": [asdict(d) for d in self.decisions],
        }


# --- computing it -----------------------------------------------------------------------------------

def weekly_agenda(*, subdistrict: Subdistrict, period: Period, now: datetime | None = None) -> Agenda:
    """The agenda of the week `period` for `subdistrict` (the module's docstring), as of `now`
    (default: now) for what is still open and what is overdue."""
    now = now or timezone.now()
    categories = {c.pk: c for c in Category.objects.all()}
    joint = list(Channel.objects.filter(kind=Channel.Kind.JOINT_ASSIGNMENT).values_list("pk", flat=True))
    ctx = _Context(subdistrict=subdistrict, period=period, now=now, categories=categories, joint=joint,
                   url=_case_url_template())
    agenda = Agenda(subdistrict=subdistrict.code, subdistrict_name=subdistrict.name, period=period,
                    generated_at=now, window_start=hot_window_start(period))
    with reads_from_replica():  # the week's reads, on the read replica when there is one (config/db_router.py)
        agenda.hot_spots = _hot_spots(ctx, agenda.window_start)
        agenda.handed_over = _handed_over(ctx)
        agenda.unstable = _unstable(ctx)
        agenda.tasks = _tasks(ctx)
        agenda.rectifications = _rectifications(ctx)
    agenda.decisions = _decisions(ctx)  # on the primary: the page shows a decision just recorded
    return agenda


def meeting_decisions(*, subdistrict: Subdistrict, period: Period, now: datetime | None = None) -> list[Decision]:
    """The decisions recorded for the meeting of `period` (the agenda's last section, alone)."""
    categories = {c.pk: c for c in Category.objects.all()}
    joint = list(Channel.objects.filter(kind=Channel.Kind.JOINT_ASSIGNMENT).values_list("pk", flat=True))
    return _decisions(_Context(subdistrict=subdistrict, period=period, now=now or timezone.now(),
                               categories=categories, joint=joint, url=_case_url_template()))


def _case_url_template() -> str:
    """The case page's URL with "{}" for the id: reversed once per agenda, not once per case."""
    return reverse("console:incident", args=[0]).replace("/0/", "/{}/")


def hot_window_start(period: Period) -> datetime:
    return period.end - timedelta(weeks=HOT_WINDOW_WEEKS)


@dataclass(frozen=True)
class _Context:
    subdistrict: Subdistrict
    period: Period
    now: datetime
    categories: dict[int, Category]
    joint: list[int]
    url: str  # the case page's URL, "{}" for the id

    def case(self, *, id: int, number: str, category_id: int, status: str, reported_at: datetime,  # noqa: A002
             address: str) -> CaseRef:
        category = self.categories[category_id]
        return CaseRef(id=id, number=number, category=category.display_name(), category_code=category.code,
                       status=status, status_display=str(Status(status).label), reported_at=reported_at,
                       address=address or "", url=self.url.format(id))


def _rows(sql: str, params: dict) -> list[tuple]:
    with read_connection().cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


HOT_SQL = """
WITH window_cases AS MATERIALIZED (
    SELECT i.id, i.number, i.category_id, i.status, i.reported_at, i.address_text, i.location
    FROM incidents_incident i
    WHERE i.subdistrict_id = %(sub)s AND i.reported_at >= %(since)s AND i.reported_at < %(end)s
      AND i.location IS NOT NULL AND i.status <> 'merged' AND NOT i.outside_jurisdiction
), projected AS (
    -- Projected here, above the scan: in this backend, whose PROJ transformation is cached, never
    -- in a parallel worker that would set it up again for every query.
    SELECT c.*, ST_Transform(c.location, %(srid)s) AS xy FROM window_cases c
), clustered AS (
    SELECT p.*, ST_ClusterDBSCAN(p.xy, eps := %(eps)s, minpoints := %(minpoints)s)
                OVER (PARTITION BY p.category_id) AS cluster
    FROM projected p
), spots AS (
    SELECT category_id, cluster, count(*) AS n,
           count(*) FILTER (WHERE reported_at >= %(start)s) AS in_week,
           min(reported_at) AS first_at, max(reported_at) AS last_at,
           ST_Collect(xy) AS xys,
           array_agg(id ORDER BY reported_at, id) AS ids,
           array_agg(number ORDER BY reported_at, id) AS numbers,
           array_agg(status ORDER BY reported_at, id) AS statuses,
           array_agg(reported_at ORDER BY reported_at, id) AS times,
           array_agg(address_text ORDER BY reported_at, id) AS addresses
    FROM clustered WHERE cluster IS NOT NULL
    GROUP BY category_id, cluster
)
SELECT category_id, n, in_week, first_at, last_at,
       ST_X(ST_Transform(ST_Centroid(xys), 4326)), ST_Y(ST_Transform(ST_Centroid(xys), 4326)),
       ST_MaxDistance(ST_Centroid(xys), xys), ids, numbers, statuses, times, addresses
FROM spots
WHERE in_week > 0
ORDER BY n DESC, last_at DESC, category_id
"""


def _hot_spots(ctx: _Context, since: datetime) -> list[HotSpot]:
    rows = _rows(HOT_SQL, {"srid": HOT_SRID, "sub": ctx.subdistrict.pk, "since": since, "end": ctx.period.end,
                           "start": ctx.period.start, "eps": HOT_EPS_M, "minpoints": HOT_MIN_POINTS})
    spots = []
    for (category_id, n, in_week, first_at, last_at, lon, lat, radius, ids, numbers, statuses, times,
         addresses) in rows:
        cases = [ctx.case(id=i, number=num, category_id=category_id, status=st, reported_at=t, address=a)
                 for i, num, st, t, a in zip(ids, numbers, statuses, times, addresses, strict=True)]
        category = ctx.categories[category_id]
        spots.append(HotSpot(
            category=category.display_name(), category_code=category.code, count=n, in_week=in_week,
            first_at=first_at, last_at=last_at, lon=round(lon, 6), lat=round(lat, 6), radius_m=round(radius or 0, 1),
            addresses=list(dict.fromkeys(a for a in addresses if a)), cases=cases))
    return spots


HANDED_SQL = """
SELECT h.id, h.state, h.created_at, h.accept_by, h.deadline, u.name,
       i.id, i.number, i.category_id, i.status, i.reported_at, i.address_text
FROM incidents_incident i
JOIN incidents_handover h ON h.incident_id = i.id
JOIN dispatch_unit u ON u.id = h.unit_id
WHERE i.subdistrict_id = %(sub)s AND i.status = ANY(%(unfinished)s)
  AND h.kind = %(transfer)s AND h.state = ANY(%(open_parts)s) AND h.created_at < %(end)s
ORDER BY h.created_at, h.id
"""


def _part_overdue(state: str, accept_by: datetime | None, deadline: datetime | None, now: datetime) -> bool:
    if state == Handover.State.PENDING:
        return accept_by is not None and accept_by < now
    if state == Handover.State.ACCEPTED:
        return deadline is not None and deadline < now
    return False


def _handed_over(ctx: _Context) -> list[HandedOver]:
    rows = _rows(HANDED_SQL, {"sub": ctx.subdistrict.pk, "unfinished": list(UNFINISHED_STATUSES),
                              "transfer": Handover.Kind.TRANSFER, "end": ctx.period.end,
                              "open_parts": [Handover.State.PENDING, Handover.State.ACCEPTED]})
    items = []
    for (handover, state, handed_at, accept_by, deadline, unit, incident, number, category_id, status,
         reported_at, address) in rows:
        items.append(HandedOver(
            case=ctx.case(id=incident, number=number, category_id=category_id, status=status,
                          reported_at=reported_at, address=address),
            handover=handover, unit=unit, state=state, state_display=str(Handover.State(state).label),
            handed_at=handed_at, accept_by=accept_by, deadline=deadline,
            overdue=_part_overdue(state, accept_by, deadline, ctx.now)))
    items.sort(key=lambda h: (not h.overdue, h.handed_at))
    return items


# Two branches, each on its index: the week's cases (the sub-district's index ANDed with
# reported_at's) and the earlier ones not finished ((subdistrict_id, status)).
UNSTABLE_SQL = """
SELECT i.id, i.number, i.category_id, i.status, i.reported_at, i.address_text, i.major, i.level
FROM incidents_incident i
WHERE i.subdistrict_id = %(sub)s AND i.reported_at >= %(start)s AND i.reported_at < %(end)s
  AND i.status <> 'merged' AND (i.major OR i.category_id = ANY(%(categories)s))
UNION ALL
SELECT i.id, i.number, i.category_id, i.status, i.reported_at, i.address_text, i.major, i.level
FROM incidents_incident i
WHERE i.subdistrict_id = %(sub)s AND i.status = ANY(%(unfinished)s) AND i.reported_at < %(start)s
  AND (i.major OR i.category_id = ANY(%(categories)s))
ORDER BY 5 DESC, 1 DESC
"""


def unstable_kind_labels() -> dict[str, str]:
    return {"major": _("major incident"), "mass": _("mass incident"), "sensitive": _("major sensitive incident")}


def _unstable(ctx: _Context) -> list[UnstableFactor]:
    by_code = {c.code: pk for pk, c in ctx.categories.items()}
    kind_of = {by_code[code]: kind for code, kind in zip(UNSTABLE_CATEGORY_CODES, ("mass", "sensitive"), strict=True)
               if code in by_code}
    rows = _rows(UNSTABLE_SQL, {"sub": ctx.subdistrict.pk, "end": ctx.period.end, "start": ctx.period.start,
                                "unfinished": list(UNFINISHED_STATUSES), "categories": list(kind_of)})
    labels = unstable_kind_labels()
    items = []
    for incident, number, category_id, status, reported_at, address, major, level in rows:
        kinds = (["major"] if major else []) + ([kind_of[category_id]] if category_id in kind_of else [])
        items.append(UnstableFactor(
            case=ctx.case(id=incident, number=number, category_id=category_id, status=status,
                          reported_at=reported_at, address=address),
            kinds=kinds, kinds_display=[labels[k] for k in kinds], in_week=reported_at >= ctx.period.start,
            finished=status in FINISHED_STATUSES, level=level))
    items.sort(key=lambda u: (u.finished, not u.in_week))  # stable: newest first within each group
    return items


# The assignment forms with their offices' parts (the returned ones left out), in one statement.
TASK_COLUMNS = """
SELECT i.id, i.number, i.category_id, i.status, i.reported_at, i.address_text, i.description, i.deadline,
       i.resolved_at, i.closed_at, i.external_id,
       parts.units, parts.states, parts.accept_bys, parts.deadlines
FROM incidents_incident i
LEFT JOIN LATERAL (
    SELECT array_agg(u.name ORDER BY h.created_at, h.id) AS units,
           array_agg(h.state ORDER BY h.created_at, h.id) AS states,
           array_agg(h.accept_by ORDER BY h.created_at, h.id) AS accept_bys,
           array_agg(h.deadline ORDER BY h.created_at, h.id) AS deadlines
    FROM incidents_handover h JOIN dispatch_unit u ON u.id = h.unit_id
    WHERE h.incident_id = i.id AND h.state <> 'returned'
) parts ON true
"""
# The candidates in two branches, each on an index: the forms not finished (the sub-district's
# open cases, (subdistrict_id, status)), and those finished in the week — a form is finished when
# its last office part is completed (or returned), so through the hand-overs of the sub-district's
# units completed or returned in the week (hand-overs by unit: a table a tenth the cases' size).
TASKS_SQL = TASK_COLUMNS + (  # noqa: S608 - constant SQL; every value is a parameter
    """
WHERE i.id IN (
    SELECT o.id FROM incidents_incident o
    WHERE o.subdistrict_id = %(sub)s AND o.status = ANY(%(unfinished)s) AND o.channel_id = ANY(%(joint)s)
    UNION
    SELECT h.incident_id FROM incidents_handover h
    WHERE h.unit_id IN (SELECT u.id FROM dispatch_unit u WHERE u.subdistrict_id = %(sub)s)
      AND ((h.completed_at >= %(start)s AND h.completed_at < %(end)s)
           OR (h.state = 'returned' AND h.decided_at >= %(start)s AND h.decided_at < %(end)s))
)
  AND i.subdistrict_id = %(sub)s AND i.channel_id = ANY(%(joint)s) AND i.status <> 'merged'
  AND i.reported_at < %(end)s
  AND (i.status = ANY(%(unfinished)s)
       OR (COALESCE(i.resolved_at, i.closed_at) >= %(start)s AND COALESCE(i.resolved_at, i.closed_at) < %(end)s))
""")
DECISIONS_SQL = TASK_COLUMNS + """
WHERE i.channel_id = ANY(%(joint)s) AND i.external_id = ANY(%(ids)s) AND i.subdistrict_id = %(sub)s
"""


def meeting_key(subdistrict: Subdistrict, period: Period) -> str:
    """The external-id stem of a meeting's decisions: MEETING-<sub-district code>-<week>."""
    return f"{DECISION_PREFIX}-{subdistrict.code}-{period.key}"


def decision_external_id(subdistrict: Subdistrict, period: Period, seq: int) -> str:
    return f"{meeting_key(subdistrict, period)}-{seq:02d}"


def _meeting_of(external_id: str | None, subdistrict: Subdistrict) -> str:
    """The week of a meeting decision's external id ("" for another form)."""
    stem = f"{DECISION_PREFIX}-{subdistrict.code}-"
    if not external_id or not external_id.startswith(stem):
        return ""
    return external_id[len(stem):].rsplit("-", 1)[0]


def _task(ctx: _Context, row: tuple) -> Task:
    (incident, number, category_id, status, reported_at, address, description, deadline, resolved_at, closed_at,
     external_id, units, states, accept_bys, deadlines) = row
    now = ctx.now
    parts = []
    for unit, state, accept_by, part_deadline in zip(units or (), states or (), accept_bys or (), deadlines or (),
                                                     strict=True):
        parts.append(OfficePart(unit=unit, state=state, state_display=str(Handover.State(state).label),
                                deadline=part_deadline, overdue=_part_overdue(state, accept_by, part_deadline, now)))
    finished = status in FINISHED_STATUSES
    finished_at = (resolved_at or closed_at) if finished else None
    open_deadlines = [p.deadline for p in parts if p.deadline is not None
                      and p.state in (Handover.State.PENDING, Handover.State.ACCEPTED)]
    effective = deadline or (min(open_deadlines) if open_deadlines else None)
    overdue = not finished and effective is not None and effective < now
    return Task(
        case=ctx.case(id=incident, number=number, category_id=category_id, status=status, reported_at=reported_at,
                      address=address),
        description=description, deadline=effective, overdue=overdue,
        overdue_days=(now - effective).days if overdue and effective is not None else 0, finished_at=finished_at,
        finished_late=bool(finished_at and effective and finished_at > effective),
        meeting=_meeting_of(external_id, ctx.subdistrict), offices=parts)


def _task_order(task: Task) -> tuple:
    """Overdue first (longest overdue first), then open by deadline (none last), then finished."""
    far = datetime.max.replace(tzinfo=timezone.get_current_timezone())
    if task.finished_at is not None:
        return (2, task.finished_at, task.case.id)
    return (0 if task.overdue else 1, task.deadline or far, task.case.id)


def _tasks(ctx: _Context) -> list[Task]:
    if not ctx.joint:
        return []
    rows = _rows(TASKS_SQL, {"sub": ctx.subdistrict.pk, "joint": ctx.joint, "end": ctx.period.end,
                             "start": ctx.period.start, "unfinished": list(UNFINISHED_STATUSES)})
    return sorted((_task(ctx, row) for row in rows), key=_task_order)


def _decisions(ctx: _Context) -> list[Decision]:
    if not ctx.joint:
        return []
    ids = {decision_external_id(ctx.subdistrict, ctx.period, n): n for n in range(1, DECISIONS_PER_MEETING + 1)}
    rows = _rows(DECISIONS_SQL, {"sub": ctx.subdistrict.pk, "joint": ctx.joint, "ids": list(ids)})
    decisions = [Decision(seq=ids[row[10]], task=_task(ctx, row)) for row in rows]
    return sorted(decisions, key=lambda d: d.seq)


def _rectifications(ctx: _Context) -> list[OverdueRectification]:
    overdue = (Interview.objects.filter(subdistrict=ctx.subdistrict, state=Interview.State.OPEN,
                                        deadline__lte=ctx.now)
               .select_related("unit", "community").order_by("deadline", "id"))
    return [OverdueRectification(
        interview=i.pk, target=target_name(i), target_kind="unit" if i.unit_id else "community", reason=i.reason,
        held_at=i.held_at, deadline=i.deadline, overdue_days=(ctx.now - i.deadline).days,
        alarmed_at=i.overdue_alarmed_at) for i in overdue]


# --- the meeting's decisions ---------------------------------------------------------------------------

# pg_advisory_xact_lock's first key for "numbering a meeting's decisions" (the second: the sub-district).
_DECISION_LOCK = 0x6D656574  # "meet"


def meeting_decision_record(*, actor, subdistrict: Subdistrict, period: Period, category: Category,
                            description: str, offices: Sequence[Unit], deadline: datetime | None = None,
                            address: str = "") -> Incident:
    """Record one decision of the meeting of `period` as a joint-consultation assignment form: the
    existing off-site intake (`incident_intake` on the active joint-assignment channel) opens the
    case, hands a part to each office (deadlines from the form's `deadline` or the offices' kinds)
    and writes its timeline; the offices are told as for any assignment form. The decision's
    external id numbers it within the meeting (MEETING-<code>-<week>-<nn>), under a lock per
    sub-district so that two recorders never take the same number."""
    if actor is None or not has_role(actor, *DECISION_ROLES):
        raise Forbidden(_("Only the command room records the meeting's decisions as assignment forms."))
    description = clean_text(description, field=_("Decision"), max_length=4000, required=True)
    address = clean_text(address, field=_("Address"), max_length=256)
    offices = list(dict.fromkeys(offices))
    if not offices:
        raise DomainError(_("An assignment form names at least one responsible office."), code="offices")
    if any(office.subdistrict_id != subdistrict.pk for office in offices):
        raise DomainError(_("That unit belongs to another sub-district."), code="offices")
    now = timezone.now()
    if deadline is not None:
        deadline_check(deadline, reported_at=now)
    channel = (Channel.objects.filter(kind=Channel.Kind.JOINT_ASSIGNMENT, active=True)
               .order_by("sort_order", "code").first())
    if channel is None:
        raise DomainError(_("No joint-consultation assignment channel is in use."), code="channel")
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_DECISION_LOCK, subdistrict.pk])
        ids = [decision_external_id(subdistrict, period, n) for n in range(1, DECISIONS_PER_MEETING + 1)]
        taken = set(Incident.objects.filter(channel__kind=Channel.Kind.JOINT_ASSIGNMENT, external_id__in=ids)
                    .values_list("external_id", flat=True))
        free = [external_id for external_id in ids if external_id not in taken]
        if not free:
            raise DomainError(_("This meeting has recorded %(count)d decisions already, the most one meeting may.")
                              % {"count": DECISIONS_PER_MEETING}, code="decisions")
        result = incident_intake(
            channel=channel, category=category, description=description, actor=actor, address_text=address,
            external_id=free[0], subdistrict=subdistrict, offices=offices, deadline=deadline, reported_at=now)
    return result.incident


def decision_choices(*, subdistrict: Subdistrict) -> dict:
    """What the decision form offers: the categories and the sub-district's units."""
    return {
        "categories": [{"code": c.code, "name": c.display_name()} for c in Category.objects.order_by("sort_order")],
        "units": [{"id": u.pk, "name": u.name, "kind": u.get_kind_display()}
                  for u in Unit.objects.filter(subdistrict=subdistrict).order_by("kind", "code")],
        "max_deadline_days": settings.INTAKE_DEADLINE_MAX_DAYS,
    }


# --- the Excel file ----------------------------------------------------------------------------------

def _yes(value: bool) -> str:
    return _("yes") if value else _("no")


def _offices(task: Task) -> str:
    return "、".join(f"{p.unit}（{p.state_display}）" for p in task.offices)


def agenda_sheets(agenda: Agenda) -> list[Sheet]:
    """The agenda as Excel sheets (reports.excel), the page's numbers under the active language's
    headers: a summary, then one sheet per section."""
    week = _("Weekly meeting %(week)s (%(first)s – %(last)s), %(subdistrict)s") % {
        "week": agenda.period.key, "first": agenda.period.first_day, "last": agenda.period.last_day,
        "subdistrict": agenda.subdistrict_name}
    counts = agenda.counts
    summary = [
        (_("Hot issues"), counts["hot_spots"]),
        (_("Cases in the hot issues"), counts["hot_spot_cases"]),
        (_("Handed over on site, still open"), counts["handed_over"]),
        (_("Of them overdue"), counts["handed_over_overdue"]),
        (_("Major unstable factors"), counts["unstable"]),
        (_("Of them reported in the week"), counts["unstable_in_week"]),
        (_("Of them not finished"), counts["unstable_unfinished"]),
        (_("Assigned tasks"), counts["tasks"]),
        (_("Of them overdue"), counts["tasks_overdue"]),
        (_("Of them finished in the week"), counts["tasks_finished_in_week"]),
        (_("Overdue rectifications"), counts["rectifications_overdue"]),
        (_("Decisions of this meeting"), counts["decisions"]),
    ]
    case_no, category, status = _("Case number"), _("Category"), _("Status")
    return [
        Sheet(_("Summary"), week, [Column(_("Item")), Column(_("Count"), "int")], summary),
        Sheet(_("Hot issues"), week, [
            Column(_("No.")), Column(category), Column(_("Cases"), "int"), Column(_("In the week"), "int"),
            Column(_("First report"), "datetime"), Column(_("Last report"), "datetime"),
            Column(_("Longitude"), "float"), Column(_("Latitude"), "float"), Column(_("Spread (m)"), "float"),
            Column(_("Addresses")), Column(_("Case numbers")),
        ], [(n, h.category, h.count, h.in_week, h.first_at, h.last_at, h.lon, h.lat, h.radius_m,
             "；".join(h.addresses), "、".join(c.number for c in h.cases))
            for n, h in enumerate(agenda.hot_spots, start=1)]),
        Sheet(_("Handed over on site"), week, [
            Column(case_no), Column(category), Column(status), Column(_("Unit")), Column(_("Part")),
            Column(_("Handed over at"), "datetime"), Column(_("Accept by"), "datetime"),
            Column(_("Result by"), "datetime"), Column(_("Overdue")), Column(_("Address")),
        ], [(h.case.number, h.case.category, h.case.status_display, h.unit, h.state_display, h.handed_at,
             h.accept_by, h.deadline, _yes(h.overdue), h.case.address) for h in agenda.handed_over]),
        Sheet(_("Major unstable factors"), week, [
            Column(case_no), Column(category), Column(_("Kind")), Column(_("Reported at"), "datetime"),
            Column(status), Column(_("In the week")), Column(_("Finished")), Column(_("Address")),
        ], [(u.case.number, u.case.category, "、".join(u.kinds_display), u.case.reported_at, u.case.status_display,
             _yes(u.in_week), _yes(u.finished), u.case.address) for u in agenda.unstable]),
        Sheet(_("Assigned tasks"), week, [
            Column(case_no), Column(category), Column(_("Task")), Column(_("Offices")), Column(_("Deadline"), "datetime"),
            Column(_("Days overdue"), "int"), Column(status), Column(_("Finished at"), "datetime"),
            Column(_("Meeting")),
        ], [(t.case.number, t.case.category, t.description, _offices(t), t.deadline, t.overdue_days,
             t.case.status_display, t.finished_at, t.meeting) for t in agenda.tasks]),
        Sheet(_("Overdue rectifications"), week, [
            Column(_("Interviewed")), Column(_("Reason")), Column(_("Held at"), "datetime"),
            Column(_("Rectify by"), "datetime"), Column(_("Days overdue"), "int"),
            Column(_("Alarm raised at"), "datetime"),
        ], [(r.target, r.reason, r.held_at, r.deadline, r.overdue_days, r.alarmed_at) for r in agenda.rectifications]),
        Sheet(_("Decisions"), week, [
            Column(_("No.")), Column(case_no), Column(category), Column(_("Decision")), Column(_("Offices")),
            Column(_("Deadline"), "datetime"), Column(status),
        ], [(d.seq, d.task.case.number, d.task.case.category, d.task.description, _offices(d.task), d.task.deadline,
             d.task.case.status_display) for d in agenda.decisions]),
    ]
