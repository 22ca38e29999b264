"""Read queries of the `dispatch` app, scoped to one sub-district."""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.gis.db.models import PointField
from django.core.cache import cache
from django.db.models import Case, DateTimeField, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from config.roles import STAFF_ROLES, Actor, AnyUser, UserRole, has_role
from dispatch.models import Alarm, DispatchOrder, DutyShift, Force, Member, MemberMessage, Role
from dispatch.recommend import incident_facts, recommend
from geo.models import BoundaryVersion, Grid, Subdistrict
from geo.selectors import boundary_versions_in_force_first
from geo.tenancy import tenant_q
from incidents import flows
from incidents.models import Handover, Incident, Status
from incidents.selectors import incidents_visible_to


def on_duty_at(at: datetime) -> Exists:
    """An expression for "the member has a shift covering `at`" (shifts are half-open: ends_at excluded)."""
    return Exists(DutyShift.objects.filter(member=OuterRef("pk"), starts_at__lte=at, ends_at__gt=at))


def member_map_list(
    *,
    subdistrict: Subdistrict,
    grid_version: BoundaryVersion | None,
    at: datetime | None = None,
    only_user: AnyUser | None = None,
) -> QuerySet[Member]:
    """Active members of a sub-district as map points, in three queries whatever their number.

    Each member carries `map_point` (the last known position, else home; EPSG:4326),
    `position_recorded_at` (None when the point is home), `on_duty` (a shift covers `at`, default
    now) and `map_grids`: the grids they serve in `grid_version` (the version in force; none
    without one). With `only_user`, only the member linked to that user (a responder's own view).
    """
    at = at or timezone.now()
    grids = Grid.objects.filter(version=grid_version) if grid_version else Grid.objects.none()
    queryset = (
        Member.objects.filter(subdistrict=subdistrict, active=True)
        .select_related("unit")
        .annotate(
            map_point=Coalesce("position__point", "home", output_field=PointField(srid=4326)),
            position_recorded_at=F("position__recorded_at"),
            on_duty=on_duty_at(at),
        )
        .prefetch_related(
            Prefetch("grids", queryset=grids.only("id", "code").order_by("code"), to_attr="map_grids")
        )
        .order_by("code")
    )
    if only_user is not None:
        queryset = queryset.filter(user=only_user) if only_user.is_authenticated else queryset.none()
    return queryset


# --- orders and alarms (the SLA clock) -------------------------------------------------------------

def incident_orders(*, incident_id: int) -> QuerySet[DispatchOrder]:
    """Every order of a case, oldest first, with member and unit."""
    return (DispatchOrder.objects.filter(incident_id=incident_id).select_related("member__unit")
            .order_by("dispatched_at", "id"))


def alarm_list(*, user: Actor, subdistrict: Subdistrict | None = None, state: str | None = None,
               incident_id: int | None = None, limit: int = 200) -> QuerySet[Alarm]:
    """Alarms, newest first. Staff roles see every alarm of their sub-districts (of `subdistrict` when given); any other
    user only the alarms their member was told of (a unit leader's own list)."""
    qs = Alarm.objects.select_related("incident", "order__member__unit", "handover__unit", "acknowledged_by")
    if has_role(user, *STAFF_ROLES):
        qs = qs.filter(tenant_q(user))  # their own sub-districts' (geo/tenancy.py)
    else:
        member = getattr(user, "member", None) if user.is_authenticated else None
        if member is None:
            return qs.none()
        qs = qs.filter(notified__contains=[member.pk])
    if subdistrict is not None:
        qs = qs.filter(subdistrict=subdistrict)
    if state:
        qs = qs.filter(state=state)
    if incident_id is not None:
        qs = qs.filter(incident_id=incident_id)
    return qs.order_by("-raised_at", "-id")[:limit]


def member_names(*, member_ids: Iterable[int]) -> dict[int, str]:
    return dict(Member.objects.filter(pk__in=set(member_ids)).values_list("pk", "name"))


# --- replacements -----------------------------------------------------------------------------------

def order_needs_replacement(order: DispatchOrder) -> bool:
    """A declined order, or one still on the way past its deadline (the SLA clock raised it)."""
    return order.state == DispatchOrder.State.DECLINED or (
        order.state in DispatchOrder.LIVE_STATES and order.overdue_escalated_at is not None)




# The proposals of a case are shared for a few seconds by every page that asks for them (each
# wall's card refetch after an event, the incident page), as long as the case's orders are
# unchanged: a candidate's ETA and load move slowly, and the service checks again on dispatch.
REPLACEMENTS_SHARED_SECONDS = 15


def replacements(*, incident_id: int, at: datetime | None = None) -> list[dict[str, Any]]:
    """Who to send in place of each declined order, and each order still on the way past its
    deadline, that nobody replaced yet: the next candidate of the same responsibility rule who is
    on duty and under the load limit (else the next of the same force), never a member who
    declined this case, each member proposed once. One recommendation (`dispatch.recommend`) for
    the whole case; nothing is computed when no order wants a replacement, and a proposal made
    now is shared for REPLACEMENTS_SHARED_SECONDS while the orders stay as they are. Items:
    {"order", "candidate" (a recommend.Candidate or None), "same_rule"}."""
    orders = list(DispatchOrder.objects.filter(incident_id=incident_id).select_related("member__unit", "rule")
                  .order_by("dispatched_at", "id"))
    replaced = {o.replaces_id for o in orders if o.replaces_id}
    wanting = [o for o in orders if order_needs_replacement(o) and o.pk not in replaced]
    if not wanting:
        return []
    key = None
    if at is None:
        shape = ",".join(f"{o.pk}:{o.state}:{o.member_id}:{o.replaces_id}:{o.overdue_escalated_at}" for o in orders)
        key = f"gridlink:replacements:{incident_id}:{hashlib.sha256(shape.encode()).hexdigest()}"
        shared = cache.get(key)
        if shared is not None:
            by_id = {o.pk: o for o in wanting}
            return [{"order": by_id[pk], "candidate": c, "same_rule": same} for pk, c, same in shared]
    out = _replacements_pick(incident_id, orders, wanting, at or timezone.now())
    if key is not None:
        cache.set(key, [(item["order"].pk, item["candidate"], item["same_rule"]) for item in out],
                  REPLACEMENTS_SHARED_SECONDS)
    return out


def _replacements_pick(incident_id: int, orders: list[DispatchOrder], wanting: list[DispatchOrder],
                       at: datetime) -> list[dict[str, Any]]:
    incident = incident_facts(incident_id=incident_id)
    status = DispatchOrder.objects.filter(pk=wanting[0].pk).values_list("incident__status", flat=True).first()
    if incident is None or incident.location is None or status not in flows.OPEN_ON_SITE:
        return []
    rec = recommend(incident, at=at, routes=False)
    declined = {o.member_id for o in orders if o.state == DispatchOrder.State.DECLINED}
    taken: set[int] = set()
    out = []
    for order in wanting:
        pool = [c for c in rec.candidates if c.available and c.member_id not in declined and c.member_id not in taken]
        same_rule = [c for c in pool if order.rule_id is not None and any(r.pk == order.rule_id for r in c.rules)]
        pick = same_rule[0] if same_rule else next((c for c in pool if c.force == order.member.force), None)
        if pick is not None:
            taken.add(pick.member_id)
        out.append({"order": order, "candidate": pick, "same_rule": bool(same_rule)})
    return out


# --- the responders' app: a member's own work (issue 10) -------------------------------------------
#
# A responder's phone (/m/) lists the member's own orders and nobody else's. *Live* orders are the
# current ones (dispatched, accepted, arrived) on a case still handled on site (new, dispatched,
# arrived, reported on site): what the member still has to do. *Recently finished* ones are those
# of the last MEMBER_WORK_FINISHED_HOURS: declined, stood down, or current on a case that left
# on-site handling (resolved, transferred, closed, merged). An order's `finished_at` is its
# decline or stand-down time, else the case's resolution or closure (else its last change).

MEMBER_WORK_FINISHED_HOURS = DispatchOrder.STOOD_DOWN_VISIBLE_HOURS


@dataclass(frozen=True)
class MemberWork:
    member: Member  # annotated as by `member_of_user`
    live: list[DispatchOrder]  # newest dispatch first
    finished: list[DispatchOrder]  # most recently finished first


def member_of_user(*, user: Actor, at: datetime | None = None) -> Member | None:
    """The active member linked to `user` (None for anonymous users and users without one), with
    their unit, `on_duty` (a shift covers `at`, default now) and their last known position
    (`last_point`, `last_recorded_at`, `last_accuracy_m`; None when they never shared one). One query."""
    if user is None or not user.is_authenticated:
        return None
    return (Member.objects.filter(user=user, active=True).select_related("unit")
            .annotate(on_duty=on_duty_at(at or timezone.now()), last_point=F("position__point"),
                      last_recorded_at=F("position__recorded_at"), last_accuracy_m=F("position__accuracy_m"))
            .first())


def member_grids(*, member: Member, at: datetime | None = None) -> list[Grid]:
    """The grids `member` serves in the version in force at `at` (default now), then those they will
    serve in the published versions that take effect later (each `upcoming`), by effective time and
    code; each with its community and `effective_from` (its version's). One query."""
    at = at or timezone.now()
    in_force = boundary_versions_in_force_first(subdistrict=member.subdistrict_id, at=at).values("pk")[:1]
    grids = list(Grid.objects.filter(members=member, subdistrict_id=member.subdistrict_id,
                                     version__status=BoundaryVersion.Status.PUBLISHED)
                 .filter(Q(version_id=Subquery(in_force)) | Q(version__effective_from__gt=at))
                 .select_related("community").annotate(effective_from=F("version__effective_from"))
                 .only("id", "code", "name", "community__id", "community__name")
                 .order_by("effective_from", "code"))
    for grid in grids:
        grid.upcoming = grid.effective_from > at  # type: ignore[attr-defined]  # for the serializer, not a field
    return list(grids)


def _member_orders(member: Member) -> QuerySet[DispatchOrder]:
    """The member's orders with their case and category, the case's orders *of this member only*
    and hand-overs *of the member's unit only* prefetched — all that
    `incidents.api_support.transitions_permitted` reads for this member (so `incident.orders.all()`
    here is not every order of the case). Three queries whatever the number of orders."""
    finished_at = Case(
        When(state=DispatchOrder.State.DECLINED, then=F("declined_at")),
        When(state=DispatchOrder.State.STOOD_DOWN, then=F("stood_down_at")),
        default=Coalesce("incident__resolved_at", "incident__closed_at", "incident__updated_at"),
        output_field=DateTimeField(),
    )
    return (DispatchOrder.objects.filter(member=member)
            .select_related("incident__category")
            .annotate(finished_at=finished_at)
            .prefetch_related(
                Prefetch("incident__orders", queryset=DispatchOrder.objects.filter(member=member)
                         .only("id", "incident_id", "member_id", "state")),
                Prefetch("incident__handovers", queryset=Handover.objects.filter(unit_id=member.unit_id)
                         .only("id", "incident_id", "unit_id", "state")))
            .order_by("-dispatched_at", "-id"))


def order_is_live(order: DispatchOrder) -> bool:
    """Current (on the way or on the scene) on a case still handled on site."""
    return order.state in DispatchOrder.CURRENT_STATES and order.incident.status in flows.OPEN_ON_SITE


def member_work(*, member: Member, at: datetime | None = None) -> MemberWork:
    """A member's live orders and those finished in the last MEMBER_WORK_FINISHED_HOURS (see the
    block comment above). Three queries whatever the number of orders."""
    since = (at or timezone.now()) - timedelta(hours=MEMBER_WORK_FINISHED_HOURS)
    on_site = Q(state__in=DispatchOrder.CURRENT_STATES, incident__status__in=flows.OPEN_ON_SITE)
    orders = list(_member_orders(member).filter(on_site | Q(finished_at__gte=since)))
    live = [o for o in orders if order_is_live(o)]
    finished = sorted((o for o in orders if not order_is_live(o)),
                      key=lambda o: (o.finished_at, o.pk),  # type: ignore[attr-defined]  # annotated by _member_orders
                      reverse=True)
    return MemberWork(member=member, live=live, finished=finished)


def member_order(*, member: Member, order_id: int) -> DispatchOrder | None:
    """One of the member's own orders, whatever its age (None for another member's)."""
    return _member_orders(member).filter(pk=order_id).first()


# --- reaching a person: the delivery of each message of a case (issue 10) ---------------------------

def message_status(*, incident_id: int) -> list[MemberMessage]:
    """Every message of a case (orders, stand-downs, reminders, alarms, major-incident calls), oldest
    first, with its member: when it was written (told), read in the app (`read_at`), and its
    outbound delivery (`state`, `sent_at`, `attempts`, `last_error`). One query."""
    return list(MemberMessage.objects.filter(incident_id=incident_id).select_related("member")
                .only("id", "kind", "order_id", "alarm_id", "incident_id", "created_at", "read_at", "deliver_after",
                      "state", "sent_at", "attempts", "last_error", "member__id", "member__name")
                .order_by("created_at", "id"))


# --- the responders' app: a leader's team (issue 10) ------------------------------------------------
#
# "My team" on a leader's phone, nobody else's data: a grid leader (force or role `grid_leader`,
# with the responder role: `incidents.selectors.incidents_visible_to`, which this reuses) sees the
# open cases of the grids they serve and who is sent to each; a unit leader (role `unit_leader`, or
# `shift_leader`: the clock tells them when no unit leader is on duty) sees the current orders of
# their unit's members and the overdue alarms they were told of as a leader — never the late
# member's own reminder. Every list is capped (TEAM_LIMIT) and read in a fixed number of queries.

TEAM_LIMIT = 100
TEAM_ACKNOWLEDGED_HOURS = 24  # acknowledged alarms stay listed this long (as acknowledged)
LEADER_ALARM_KINDS = (Alarm.Kind.ARRIVAL_OVERDUE, Alarm.Kind.HANDOVER_ACCEPT_OVERDUE,
                      Alarm.Kind.HANDOVER_REPORT_OVERDUE)
GRID_LEADER, UNIT_LEADER = "grid_leader", "unit_leader"


def leader_roles(*, user: Actor, member: Member) -> list[str]:
    """Which sections of "My team" the member's phone shows: "grid_leader", "unit_leader" (none for
    a plain responder)."""
    roles = []
    member_roles = set(member.roles or ())
    if ((member.force == Force.GRID_LEADER or Role.GRID_LEADER in member_roles)
            and has_role(user, UserRole.RESPONDER)):
        roles.append(GRID_LEADER)
    if member_roles & {Role.UNIT_LEADER, Role.SHIFT_LEADER}:
        roles.append(UNIT_LEADER)
    return roles


def alarms_told_to_leader(*, member: Member) -> QuerySet[Alarm]:
    """The overdue alarms (arrival, hand-over) `member` was told of as a leader: in `notified`, and
    not the late member themself (whose copy is a reminder)."""
    return (Alarm.objects.filter(kind__in=LEADER_ALARM_KINDS, notified__contains=[member.pk])
            .exclude(order__member_id=member.pk))


def team_alarms(*, member: Member, at: datetime | None = None) -> list[Alarm]:
    """The alarms a leader was told of that are still to handle (open, snoozed), then those
    acknowledged in the last TEAM_ACKNOWLEDGED_HOURS; newest first in each. One query."""
    since = (at or timezone.now()) - timedelta(hours=TEAM_ACKNOWLEDGED_HOURS)
    alarms = (alarms_told_to_leader(member=member)
              .filter(~Q(state=Alarm.State.ACKNOWLEDGED) | Q(acknowledged_at__gte=since))
              .select_related("incident", "order__member__unit", "handover__unit", "acknowledged_by__member")
              .order_by("-raised_at", "-id")[:TEAM_LIMIT])
    return sorted(alarms, key=lambda a: a.state == Alarm.State.ACKNOWLEDGED)  # stable: newest first in each


def team_unit_orders(*, member: Member) -> list[DispatchOrder]:
    """The current orders (on the way or on the scene) of the members of `member`'s unit on cases
    still handled on site: the earliest deadline first (none last), then the newest. One query."""
    return list(DispatchOrder.objects.current()
                .filter(member__unit_id=member.unit_id, member__active=True,
                        incident__status__in=flows.OPEN_ON_SITE)
                .select_related("member__unit", "incident__category")
                .order_by(F("arrive_by").asc(nulls_last=True), "-dispatched_at", "-id")[:TEAM_LIMIT])


def team_grid_incidents(*, user: Actor, member: Member) -> list[Incident]:
    """The open cases of the grids `member` serves, as `user` may see them (the grid leader's rule
    of `incidents_visible_to`), major first then newest, each with its current orders and their
    members (`team_orders`). Two queries."""
    orders = DispatchOrder.objects.current().select_related("member__unit").order_by("dispatched_at", "id")
    return list(incidents_visible_to(user)
                .filter(subdistrict_id=member.subdistrict_id, grid__in=member.grids.values("pk"),
                        status__in=flows.OPEN_STATUSES)
                .exclude(status=Status.NEEDS_LOCATION)
                .select_related("category", "grid")
                .defer("grid__boundary")
                .prefetch_related(Prefetch("orders", queryset=orders, to_attr="team_orders"))
                .order_by("-major", "-reported_at", "-id")[:TEAM_LIMIT])
