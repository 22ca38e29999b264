"""Read queries of incidents. Every list is scoped to one sub-district; a responder sees only
the cases they are dispatched to (a grid leader also those of their grids, read-only), a
department only the cases handed to its unit."""

from datetime import datetime, timedelta
from typing import TypedDict

from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.utils import timezone

from config.roles import CONTACT_REVEAL_ROLES, MEMBER_ROLES, STAFF_ROLES, Actor, UserRole, has_role
from dispatch.models import DispatchOrder, Force, Member, Role, Unit
from geo.models import Subdistrict
from geo.tenancy import tenant_q
from incidents import flows
from incidents.models import Category, CategoryRule, Handover, Incident, IncidentEvent, Status


def incidents_visible_to(user: Actor) -> QuerySet[Incident]:
    """The cases a user may see at all (404 for the others): staff those of their sub-districts; a member's login (responder
    or a unit's staff: MEMBER_ROLES) those they hold a current or arrived order of, or one stood down
    in the last day, as the member app lists them (never a declined one) — whoever is dispatched
    sees the case, whatever their unit; a grid leader (role or force `grid_leader`) also those of
    their grids; a unit's staff (department, responder) those handed to their unit."""
    qs = Incident.objects.all()
    if has_role(user, *STAFF_ROLES):
        return qs.filter(tenant_q(user))  # their own sub-districts' (geo/tenancy.py)
    if has_role(user, UserRole.INTEGRATION):
        # An external system's key sees the cases its channels (`Channel.client`) brought in or
        # reported again, whichever channel opened them, in the sub-districts it is bound to (its
        # tenancy); Open311 reads go through here as well.
        return qs.filter(tenant_q(user)).filter(Q(channel__client=user) | Q(reports__channel__client=user)).distinct()
    member = getattr(user, "member", None)
    if member is None:
        return qs.none()
    scope = Q(pk__in=[])
    if has_role(user, *MEMBER_ROLES):
        # Their order, current or arrived; stood down, only for the member app's last day; declined, never.
        recent = timezone.now() - timedelta(hours=DispatchOrder.STOOD_DOWN_VISIBLE_HOURS)
        scope |= Q(pk__in=DispatchOrder.objects.filter(member=member).filter(
            Q(state__in=DispatchOrder.CURRENT_STATES)
            | Q(state=DispatchOrder.State.STOOD_DOWN, stood_down_at__gte=recent)).values("incident_id"))
    if has_role(user, UserRole.RESPONDER):
        if member.force == Force.GRID_LEADER or Role.GRID_LEADER in (member.roles or ()):
            # A grid leader also sees the cases of their grids: to read, not to act (the
            # transitions and order answers keep their own checks). A subquery: still one query.
            scope |= Q(grid__in=member.grids.values("pk"))
    if has_role(user, UserRole.DEPARTMENT, UserRole.RESPONDER):
        scope |= Q(handovers__unit=member.unit_id)
    return qs.filter(scope).distinct()


def contact_reveal_allowed(*, user: Actor, incident: Incident) -> bool:
    """Whether the user may reveal the callers' and parties' names and phones of a case they see
    (masked for everybody otherwise): CONTACT_REVEAL_ROLES (the command room, dispatchers, leaders),
    and the member holding a current order of the case — they call the caller from the road. A
    call-taker, a unit's staff without an order, an external system: no. Reads `incident.orders`
    (prefetched by `incident_detail`)."""
    if has_role(user, *CONTACT_REVEAL_ROLES):
        return True
    member = getattr(user, "member", None) if user.is_authenticated else None
    if member is None or not has_role(user, *MEMBER_ROLES):
        return False
    return any(o.member_id == member.pk and o.state in DispatchOrder.CURRENT_STATES for o in incident.orders.all())


def incident_queue(*, user: Actor, subdistrict: Subdistrict, queue: str = "open",
                   limit: int = 200) -> QuerySet[Incident]:
    """The live queue (open cases, newest first), the "needs location" queue, or the hand-overs
    waiting for a unit."""
    qs = incidents_visible_to(user).filter(subdistrict=subdistrict).select_related(
        "category", "channel", "grid", "community")
    if queue == "needs_location":
        qs = qs.filter(status=Status.NEEDS_LOCATION)
    elif queue == "handovers":
        qs = qs.filter(handovers__state=Handover.State.PENDING).distinct()
    elif queue == "outside":
        qs = qs.filter(outside_jurisdiction=True, status__in=flows.OPEN_STATUSES)
    else:
        qs = qs.filter(status__in=flows.OPEN_STATUSES).exclude(status=Status.NEEDS_LOCATION)
    return qs.order_by("-major", "-reported_at")[:limit]


def incident_detail(*, user: Actor, incident_id: int) -> Incident | None:
    """The case with what its page and its API answer show. The boundaries of its grid, community
    and sub-district and the footprint of its place are not read (the case shows their names), and
    the case it was merged into is read only when there is one: an eighth table in the join doubled
    the query's planning time (~3 ms against ~1.5, on every read, every transition's answer and
    every page)."""
    return (incidents_visible_to(user).select_related("category", "channel", "grid", "community", "place",
                                                      "subdistrict")
            .defer("grid__boundary", "community__boundary", "subdistrict__boundary", "place__footprint")
            .prefetch_related("events__actor", "events__actor_member", "reports__channel", "parties",
                              "handovers__unit", "orders__member__unit", "callbacks", "deliveries")
            .filter(pk=incident_id).first())


def category_suggest(text: str, *, limit: int = 3) -> list[tuple[Category, int]]:
    """Categories whose keyword rules occur in the text, heaviest first."""
    text = text or ""
    scores: dict[int, int] = {}
    for rule in CategoryRule.objects.filter(active=True).only("keyword", "weight", "category_id"):
        if rule.keyword and rule.keyword in text:
            scores[rule.category_id] = scores.get(rule.category_id, 0) + rule.weight
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    categories = Category.objects.in_bulk([cid for cid, _ in ranked])
    return [(categories[cid], score) for cid, score in ranked]


class ReturnCount(TypedDict):
    unit_id: int
    unit__name: str
    received: int
    returned: int


def handover_return_counts(*, subdistrict: Subdistrict) -> list[ReturnCount]:
    """Bounced cases: returns per unit, with the hand-overs received, most returns first."""
    return list(
        Handover.objects.filter(incident__subdistrict=subdistrict)
        .values("unit_id", "unit__name")
        .annotate(received=Count("id"), returned=Count("id", filter=Q(state=Handover.State.RETURNED)))
        .order_by("-returned", "unit__name")
    )


# --- the department queue (/dept/) ------------------------------------------------------------------
#
# A unit's work: its parts of cases (hand-overs to it), in three lists — waiting for its decision
# (pending, by `accept_by`), being worked on (accepted, by the report `deadline`, with the unit's
# progress notes from the timeline), and done in the last DEPT_DONE_DAYS (completed or returned,
# most recent first). Two queries whatever the number of parts: the parts with their cases, and
# the progress notes of the parts being worked on.

DEPT_DONE_DAYS = 7


def dept_unit_of(user: Actor) -> Unit | None:
    """The unit of the user's active member record, or None (anonymous, no member, inactive)."""
    if user is None or not user.is_authenticated:
        return None
    member = Member.objects.filter(user=user, active=True).select_related("unit").first()
    return None if member is None else member.unit


def _dept_parts(unit: Unit) -> QuerySet[Handover]:
    return (Handover.objects.filter(unit=unit)
            .select_related("incident", "incident__category", "created_by"))


def dept_queue(*, unit: Unit, now: datetime) -> dict[str, list[Handover]]:
    """{"waiting", "working", "done"}: the unit's parts (hand-overs) in the three lists. Each part
    of "working" carries `progress_notes`: the unit's PROGRESS events of its case, oldest first."""
    since = now - timedelta(days=DEPT_DONE_DAYS)
    parts = list(
        _dept_parts(unit).filter(
            Q(state__in=[Handover.State.PENDING, Handover.State.ACCEPTED])
            | Q(state=Handover.State.COMPLETED, completed_at__gte=since)
            | Q(state=Handover.State.RETURNED, decided_at__gte=since))
        .order_by(F("accept_by").asc(nulls_last=True), "created_at", "id"))
    waiting = [p for p in parts if p.state == Handover.State.PENDING]
    working = sorted((p for p in parts if p.state == Handover.State.ACCEPTED),
                     key=lambda p: (p.deadline is None, p.deadline or now, p.pk))
    done = sorted((p for p in parts if p.state in (Handover.State.COMPLETED, Handover.State.RETURNED)),
                  key=lambda p: dept_part_finished_at(p) or now, reverse=True)
    notes: dict[int, list[IncidentEvent]] = {}
    if working:
        for event in (IncidentEvent.objects.filter(
                kind=IncidentEvent.Kind.PROGRESS, incident_id__in={p.incident_id for p in working},
                data__unit=unit.pk).select_related("actor", "actor_member").order_by("id")):
            notes.setdefault(event.incident_id, []).append(event)
    for p in working:
        p.progress_notes = notes.get(p.incident_id, [])  # type: ignore[attr-defined]  # read by the page
    return {"waiting": waiting, "working": working, "done": done}


def dept_part_finished_at(part: Handover) -> datetime | None:
    """When a done part ended: completed, or returned."""
    return part.completed_at if part.state == Handover.State.COMPLETED else part.decided_at


def dept_part(*, unit: Unit, handover_id: int) -> Handover | None:
    """One part of the unit (another unit's: None), with its case's orders and every part of the
    case (for `transitions_permitted` and the other offices' states) and the unit's progress notes.
    A constant number of queries."""
    part = (_dept_parts(unit).select_related("incident__subdistrict")
            .prefetch_related("incident__orders",
                              Prefetch("incident__handovers",
                                       queryset=Handover.objects.select_related("unit").order_by("created_at", "id")))
            .filter(pk=handover_id).first())
    if part is not None:
        part.progress_notes = list(IncidentEvent.objects.filter(  # type: ignore[attr-defined]  # read by the page
            kind=IncidentEvent.Kind.PROGRESS, incident_id=part.incident_id, data__unit=unit.pk)
            .select_related("actor", "actor_member").order_by("id"))
    return part
