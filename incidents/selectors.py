"""Read queries of incidents. Every list is scoped to one sub-district; a responder sees only
the cases they are dispatched to, a department only the cases handed to its unit."""

from django.db.models import Count, Q, QuerySet

from config.roles import STAFF_ROLES, UserRole, has_role
from dispatch.models import DispatchOrder
from incidents import flows
from incidents.models import Category, CategoryRule, Handover, Incident, Status


def incidents_visible_to(user) -> QuerySet[Incident]:
    """The cases a user may see at all (404 for the others)."""
    qs = Incident.objects.all()
    if has_role(user, *STAFF_ROLES):
        return qs
    member = getattr(user, "member", None)
    if member is None:
        return qs.none()
    scope = Q(pk__in=[])
    if has_role(user, UserRole.RESPONDER):
        scope |= Q(orders__member=member) & ~Q(orders__state=DispatchOrder.State.DECLINED)
    if has_role(user, UserRole.DEPARTMENT, UserRole.RESPONDER):
        scope |= Q(handovers__unit=member.unit_id)
    return qs.filter(scope).distinct()


def incident_queue(*, user, subdistrict, queue: str = "open", limit: int = 200) -> QuerySet[Incident]:
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


def incident_detail(*, user, incident_id: int) -> Incident | None:
    return (incidents_visible_to(user).select_related("category", "channel", "grid", "community", "place",
                                                      "subdistrict", "merged_into")
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


def handover_return_counts(*, subdistrict) -> list[dict]:
    """Bounced cases: returns per unit, with the hand-overs received, most returns first."""
    return list(
        Handover.objects.filter(incident__subdistrict=subdistrict)
        .values("unit_id", "unit__name")
        .annotate(received=Count("id"), returned=Count("id", filter=Q(state=Handover.State.RETURNED)))
        .order_by("-returned", "unit__name")
    )
