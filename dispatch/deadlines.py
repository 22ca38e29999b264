"""The plan's arrival deadline for a member sent by hand, outside every responsibility rule.

A responsibility rule (`dispatch.models.ResponsibilityRule`) carries its own deadline. A member the
dispatcher chooses by hand that no rule names gets the deadline the plan (联动处置要求) gives their
force at that time of day: `plan_deadline` is that table, pure — the demo history's generator
(`fixtures.history`) calls it with its own constants and reads no settings; `manual_deadline_minutes`
is the live form, from settings (the recommendation's "chosen" members, the unit's reserve, and a
dispatch without a recommendation, e.g. for a case without a point). Both therefore agree.

None means "no deadline binds them" (a grid leader or a place's contact sent after 21:30): the
order has no `arrive_by` and the SLA clock never raises its alarm.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from dispatch.models import Force, Role

EVENING_CUTOFF = time(21, 30)  # the plan's 21:30: "before 21:30" is exact, 21:29 yes, 21:30 no
THIRTY_MINUTES = timedelta(minutes=30)

# How the plan binds a member:
WITHIN_30 = "within_30"  # 30 minutes, round the clock
BEFORE_CUTOFF_30 = "before_cutoff_30"  # 30 minutes from the day's start until the cut-off; none otherwise
AT_ONCE = "at_once"  # "at the first moment" (第一时间): settings.DISPATCH_AT_ONCE_MINUTES
AT_ONCE_IF_MAJOR = "at_once_if_major"  # at once on a major incident, else 30 minutes

# The plan (联动处置要求, mission.md "Rules"):
#   "Police and full-time grid workers reach the scene within 30 minutes of the order."
#   "Before 21:30, the village/community grid leader or security director (and, where involved, the
#    property, construction-site, park-building or enterprise contact) reaches the scene within
#    30 minutes."
#   "Linkage departments and stations arrive 'at the first moment' (第一时间)."
#   "Major incidents: the sub-district's principal and responsible leaders go to the scene at once."
# Every force is listed (a test checks it): the command room's squad, the police call centre, the
# sub-district's office staff, seconded station staff and the stations and squads are the linkage
# departments and stations.
PLAN_BY_FORCE: dict[str, str] = {
    Force.POLICE: WITHIN_30,
    Force.GRID_WORKER: WITHIN_30,
    Force.GRID_LEADER: BEFORE_CUTOFF_30,  # grid leaders, most of them also their community's security director
    Force.PROPERTY_CONTACT: BEFORE_CUTOFF_30,
    Force.SITE_CONTACT: BEFORE_CUTOFF_30,
    Force.ENTERPRISE_CONTACT: BEFORE_CUTOFF_30,
    Force.PARK_CONTACT: BEFORE_CUTOFF_30,
    Force.COMMAND_ROOM: AT_ONCE,
    Force.POLICE_CALL_CENTRE: AT_ONCE,
    Force.SAFETY_ENFORCEMENT: AT_ONCE,
    Force.URBAN_MANAGEMENT: AT_ONCE,
    Force.TRAFFIC_STATION: AT_ONCE,
    Force.LABOUR_INSPECTION: AT_ONCE,
    Force.BUILDING_STATION: AT_ONCE,
    Force.OFFICE_STAFF: AT_ONCE,
    Force.STATION_STAFF: AT_ONCE,
}
# Roles that bind whatever the force, first match wins: the sub-district's leaders (office staff by
# force) as the plan says for them; on a case that is not major they go within the 30 minutes of the
# others (as the demo history always did).
PLAN_BY_ROLE: tuple[tuple[str, str], ...] = (
    (Role.PRINCIPAL_LEADER, AT_ONCE_IF_MAJOR),
    (Role.RESPONSIBLE_LEADER, AT_ONCE_IF_MAJOR),
)


def plan_binding(*, force: str, roles: Sequence[str]) -> str:
    """How the plan binds a member of `force` holding `roles` (one of the constants above)."""
    for role, binding in PLAN_BY_ROLE:
        if role in roles:
            return binding
    return PLAN_BY_FORCE.get(force, AT_ONCE)


def plan_deadline(*, force: str, roles: Sequence[str], local_time: time, major: bool, at_once: timedelta,
                  day_starts: time, cutoff: time) -> timedelta | None:
    """The plan's arrival deadline of an order given by hand to a member of `force` with `roles`, sent
    at `local_time` (the sub-district's local time of day) on a case that is `major` or not; None when
    no deadline binds them. Pure: `at_once`, `day_starts` and `cutoff` are the caller's."""
    binding = plan_binding(force=force, roles=roles)
    if binding == WITHIN_30:
        return THIRTY_MINUTES
    if binding == BEFORE_CUTOFF_30:
        return THIRTY_MINUTES if day_starts <= local_time < cutoff else None
    if binding == AT_ONCE_IF_MAJOR:
        return at_once if major else THIRTY_MINUTES
    return at_once


# --- the live form, from settings ----------------------------------------------------------------

def at_once_minutes() -> int:
    """'At once' (第一时间) in minutes: settings.DISPATCH_AT_ONCE_MINUTES."""
    return int(settings.DISPATCH_AT_ONCE_MINUTES)


def day_starts() -> time:
    """settings.DISPATCH_DAY_STARTS ("HH:MM"): from when the 21:30 rules apply in the morning."""
    hh, mm = (int(x) for x in str(settings.DISPATCH_DAY_STARTS).split(":")[:2])
    return time(hh, mm)


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def manual_deadline_minutes(*, force: str, roles: Sequence[str], at: datetime, major: bool) -> int | None:
    """`plan_deadline` in whole minutes for an order given at `at` (aware; a naive one is read as
    local time), in the local time of settings.TIME_ZONE with settings.DISPATCH_AT_ONCE_MINUTES and
    DISPATCH_DAY_STARTS; None when no deadline binds the member."""
    zone = local_zone()
    local = (timezone.make_aware(at, zone) if timezone.is_naive(at) else at).astimezone(zone).time()
    limit = plan_deadline(force=force, roles=roles, local_time=local, major=major,
                          at_once=timedelta(minutes=at_once_minutes()), day_starts=day_starts(),
                          cutoff=EVENING_CUTOFF)
    return None if limit is None else int(limit.total_seconds() // 60)


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day (settings.TIME_ZONE) as aware datetimes: the wall's
    "today", a position-track partition's range."""
    zone = local_zone()
    return (datetime.combine(day, time.min, tzinfo=zone),
            datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone))
