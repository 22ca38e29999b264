"""Compliance per person and per grid (到场核验): how the month's arrivals were verified.

For the unit leaders and the command room (a unit's office reads its own unit only,
reports.access.compliance_own_unit): of each member's orders in the month (counted as the
ranking counts them, reports/ranking.py), how many arrivals were verified by GPS, how many carried
no position, how many were flagged far from the scene, how many were late — and the orders behind
each flag. The same per grid (the grid the case was filed in at intake).

Definitions (page and README):

- **Arrival verified by GPS** (定位核验): the arrival carried a position — sent with the "arrived"
  request, or the member's last known position if fresh (settings.ARRIVAL_POSITION_MAX_AGE_SECONDS)
  — and it lay within settings.ARRIVAL_MAX_DISTANCE_M of the case (`arrival_distance_m` set,
  `arrival_flagged` false; dispatch/services.py `_arrival_check`). 核验率 = verified / arrived.
- **No position** (未定位): arrived without a fresh position (or a case without a point): the
  distance could not be checked.
- **Flagged** (距离异常): arrived more than ARRIVAL_MAX_DISTANCE_M from the scene; never refused,
  listed with the distance.
- **Late** (超时到场): arrived after the order's deadline; 按时到场率 = arrived in time / arrivals
  with a deadline.

Cost: one statement (GROUPING SETS per member, per grid and in total) and one listing the flagged
and late orders; the names in two small reads.
"""

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from config.db_router import reads_from_replica
from config.errors import DomainError
from config.inputs import ascii_int
from dispatch.models import Member, Unit
from geo.models import Grid, Subdistrict
from reports.excel import Column, Sheet
from reports.periods import Period
from reports.ranking import COUNTED_SQL, counted_params, rate, rate_grade, run

_COMPLIANCE_SQL = COUNTED_SQL + """
SELECT CASE WHEN GROUPING(member_id) = 0 THEN 'member' WHEN GROUPING(grid_id) = 0 THEN 'grid' ELSE 'all' END,
       COALESCE(member_id, grid_id),
       count(*), count(*) FILTER (WHERE arrived),
       count(*) FILTER (WHERE arrived AND arrival_distance_m IS NOT NULL AND NOT arrival_flagged),
       count(*) FILTER (WHERE arrived AND arrival_distance_m IS NULL),
       count(*) FILTER (WHERE arrived AND arrival_flagged),
       count(*) FILTER (WHERE arrived AND due),
       count(*) FILTER (WHERE arrived AND due AND NOT timely)
FROM counted
WHERE %(unit)s::bigint IS NULL OR unit_id = %(unit)s::bigint
GROUP BY GROUPING SETS ((member_id), (grid_id), ())
"""

_FLAGS_SQL = COUNTED_SQL + """
SELECT member_id, grid_id, number, arrived_at, arrive_by, arrival_distance_m, arrival_flagged, due AND NOT timely
FROM counted
WHERE arrived AND (arrival_flagged OR (due AND NOT timely))
  AND (%(unit)s::bigint IS NULL OR unit_id = %(unit)s::bigint)
ORDER BY dispatched_at, id
"""


@dataclass
class ComplianceRow:
    id: int | None
    code: str
    name: str
    group: str = ""  # a member's unit; a grid's village/community
    dispatched: int = 0
    arrived: int = 0
    verified: int = 0
    no_position: int = 0
    flagged: int = 0
    arrived_due: int = 0  # arrivals on orders with a deadline
    late: int = 0
    verified_rate: float | None = None
    on_time_rate: float | None = None
    grades: dict = field(default_factory=dict)
    flagged_orders: list = field(default_factory=list)  # [{"number", "distance_m", "arrived_at"}]
    late_orders: list = field(default_factory=list)  # [{"number", "minutes"}]

    def fill(self, values) -> "ComplianceRow":
        (self.dispatched, self.arrived, self.verified, self.no_position, self.flagged, self.arrived_due,
         self.late) = values
        self.verified_rate = rate(self.verified, self.arrived)
        self.on_time_rate = rate(self.arrived_due - self.late, self.arrived_due)
        self.grades = {"verified": rate_grade(self.verified_rate), "on_time": rate_grade(self.on_time_rate),
                       "flagged": "poor" if self.flagged else ""}
        return self


@dataclass
class ComplianceReport:
    subdistrict: Subdistrict
    period: Period
    unit: Unit | None
    computed_at: datetime
    members: list[ComplianceRow]
    grids: list[ComplianceRow]
    total: ComplianceRow
    max_distance_m: int

    def as_dict(self) -> dict:
        return {"subdistrict": self.subdistrict.code, "subdistrict_name": self.subdistrict.name,
                "month": self.period.key, "start": self.period.start.isoformat(), "end": self.period.end.isoformat(),
                "unit": {"id": self.unit.pk, "name": self.unit.name} if self.unit else None,
                "computed_at": self.computed_at.isoformat(), "max_distance_m": self.max_distance_m,
                "members": [asdict(r) for r in self.members], "grids": [asdict(r) for r in self.grids],
                "total": asdict(self.total)}


def _worst_first(row: ComplianceRow):
    return (-row.flagged, -row.late, -row.no_position, row.group, row.code)


@reads_from_replica()  # read-only: on the read replica when there is one (config/db_router.py)
def compliance_report(*, subdistrict: Subdistrict, period: Period, unit: Unit | None = None) -> ComplianceReport:
    """The month's arrivals per member and per grid (of one unit's members when `unit` is given)."""
    params = counted_params(subdistrict=subdistrict, start=period.start, end=period.end,
                            unit=unit.pk if unit else None)
    found: dict[tuple[str, object], list[Any]] = {(level, key): values for level, key, *values in
                                              run(_COMPLIANCE_SQL, params)}
    members = {m.pk: m for m in Member.objects.filter(pk__in=[k for (lvl, k) in found if lvl == "member"])
               .select_related("unit")}
    grids = {g.pk: g for g in Grid.objects.filter(pk__in=[k for (lvl, k) in found if lvl == "grid" and k])
             .select_related("community").defer("boundary", "community__boundary")}
    member_rows = {pk: ComplianceRow(pk, m.code, m.name, m.unit.name).fill(found[("member", pk)])
                   for pk, m in members.items()}
    grid_rows: dict[int | None, ComplianceRow] = {pk: ComplianceRow(
pk, g.code, g.name, g.community.name if g.community_id else "")
                 .fill(found[("grid", pk)]) for pk, g in grids.items()}
    if ("grid", None) in found:
        grid_rows[None] = ComplianceRow(None, "", _("Not on a grid")).fill(found[("grid", None)])
    for member_id, grid_id, number, arrived_at, arrive_by, distance, flagged, late in run(_FLAGS_SQL, params):
        targets = [r for r in (member_rows.get(member_id), grid_rows.get(grid_id)) if r is not None]
        for row in targets:
            if flagged:
                row.flagged_orders.append({"number": number, "distance_m": round(distance or 0),
                                           "arrived_at": timezone.localtime(arrived_at).isoformat()})
            if late:
                row.late_orders.append({"number": number,
                                        "minutes": -(-int((arrived_at - arrive_by).total_seconds()) // 60)})
    total = ComplianceRow(None, "", _("Total")).fill(found.get(("all", None), (0,) * 7))
    return ComplianceReport(subdistrict=subdistrict, period=period, unit=unit, computed_at=timezone.now(),
                            members=sorted(member_rows.values(), key=_worst_first),
                            grids=sorted(grid_rows.values(), key=_worst_first), total=total,
                            max_distance_m=int(settings.ARRIVAL_MAX_DISTANCE_M))


def unit_param(value, subdistrict: Subdistrict) -> Unit | None:
    """`?unit=<id>` of the sub-district; None when absent. Malformed: 400; another sub-district's: 404."""
    if value in (None, ""):
        return None
    pk = ascii_int(value, minimum=1)
    if pk is None:
        raise DomainError(_("The unit must be given by its number."), code="unit")
    unit = Unit.objects.filter(pk=pk, subdistrict=subdistrict).first()
    if unit is None:
        raise DomainError(_("No such unit."), code="not_found", http_status=404)
    return unit


def own_unit_param(value, own: Unit) -> Unit:
    """`?unit=` for a unit's office, who reads its own unit only (reports.access.compliance_own_unit):
    absent or its own unit → its own unit; malformed: 400; any other unit: 404, as if it did not exist
    (never a silent switch to its own)."""
    if value in (None, ""):
        return own
    pk = ascii_int(value, minimum=1)
    if pk is None:
        raise DomainError(_("The unit must be given by its number."), code="unit")
    if pk != own.pk:
        raise DomainError(_("No such unit."), code="not_found", http_status=404)
    return own


def compliance_units(*, subdistrict: Subdistrict) -> list[Unit]:
    """The units a leader may narrow the page to: those with members."""
    return list(Unit.objects.filter(subdistrict=subdistrict, members__isnull=False).distinct().order_by("code"))


def flags_text(row: dict) -> str:
    parts = []
    if row["flagged_orders"]:
        parts.append(_("far from the scene: %(cases)s") % {"cases": "、".join(
            _("%(number)s (%(distance)s m)") % {"number": o["number"], "distance": o["distance_m"]}
            for o in row["flagged_orders"])})
    if row["late_orders"]:
        parts.append(_("late: %(cases)s") % {"cases": "、".join(
            _("%(number)s (%(minutes)s min)") % o for o in row["late_orders"])})
    return "; ".join(parts)


def compliance_sheets(report: dict) -> list[Sheet]:
    heading = _("%(subdistrict)s · arrival compliance · %(month)s") % {
        "subdistrict": report["subdistrict_name"], "month": report["month"]}
    if report.get("unit"):
        heading = f"{heading} · {report['unit']['name']}"

    def columns(first: str, second: str) -> list[Column]:
        return [Column(first), Column(_("Code")), Column(second), Column(_("Dispatched"), "int"),
                Column(_("Arrived"), "int"), Column(_("Verified by GPS"), "int"), Column(_("No position"), "int"),
                Column(_("Flagged distance"), "int"), Column(_("Late"), "int"), Column(_("Verification rate"), "rate"),
                Column(_("On-time arrival rate"), "rate"), Column(_("Orders behind the flags"))]

    def values(r: dict) -> list:
        return [r["name"], r["code"], r["group"], r["dispatched"], r["arrived"], r["verified"], r["no_position"],
                r["flagged"], r["late"], r["verified_rate"], r["on_time_rate"], flags_text(r)]

    total = report["total"]
    return [
        Sheet(_("Per person"), heading, columns(_("Name"), _("Unit")),
              [values(r) for r in report["members"]] + [values(total)]),
        Sheet(_("Per grid"), heading, columns(_("Grid"), _("Village/community")),
              [values(r) for r in report["grids"]] + [values(total)]),
    ]
