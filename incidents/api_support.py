"""Small reads (and one auth write) that the REST and Open311 APIs need and that the services and
selectors do not offer: scoping by sub-district code, the pick-lists of the forms, the call-back
queue, the Open311 request list, and which transitions a user may make now.

Nothing here changes an incident: every change goes through `incidents.services`.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from rest_framework.authtoken.models import Token

from dispatch.models import DispatchOrder, Unit
from geo.models import Subdistrict
from incidents import flows
from incidents.models import (
    CallbackTask,
    Category,
    CategoryRule,
    Channel,
    Handover,
    Incident,
    IncidentEvent,
    Party,
    Report,
    Status,
)
from incidents.selectors import incidents_visible_to
from incidents.services import HANDOVER_STATES_OF_UNIT

CLOSED_STATUSES = (Status.CLOSED, Status.MERGED)
OPEN311_MAX_REQUESTS = 1000


# --- scoping -------------------------------------------------------------------------------------

def incident_is_visible(*, user, incident_id: int) -> bool:
    """Whether the user may see the case at all (the API answers 404 otherwise)."""
    return incidents_visible_to(user).filter(pk=incident_id).exists()


def intake_retry_answerable(*, user, incident_id: int, channel, external_id: str | None) -> bool:
    """Whether an intake that found its case already taken may answer with it: the user sees the
    case, or sent that report themselves (a retry of their own)."""
    if incident_is_visible(user=user, incident_id=incident_id):
        return True
    return bool(external_id) and Report.objects.filter(
        incident_id=incident_id, channel=channel, external_id=external_id, received_by=user).exists()


def party_incident_id(*, party_id: int) -> int | None:
    return Party.objects.filter(pk=party_id).values_list("incident_id", flat=True).first()


def incidents_only_visible(*, user, incidents: Sequence[Incident]) -> list[Incident]:
    """The given incidents the user may see, in the same order (likely duplicates shown at intake
    must not reveal cases to a user who may not see them, e.g. an external system)."""
    if not incidents:
        return []
    visible = set(incidents_visible_to(user).filter(pk__in=[i.pk for i in incidents]).values_list("pk", flat=True))
    return [i for i in incidents if i.pk in visible]


# --- pick-lists ----------------------------------------------------------------------------------

def category_list() -> QuerySet[Category]:
    return Category.objects.order_by("sort_order", "code")


def channel_list() -> QuerySet[Channel]:
    return Channel.objects.filter(active=True).order_by("sort_order", "code")


def unit_list(*, subdistrict: Subdistrict) -> QuerySet[Unit]:
    return Unit.objects.filter(subdistrict=subdistrict).order_by("code")


def category_keywords() -> dict[int, list[str]]:
    """The active suggestion keywords per category id (Open311 `keywords`)."""
    out: dict[int, list[str]] = {}
    for category_id, keyword in CategoryRule.objects.filter(active=True).order_by("-weight", "keyword") \
            .values_list("category_id", "keyword"):
        out.setdefault(category_id, []).append(keyword)
    return out


def default_intake_channel(*, user=None) -> Channel | None:
    """The channel of machine intake when none is named: the sender's own channel (`Channel.client`),
    else the district centre's dispatch orders."""
    own = channel_list().filter(client=user).first() if user is not None and user.is_authenticated else None
    return own or channel_list().filter(kind=Channel.Kind.DISTRICT_ORDER).first()


def callback_list(*, subdistrict: Subdistrict, state: str | None = None, limit: int = 500) -> QuerySet[CallbackTask]:
    qs = CallbackTask.objects.filter(incident__subdistrict=subdistrict).select_related("incident")
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("created_at", "id")[:limit]


# --- what a user may do now ----------------------------------------------------------------------




def transitions_permitted(*, user, incident: Incident) -> list[flows.Transition]:
    """The transitions the flow allows now that this user may make, for the buttons of the UI.

    The same rule as the service's check (`flows.actor_may`), on the incident's prefetched orders
    and hand-overs. The service stays the authority: a button shown here may still be refused
    (409/400) when it is pressed."""
    member = getattr(user, "member", None) if user.is_authenticated else None
    live_order = member is not None and any(
        o.member_id == member.pk and o.state in DispatchOrder.CURRENT_STATES for o in incident.orders.all())
    unit_handover = member is not None and any(
        h.unit_id == member.unit_id and h.state in HANDOVER_STATES_OF_UNIT for h in incident.handovers.all())
    return [t for t in flows.available_actions(flow=incident.flow, status=incident.status)
            if flows.actor_may(t, user, live_order=live_order, unit_handover=unit_handover)]


# --- Open311 -------------------------------------------------------------------------------------

def _open311_queryset(user) -> QuerySet[Incident]:
    """A key-less read (anonymous) gets every case, and Open311 shows it with the public fields
    only; a keyed read gets the cases its user may see: the rule of /api/v1/incidents/."""
    notes = IncidentEvent.objects.filter(
        kind=IncidentEvent.Kind.STATUS_CHANGED, to_status__in=[Status.FED_BACK, Status.MERGED]
    ).order_by("-id")
    cases = incidents_visible_to(user) if user.is_authenticated else Incident.objects.all()
    return cases.select_related("category", "subdistrict", "place", "community").prefetch_related(
        Prefetch("handovers", queryset=Handover.objects.select_related("unit").order_by("-lead", "id")),
        Prefetch("events", queryset=notes, to_attr="open311_notes"),
    )


def open311_request_list(
    *, user, subdistrict: Subdistrict, service_codes: Iterable[str] = (), statuses: Iterable[str] = (),
    start: datetime | None = None, end: datetime | None = None, numbers: Iterable[str] = (),
    limit: int = OPEN311_MAX_REQUESTS,
) -> list[Incident]:
    """Requests (incidents) of a sub-district for GeoReport v2, newest first. `statuses` are
    Open311's: "open" (every open status of both flows) and "closed" (closed or merged)."""
    qs = _open311_queryset(user).filter(subdistrict=subdistrict)
    service_codes, statuses, numbers = list(service_codes), set(statuses), list(numbers)
    if service_codes:
        qs = qs.filter(category__code__in=service_codes)
    if statuses == {"open"}:
        qs = qs.exclude(status__in=CLOSED_STATUSES)
    elif statuses == {"closed"}:
        qs = qs.filter(status__in=CLOSED_STATUSES)
    if start is not None:
        qs = qs.filter(reported_at__gte=start)
    if end is not None:
        qs = qs.filter(reported_at__lte=end)
    if numbers:
        qs = qs.filter(number__in=numbers)
    return list(qs.order_by("-reported_at", "-id")[:min(limit, OPEN311_MAX_REQUESTS)])


def open311_request_get(*, user, number: str) -> Incident | None:
    return _open311_queryset(user).filter(number=number).first()


def open311_agency(incident: Incident) -> str:
    """The unit now responsible: the lead unit holding the hand-over, else the sub-district."""
    for handover in incident.handovers.all():
        if handover.state != Handover.State.RETURNED:
            return handover.unit.name
    return incident.subdistrict.name


def open311_status_notes(incident: Incident) -> str:
    """The result fed back to the source (or the merge note); nothing while the case is worked on."""
    if incident.status not in (Status.FED_BACK, Status.CLOSED, Status.MERGED):
        return ""
    wanted = Status.MERGED if incident.status == Status.MERGED else Status.FED_BACK
    for event in getattr(incident, "open311_notes", []):
        if event.to_status == wanted:
            return event.note
    return ""


# --- API tokens ----------------------------------------------------------------------------------

def api_token_issue(*, user, rotate: bool = False, channel: Channel | None = None) -> tuple[Token, bool]:
    """The user's DRF token, created if absent; `rotate` replaces an existing one (the old key
    stops working at once). `channel`: the user becomes the external system of that channel
    (`Channel.client`), whose cases its key may read. Returns the token and whether it is new."""
    with transaction.atomic():
        if channel is not None:
            Channel.objects.filter(pk=channel.pk).update(client=user)
        if rotate:
            Token.objects.filter(user=user).delete()
        return Token.objects.get_or_create(user=user)
