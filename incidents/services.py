"""The operations that change incidents. Each runs in one transaction: lock, check, mutate,
append the timeline event, publish after commit. Views and the API call these and nothing else.

A move along a flow goes through `dispatch.services.incident_transition` (dispatching has one
home): this module gives it the lifecycle primitives — `incident_lock`, `transition_check`,
`transition_handle`, `status_set` — and never imports dispatch's logic (only its models).

Errors are `DomainError` (400), `TransitionRefused` (409) or `Forbidden` (403); a refused call
changes nothing.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast, overload

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import DomainError, Forbidden, TransitionRefused
from config.roles import COMMAND_ROLES, INTAKE_ROLES, REVEAL_ROLES, STAFF_ROLES, Actor, UserRole, has_role
from dispatch.models import DispatchOrder, Member, Unit
from geo.gazetteer import geocode, locate
from geo.models import Place, Subdistrict
from geo.tenancy import is_tenant, subdistrict_for
from incidents import flows
from incidents import photos as photos_module
from incidents.events import event_append
from incidents.locks import incident_lock_one, incidents_lock
from incidents.models import (
    PHOTOS_PER_REPORT,
    CallbackTask,
    Category,
    Channel,
    FeedbackDelivery,
    Flow,
    Handover,
    Incident,
    IncidentEvent,
    IncidentPhoto,
    Party,
    Report,
    Status,
    mask_name,
)
from incidents.selectors import contact_reveal_allowed, incidents_visible_to
from incidents.validators import clean_text, validate_id_number, validate_phone

MAX_DESCRIPTION = 4000
MAX_TEXT = 2000


def _require_role(actor: Actor, roles: Sequence[str]) -> None:
    if actor is None or not has_role(actor, *roles):
        raise Forbidden(_("Your role may not do this."), code="forbidden")


def actor_member(actor: Actor | None) -> Member | None:
    """The member linked to the acting user (a responder, a unit's staff), if any."""
    return getattr(actor, "member", None) if actor is not None and actor.is_authenticated else None


# --- case numbers ------------------------------------------------------------------------------

def incident_number_next(*, day: date) -> str:
    """The next case number of a day, "YYYYMMDD-NNNN". The upsert holds the day's counter row
    until the transaction ends, so concurrent intakes get distinct numbers. The first number of
    a day continues after any case already numbered for it (the demo's history)."""
    prefix = day.strftime("%Y%m%d")
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO incidents_incidentcounter (day, last)
            VALUES (%s, 1 + (SELECT count(*) FROM incidents_incident WHERE number LIKE %s))
            ON CONFLICT (day) DO UPDATE SET last = incidents_incidentcounter.last + 1
            RETURNING last
            """,
            [day, prefix + "-%"],
        )
        (n,) = cur.fetchone()
    return f"{prefix}-{n:04d}"


# --- intake ------------------------------------------------------------------------------------

@dataclass
class IntakeResult:
    incident: Incident
    report: Report | None
    created: bool
    duplicates: list[Incident] = field(default_factory=list)


@overload
def check_point(point: Point) -> Point: ...
@overload
def check_point(point: None) -> None: ...
def check_point(point: Point | None) -> Point | None:
    """A point in WGS 84 (transformed if it came in another SRID), refused outside lon/lat range."""
    if point is None:
        return None
    if point.srid not in (None, 4326):
        point = cast(Point, point.transform(4326, clone=True))  # a clone of a Point is a Point
    lon, lat = point.x, point.y
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise DomainError(_("The coordinates are not valid longitude/latitude."), code="location")
    return Point(lon, lat, srid=4326)


def incident_intake(
    *, channel: Channel, category: Category, description: str, actor: Actor, location: Point | None = None,
    address_text: str = "", external_id: str | None = None, caller_name: str = "", caller_phone: str = "",
    major: bool = False, reported_at: datetime | None = None, link_to: int | None = None,
    subdistrict: Subdistrict | None = None, offices: Sequence[Unit] = (), deadline: datetime | None = None,
) -> IntakeResult:
    """Take one report from any channel into an incident.

    - The same channel + external id again returns the existing incident (created=False), also
      when 20 identical posts race: the day's counter row serialises them and the unique index on
      (channel, external id) is the last word.
    - `link_to`: the report is attached to that open incident instead of opening a new one (one
      the actor sees: 404 otherwise). An external system posts only on its own channels (403).
    - A point outside the sub-district but within `geo.gazetteer.NEAR_OUTSIDE_M` is taken as
      "outside jurisdiction" (for hand-over to the neighbour); farther away it is refused.
    - No point and an address the gazetteer cannot place: the case waits in the "needs location"
      queue. Joint-consultation assignment forms open off-site cases for `offices`.
    """
    _require_role(actor, INTAKE_ROLES)
    description = clean_text(description, field=_("Description"), max_length=MAX_DESCRIPTION, required=True)
    address_text = clean_text(address_text, field=_("Address"), max_length=256)
    caller_name = clean_text(caller_name, field=_("Caller name"), max_length=64)
    caller_phone = validate_phone(caller_phone or "", field=_("Caller phone"))
    external_id = clean_text(external_id, field=_("External id"), max_length=64) or None
    if not channel.active:
        raise DomainError(_("This channel is not in use."), code="channel")
    if (has_role(actor, UserRole.INTEGRATION) and not has_role(actor, *STAFF_ROLES)
            and channel.client_id is not None and channel.client_id != actor.pk):
        # An external system posts on its own channels (`Channel.client`), never as another system.
        raise Forbidden(_("This channel belongs to another system: post on your own channel."),
                        code="foreign_channel")
    if link_to is not None and not incidents_visible_to(actor).filter(pk=link_to).exists():
        # A report goes only to a case its sender sees: the answer would show the case.
        raise DomainError(_("No such case."), code="not_found", http_status=404)
    if channel.kind == Channel.Kind.DISTRICT_ORDER and not external_id:
        raise DomainError(_("A district dispatch order needs its external id."), code="external_id")
    off_site = channel.kind == Channel.Kind.JOINT_ASSIGNMENT
    if off_site and not offices:
        raise DomainError(_("An assignment form names at least one responsible office."), code="offices")
    location = check_point(location)
    if location is None and not address_text and not off_site:
        raise DomainError(_("Give the location on the map or an address."), code="location")
    reported_at = reported_at or timezone.now()
    try:
        with transaction.atomic():
            return _intake(
                channel=channel, category=category, description=description, actor=actor, location=location,
                address_text=address_text, external_id=external_id, caller_name=caller_name,
                caller_phone=caller_phone, major=major, reported_at=reported_at, link_to=link_to,
                subdistrict=subdistrict, offices=offices, deadline=deadline, off_site=off_site,
            )
    except IntegrityError:
        if external_id:
            existing = Report.objects.select_related("incident").filter(
                channel=channel, external_id=external_id
            ).first()
            if existing is not None:
                return IntakeResult(existing.incident, existing, created=False)
        raise


# Who must hear of the parts an assignment form hands to offices at intake: registered by a higher
# layer (dispatch tells the offices, `dispatch.apps`), called inside the intake's transaction.
_handovers_created_hooks: list[Callable[..., object]] = []


def on_handovers_created(hook: Callable[..., object]) -> None:
    """Register `hook(incident, parts, *, actor, at)`, called once per intake that hands parts to
    offices, inside its transaction, after the parts are written."""
    if hook not in _handovers_created_hooks:
        _handovers_created_hooks.append(hook)


def _intake(*, channel: Channel, category: Category, description: str, actor: Actor, location: Point | None,
            address_text: str, external_id: str | None, caller_name: str, caller_phone: str, major: bool,
            reported_at: datetime, link_to: int | None, subdistrict: Subdistrict | None, offices: Sequence[Unit],
            deadline: datetime | None, off_site: bool) -> IntakeResult:
    number = incident_number_next(day=timezone.localdate(reported_at))  # takes the day's lock first
    if external_id:
        existing = Report.objects.select_related("incident").filter(channel=channel, external_id=external_id).first()
        if existing is not None:
            return IntakeResult(existing.incident, existing, created=False)

    report_fields: dict[str, Any] = {
        "channel": channel, "external_id": external_id, "caller_name": caller_name, "caller_phone": caller_phone,
        "description": description, "address_text": address_text, "received_at": reported_at,
        "received_by": actor if actor and actor.is_authenticated else None,
    }
    if link_to is not None:
        target = incidents_lock([link_to], related=["subdistrict"]).get(link_to)  # its row only (incidents/locks.py)
        if target is None or target.status in (Status.CLOSED, Status.MERGED):
            raise DomainError(_("The case to link to is not open."), code="link_to")
        report = Report.objects.create(incident=target, **report_fields)
        event_append(incident=target, kind=IncidentEvent.Kind.REPORT_LINKED, actor=report_fields["received_by"],
                     note=description, data={"report": report.pk, "channel": channel.code,
                                             "caller_name": mask_name(caller_name)}, at=reported_at)
        return IntakeResult(target, report, created=False)

    place = None
    status = Status.ASSIGNED if off_site else Status.NEW
    if location is None and address_text:
        scope = subdistrict or _default_subdistrict(actor)
        address = geocode(scope, address_text)
        if address is not None:
            location, place = address.location, address.place
    # The grid of the version in force when the report came in (a report timed before a new version
    # took effect keeps the old version's grid, and its staff).
    where = locate(location, at=reported_at, subdistrict=subdistrict) if location is not None else None
    if where is not None and where.subdistrict is None:
        raise DomainError(
            _("The location lies outside the sub-district and its surroundings; check the coordinates."),
            code="location",
        )
    if where is not None:
        subdistrict = where.subdistrict
    subdistrict = subdistrict or _default_subdistrict(actor)
    if not _may_take_in(actor, subdistrict):
        raise DomainError(_("This case lies in a sub-district you do not work in; check the location."),
                          code="not_your_subdistrict")
    if any(office.subdistrict_id != subdistrict.pk for office in offices):
        # The case's parts go to the offices of its own sub-district: another's would see it.
        raise DomainError(_("That unit belongs to another sub-district."), code="offices")
    if location is None and not off_site:
        status = Status.NEEDS_LOCATION
    if place is None and location is not None and where and not where.outside:
        place = _place_at(subdistrict, location)

    incident = Incident.objects.create(
        subdistrict=subdistrict, number=number, channel=channel, external_id=external_id, category=category,
        flow=Flow.OFF_SITE if off_site else Flow.ON_SITE, status=status,
        major=bool(major or category.major_by_default), description=description, address_text=address_text,
        location=location, grid=where.grid if where else None, community=where.community if where else None,
        place=place, caller_name=caller_name, caller_phone=caller_phone, reported_at=reported_at,
        created_by=report_fields["received_by"], outside_jurisdiction=bool(where and where.outside),
        deadline=deadline,
    )
    report = Report.objects.create(incident=incident, **report_fields)
    event_append(
        incident=incident, kind=IncidentEvent.Kind.CREATED, actor=report_fields["received_by"], to_status=status,
        note=description,
        data={"channel": channel.code, "category": category.code, "major": incident.major,
              "grid": incident.grid.code if incident.grid else None,
              "outside_jurisdiction": incident.outside_jurisdiction,
              "offices": [office.pk for office in offices]},
        at=reported_at,
    )
    # The offices' clocks start when they receive the form, not when a back-dated report says.
    handed_at = max(reported_at, timezone.now())
    parts = []
    for i, office in enumerate(offices):
        accept_by, report_by = handover_deadlines(office.kind, handed_at, deadline)
        parts.append(Handover.objects.create(
            incident=incident, unit=office, kind=Handover.Kind.ASSIGNMENT, reason=description, accept_by=accept_by,
            deadline=report_by, lead=(i == 0), created_at=handed_at, created_by=report_fields["received_by"],
        ))
    for hook in _handovers_created_hooks:
        hook(incident, parts, actor=report_fields["received_by"], at=handed_at)
    duplicates = duplicate_candidates(incident=incident) if location is not None else []
    return IntakeResult(incident, report, created=True, duplicates=duplicates)


def _default_subdistrict(actor: Actor | None) -> Subdistrict:
    """The sub-district of a report that names none and has no location: the actor's only one, or
    the one they chose (never a guess among several: geo/tenancy.py)."""
    sub = subdistrict_for(actor) if actor is not None and actor.is_authenticated else None
    if sub is None:
        raise DomainError(_("No sub-district of yours is set up."), code="subdistrict")
    return sub


def _may_take_in(actor: Actor | None, subdistrict: Subdistrict) -> bool:
    """A logged-in actor takes reports in for their own sub-districts only (a case whose location
    lies in another's is that command room's). Workers acting without a user pass."""
    return actor is None or not actor.is_authenticated or is_tenant(actor, subdistrict.pk)


def _place_at(subdistrict: Subdistrict, point: Point, within_m: float = 60) -> Place | None:
    """The place whose footprint covers the point, or whose point is within `within_m` metres."""
    covering = Place.objects.filter(subdistrict=subdistrict, footprint__covers=point).first()
    if covering:
        return covering
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id FROM geo_place WHERE subdistrict_id = %s AND ST_DWithin(location::geography,"
            " ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography, %s)"
            " ORDER BY location <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326) LIMIT 1",
            [subdistrict.pk, point.x, point.y, within_m, point.x, point.y],
        )
        row = cur.fetchone()
    return Place.objects.get(pk=row[0]) if row else None


def duplicate_candidates(
    *, incident: Incident | None = None, subdistrict: Subdistrict | None = None, point: Point | None = None,
    category: Category | None = None, at: datetime | None = None, limit: int = 5,
) -> list[Incident]:
    """Open incidents near and recent enough to be the same event (settings INTAKE_DUPLICATE_*),
    nearest first."""
    if incident is not None:
        subdistrict, point, category, at = incident.subdistrict, incident.location, incident.category, incident.reported_at
    if point is None or subdistrict is None:
        return []
    at = at or timezone.now()
    window = timedelta(minutes=settings.INTAKE_DUPLICATE_WINDOW_MINUTES)
    params = [point.x, point.y, subdistrict.pk, at - window, at + window, list(flows.OPEN_STATUSES),
              point.x, point.y, settings.INTAKE_DUPLICATE_RADIUS_M]
    sql = """
        SELECT i.id FROM incidents_incident i, ST_SetSRID(ST_MakePoint(%s, %s), 4326) AS p
        WHERE i.subdistrict_id = %s AND i.reported_at BETWEEN %s AND %s AND i.status = ANY(%s)
          AND i.location IS NOT NULL
          AND ST_DWithin(i.location::geography, ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography, %s)
    """
    if incident is not None:
        sql += " AND i.id <> %s"
        params.append(incident.pk)
    if settings.INTAKE_DUPLICATE_SAME_CATEGORY and category is not None:
        sql += " AND i.category_id = %s"
        params.append(category.pk)
    sql += " ORDER BY i.location <-> p, i.id LIMIT %s"
    params.append(limit)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        ids = [r[0] for r in cur.fetchall()]
    found = Incident.objects.select_related("category", "channel", "grid").in_bulk(ids)
    return [found[i] for i in ids]


def incident_merge_records(*, incident_id: int, into_id: int, actor: Actor) -> Incident:
    """Link a duplicate case into another: its reports and parties move over, it is marked merged.
    A primitive: `dispatch.services.incident_merge` calls it and then stands down the orders still
    on the way to the duplicate. Refused while responders are on the duplicate's scene."""
    _require_role(actor, COMMAND_ROLES + (UserRole.CALL_TAKER,))
    if incident_id == into_id:
        raise DomainError(_("A case cannot be merged into itself."), code="merge")
    with transaction.atomic():
        # Both cases in one call, in id order, their own rows only (incidents/locks.py).
        locked = incidents_lock([incident_id, into_id], related=["subdistrict"])
        if len(locked) != 2:
            raise DomainError(_("No such case."), code="not_found", http_status=404)
        dup, into = locked[incident_id], locked[into_id]
        if dup.subdistrict_id != into.subdistrict_id:
            raise DomainError(_("Cases of different sub-districts cannot be merged."), code="merge")
        for case in (dup, into):
            if case.status in (Status.CLOSED, Status.MERGED):
                raise TransitionRefused(_("Case %(number)s is no longer open.") % {"number": case.number})
        if dup.orders.filter(state=DispatchOrder.State.ARRIVED).exists():
            raise TransitionRefused(_("Responders are on the scene of case %(number)s; merge the other way.")
                                    % {"number": dup.number})
        moved = list(dup.reports.values_list("pk", flat=True))
        dup.reports.update(incident=into)
        dup.parties.update(incident=into)
        previous = dup.status
        dup.status, dup.merged_into = Status.MERGED, into
        dup.save(update_fields=["status", "merged_into", "updated_at"])
        event_append(incident=dup, kind=IncidentEvent.Kind.STATUS_CHANGED, actor=actor, from_status=previous,
                     to_status=Status.MERGED, note=_("Merged into %(number)s") % {"number": into.number},
                     data={"merged_into": into.pk})
        event_append(incident=into, kind=IncidentEvent.Kind.REPORT_LINKED, actor=actor,
                     note=_("Reports of %(number)s linked") % {"number": dup.number},
                     data={"merged": dup.pk, "reports": moved})
    return into


def incident_locate(*, incident_id: int, point: Point, actor: Actor) -> Incident:
    """Place a case of the "needs location" queue on the map: it becomes a new on-site case."""
    _require_role(actor, INTAKE_ROLES)
    point = check_point(point)
    with transaction.atomic():
        incident = _lock(incident_id)
        if incident.status != Status.NEEDS_LOCATION and not (incident.flow == Flow.OFF_SITE and incident.location is None):
            raise TransitionRefused(_("This case already has a location."))
        where = locate(point, at=incident.reported_at, subdistrict=incident.subdistrict)  # its version
        if where.subdistrict is None:
            raise DomainError(_("The location lies outside the sub-district and its surroundings; check the coordinates."),
                              code="location")
        previous = incident.status
        incident.location, incident.grid, incident.community = point, where.grid, where.community
        incident.outside_jurisdiction = where.outside
        incident.place = None if where.outside else _place_at(incident.subdistrict, point)
        if incident.status == Status.NEEDS_LOCATION:
            incident.status = Status.NEW
        incident.save()
        event_append(incident=incident, kind=IncidentEvent.Kind.LOCATED, actor=actor, from_status=previous,
                     to_status=incident.status,
                     data={"lon": point.x, "lat": point.y, "grid": where.grid.code if where.grid else None})
    return incident


def incident_set_category(*, incident_id: int, category: Category, actor: Actor) -> Incident:
    _require_role(actor, INTAKE_ROLES)
    with transaction.atomic():
        incident = _lock(incident_id)
        if incident.status in (Status.CLOSED, Status.MERGED):
            raise TransitionRefused(_("A closed case keeps its category."))
        if incident.category_id != category.pk:
            old = incident.category
            incident.category = category
            incident.major = incident.major or category.major_by_default
            incident.save(update_fields=["category", "major", "updated_at"])
            event_append(incident=incident, kind=IncidentEvent.Kind.CATEGORY_CHANGED, actor=actor,
                         data={"from": old.code, "to": category.code})
    return incident


# --- the lifecycle: primitives ------------------------------------------------------------------
#
# A transition is applied by `dispatch.services.incident_transition`, the one entry point of the
# transitions API: it locks the case (`incident_lock`), checks the move (`transition_check`), and
# then either writes orders itself (dispatch, arrive: the order lifecycle lives in `dispatch/`) or
# calls `transition_handle` here for a move of the case alone — and stands down the orders still on
# the way when the case leaves on-site handling. This app never imports dispatch's logic.

def incident_lock(incident_id: int) -> Incident:
    """Lock the incident row (FOR UPDATE of that row only) and read its sub-district, category and
    channel with it; step 2 of the lock order (incidents/locks.py). Precondition: inside a
    transaction. Unknown id: 404."""
    return incident_lock_one(incident_id, related=("subdistrict", "category", "channel"))


_lock = incident_lock


def member_has_current_order(member: Member | None, incident: Incident) -> bool:
    """Whether the member is dispatched to the case and has not declined or been stood down."""
    return member is not None and incident.orders.current().filter(member=member).exists()


def _open_handovers(incident: Incident) -> QuerySet[Handover]:
    return incident.handovers.filter(state__in=[Handover.State.PENDING, Handover.State.ACCEPTED])


HANDOVER_STATES_OF_UNIT = (Handover.State.PENDING, Handover.State.ACCEPTED, Handover.State.COMPLETED)


def transition_get(action: str) -> flows.Transition:
    t = flows.transition_for(action)
    if t is None:
        raise DomainError(_("Unknown action “%(action)s”.") % {"action": action}, code="action")
    return t


def transition_check(t: flows.Transition, incident: Incident, actor: Actor, *, unit: Unit | None = None) -> None:
    """Whether the locked case may make this move now: the flow allows it from the current
    status, the actor may make it (by role, as a member with a current order on the case, or as
    staff of a unit holding a hand-over), and a hand-over names a unit of the case's sub-district.
    Raises TransitionRefused (409), Forbidden (403) or DomainError (400); checks only."""
    if incident.flow not in t.flows or incident.status not in t.sources:
        raise TransitionRefused(
            _("The case is “%(status)s” (%(flow)s): “%(action)s” is not possible now.")
            % {"status": incident.get_status_display(), "flow": incident.get_flow_display(), "action": t.label}
        )
    if not (actor is not None and has_role(actor, *t.roles)):
        # Not allowed by role: the member's order and the unit's hand-over decide.
        member = actor_member(actor)
        live_order = member_has_current_order(member, incident)
        unit_handover = member is not None and incident.handovers.filter(
            unit=member.unit_id, state__in=HANDOVER_STATES_OF_UNIT).exists()
        if actor is None or not flows.actor_may(t, actor, live_order=live_order, unit_handover=unit_handover):
            raise Forbidden(_("Your role may not do “%(action)s” on this case.") % {"action": t.label},
                            code="forbidden")
    if "unit" in t.requires and unit is None:
        raise DomainError(_("Choose the unit to hand the case to."), code="unit")
    if "unit" in t.requires and unit is not None and unit.subdistrict_id != incident.subdistrict_id:
        raise DomainError(_("That unit belongs to another sub-district."), code="unit")


def transition_handle(*, incident: Incident, t: flows.Transition, actor: Actor, text: str = "", unit: Unit | None = None,
                      at: datetime, reason: str = "", photos: Sequence[photos_module.PreparedPhoto] = ()) -> None:
    """Apply a checked move of the case alone (not dispatch or arrival, which write orders).
    `photos` (prepared by `incidents.photos.photos_prepare`) go with an on-site report only.
    Precondition: the incident is locked and `transition_check` passed."""
    if photos and t.action != photos_module.REPORT_ACTION:
        raise DomainError(_("Photos go only with a report from the scene."), code="photos")
    handler = _HANDLERS.get(t.action, _plain)
    handler(incident=incident, t=t, actor=actor, text=text, unit=unit, at=at, reason=reason, photos=photos)


def status_set(incident: Incident, to: str, *, actor: Actor | None, at: datetime, note: str = "",
               data: dict[str, Any] | None = None,
               fields: Sequence[str] = ()) -> IncidentEvent:
    """Move the locked case to `to` and append the STATUS_CHANGED event (published after commit)."""
    previous = incident.status
    incident.status = to
    incident.save(update_fields=["status", "updated_at", *fields])
    return event_append(incident=incident, kind=IncidentEvent.Kind.STATUS_CHANGED, actor=actor,
                        actor_member=actor_member(actor), from_status=previous, to_status=to, note=note,
                        data=data, at=at)


_set_status = status_set


def _plain(*, incident: Incident, t: flows.Transition, actor: Actor, text: str, at: datetime, **_kw: object) -> None:
    """A transition that only moves the status (or, without a target, only notes)."""
    if t.target is None:
        event_append(incident=incident, kind=IncidentEvent.Kind.NOTE, actor=actor, actor_member=actor_member(actor),
                     note=text, data={"action": t.action}, at=at)
    elif incident.status != t.target:
        _set_status(incident, t.target, actor=actor, at=at, note=text, data={"action": t.action})
    else:
        event_append(incident=incident, kind=IncidentEvent.Kind.NOTE, actor=actor, actor_member=actor_member(actor),
                     note=text, data={"action": t.action}, at=at)


def _report_on_site(*, incident: Incident, t: flows.Transition, actor: Actor, text: str, at: datetime,
                    photos: Sequence[photos_module.PreparedPhoto] = (), **_kw: object) -> None:
    """The report from the scene: the case is reported on site (a note when it was already), with
    up to PHOTOS_PER_REPORT photos; the report's event lists them (`data.photos`)."""
    if len(photos) > PHOTOS_PER_REPORT:
        raise DomainError(_("At most %(max)s photos go with one report; %(count)s were sent.")
                          % {"max": PHOTOS_PER_REPORT, "count": len(photos)}, code="photos")
    ids = photos_module.photo_ids_reserve(len(photos)) if photos else []
    data = {"action": t.action} | ({"photos": ids} if ids else {})
    assert t.target is not None  # report_on_site moves to REPORTED (flows.py)
    if incident.status != t.target:
        event = _set_status(incident, t.target, actor=actor, at=at, note=text, data=data)
    else:
        event = event_append(incident=incident, kind=IncidentEvent.Kind.NOTE, actor=actor,
                             actor_member=actor_member(actor), note=text, data=data, at=at)
    if photos:
        photos_attach(incident=incident, event=event, actor=actor, photos=photos, ids=ids, at=at)


def photos_allowed_check(t: flows.Transition, incident_id: int, actor: Actor, *, unit: Unit | None = None) -> None:
    """Before the photos of a move are decoded (`incidents.photos.photos_prepare`: the costly part,
    done before the lock): whether the actor may make the move on the case now — `transition_check`
    on an unlocked read, raising what the check under the lock would (404 for an unknown case, 403
    for an actor with neither the role nor a current order, 409 when the flow refuses). A cheap
    early answer only: the move is checked again under the lock."""
    incident = (Incident.objects.select_related("subdistrict", "category", "channel")
                .filter(pk=incident_id).first())
    if incident is None:
        raise DomainError(_("No such case."), code="not_found", http_status=404)
    transition_check(t, incident, actor, unit=unit)


def photos_attach(*, incident: Incident, event: IncidentEvent, actor: Actor, photos: Sequence[photos_module.PreparedPhoto],
                  ids: Sequence[int], at: datetime) -> list[IncidentPhoto]:
    """Keep the prepared photos of a report: their rows (ids reserved for the event that names
    them), then their files. Precondition: inside the service's transaction, the incident locked,
    `event` the report's event just appended. At most PHOTOS_PER_REPORT per event: counted here
    under the lock, and held by the database (positions 0..2, unique per event). The files are
    written last, after every row: a failure removes the files written and raises, and the
    transaction rolls the rows and the report back."""
    taken = IncidentPhoto.objects.filter(event=event).count()
    if taken + len(photos) > PHOTOS_PER_REPORT:
        raise DomainError(_("At most %(max)s photos go with one report; %(count)s were sent.")
                          % {"max": PHOTOS_PER_REPORT, "count": taken + len(photos)}, code="photos")
    rows, files = [], []
    member = actor_member(actor)
    for position, (photo_id, photo) in enumerate(zip(ids, photos, strict=True), start=taken):
        original, large, thumb = photos_module.photo_names(photo)
        rows.append(IncidentPhoto(
            id=photo_id, incident=incident, event=event, position=position,
            uploaded_by=actor if actor is not None and actor.is_authenticated else None, member=member,
            original=original, large=large, thumb=thumb, sha256=photo.sha256, content_type=photo.content_type,
            width=photo.width, height=photo.height, byte_size=len(photo.original),
            exif_location=photo.exif_location, taken_at=photo.taken_at, created_at=at))
        files += [(original, photo.original), (large, photo.large), (thumb, photo.thumb)]
    IncidentPhoto.objects.bulk_create(rows)
    photos_module.photo_files_write(files)
    return rows


def _resolve(*, incident: Incident, t: flows.Transition, actor: Actor, text: str, at: datetime, **_kw: object) -> None:
    incident.resolved_at = at
    _set_status(incident, Status.RESOLVED, actor=actor, at=at, note=text, data={"action": t.action},
                fields=["resolved_at"])


# --- hand-overs and the offices' parts ------------------------------------------------------------
#
# Every hand-over (a transfer from the scene, an assignment to an office at intake or later) is one
# office's part of the case, with two deadlines watched by the SLA clock: to accept or return it
# (`accept_by`) and to report its result (`deadline`). Each office decides, notes its progress and
# completes its own part; the case is completed when no part waits for a decision and every
# accepted part is completed.

def handover_deadlines(unit_kind: str, at: datetime, given: datetime | None = None) -> tuple[datetime, datetime]:
    """(accept_by, report_by) of a hand-over made at `at` to a unit of this kind: accept or return
    within settings.HANDOVER_ACCEPT_MINUTES[kind] (else HANDOVER_ACCEPT_MINUTES_DEFAULT); report
    the result by the `given` deadline (the assignment form's, the case's) when there is one, else
    within settings.HANDOVER_REPORT_HOURS[kind] hours (else HANDOVER_REPORT_HOURS_DEFAULT)."""
    minutes = settings.HANDOVER_ACCEPT_MINUTES.get(unit_kind, settings.HANDOVER_ACCEPT_MINUTES_DEFAULT)
    hours = settings.HANDOVER_REPORT_HOURS.get(unit_kind, settings.HANDOVER_REPORT_HOURS_DEFAULT)
    return at + timedelta(minutes=minutes), given or at + timedelta(hours=hours)


def handover_unit_check(incident: Incident, unit: Unit) -> None:
    """Whether the case may be handed to this unit now (a transfer, an assignment, a responder's
    request for a transfer): not while it is with that unit already. The unit's sub-district is
    checked by `transition_check`."""
    if _open_handovers(incident).filter(unit=unit).exists():
        raise TransitionRefused(_("The case is already with %(unit)s.") % {"unit": unit.name})


def _handover_out(*, incident: Incident, t: flows.Transition, actor: Actor, text: str, unit: Unit | None,
                  at: datetime, **_kw: object) -> None:
    assert unit is not None  # the transition requires it (transition_check)
    handover_unit_check(incident, unit)
    kind = Handover.Kind.TRANSFER if t.action == "transfer" else Handover.Kind.ASSIGNMENT
    accept_by, report_by = handover_deadlines(unit.kind, at, incident.deadline)
    handover = Handover.objects.create(incident=incident, unit=unit, kind=kind, reason=text, created_at=at,
                                       created_by=actor, accept_by=accept_by, deadline=report_by,
                                       lead=not _open_handovers(incident).exists())
    data = {"action": t.action, "handover": handover.pk, "unit": unit.pk, "unit_name": unit.name,
            "accept_by": accept_by.isoformat(), "deadline": report_by.isoformat()}
    assert t.target is not None  # transfer and assign move to TRANSFERRED / ASSIGNED (flows.py)
    if incident.status != t.target:
        _set_status(incident, t.target, actor=actor, at=at, note=text, data=data)
    else:
        event_append(incident=incident, kind=IncidentEvent.Kind.NOTE, actor=actor, note=text, data=data, at=at)


def _request_transfer(*, incident: Incident, t: flows.Transition, actor: Actor, text: str, unit: Unit | None,
                      at: datetime, **_kw: object) -> None:
    """A responder on the scene asks the command room to transfer the case to `unit`, saying why
    (`text`): a unit the transfer itself would take. Only the timeline changes; the request stays
    open on the incident page until the case is transferred, resolved or closed."""
    assert unit is not None  # the transition requires it (transition_check)
    handover_unit_check(incident, unit)
    member = actor_member(actor)
    event_append(incident=incident, kind=IncidentEvent.Kind.TRANSFER_REQUESTED, actor=actor, actor_member=member,
                 note=text, data={"action": t.action, "unit": unit.pk, "unit_name": unit.name, "unit_kind": unit.kind,
                                  "member": member.pk if member else None,
                                  "member_name": member.name if member else None,
                                  "force": member.force if member else None}, at=at)


def _decided_handover(incident: Incident, actor: Actor, unit: Unit | None) -> Handover:
    """The pending hand-over the actor decides: their own unit's; for the command room the named
    unit's, or — none named — the one hand-over waiting."""
    pending = (incident.handovers.select_for_update(of=("self",)).select_related("unit")
               .filter(state=Handover.State.PENDING).order_by("created_at", "id"))
    command = has_role(actor, *COMMAND_ROLES)
    if command and unit is not None:
        handover = pending.filter(unit=unit).first()
    else:
        member = actor_member(actor)
        handover = pending.filter(unit=member.unit_id).first() if member else None
        if handover is None and command:
            waiting = list(pending[:2])
            handover = waiting[0] if len(waiting) == 1 else None
    if handover is None:
        raise TransitionRefused(_("No hand-over of this case waits for your unit."))
    return handover


def _accept_handover(*, incident: Incident, t: flows.Transition, actor: Actor, unit: Unit | None, at: datetime, **_kw: object) -> None:
    handover = _decided_handover(incident, actor, unit)
    handover.state, handover.decided_at, handover.decided_by = Handover.State.ACCEPTED, at, actor
    handover.save(update_fields=["state", "decided_at", "decided_by"])
    event_append(incident=incident, kind=IncidentEvent.Kind.TRANSFER_ACCEPTED, actor=actor,
                 data={"handover": handover.pk, "unit": handover.unit_id, "unit_name": handover.unit.name}, at=at)
    if incident.flow == Flow.ON_SITE:
        # A unit that takes over a case not settled on site opens the off-site flow.
        incident.flow = Flow.OFF_SITE
        incident.save(update_fields=["flow", "updated_at"])
    if incident.status != Status.IN_PROGRESS:
        _set_status(incident, Status.IN_PROGRESS, actor=actor, at=at, data={"action": t.action})


def _return_handover(*, incident: Incident, t: flows.Transition, actor: Actor, text: str, unit: Unit | None, at: datetime, **_kw: object) -> None:
    handover = _decided_handover(incident, actor, unit)
    handover.state, handover.decided_at, handover.decided_by = Handover.State.RETURNED, at, actor
    handover.return_reason = text
    handover.save(update_fields=["state", "decided_at", "decided_by", "return_reason"])
    returns = incident.handovers.filter(state=Handover.State.RETURNED).count()
    event_append(incident=incident, kind=IncidentEvent.Kind.TRANSFER_RETURNED, actor=actor, note=text,
                 data={"handover": handover.pk, "unit": handover.unit_id, "unit_name": handover.unit.name,
                       "returns": returns}, at=at)
    if incident.status == Status.IN_PROGRESS:
        # Other offices work on: only the note above — unless this was the last part waiting and
        # every accepted part is completed already.
        if not _open_handovers(incident).exists() and incident.handovers.filter(
                state=Handover.State.COMPLETED).exists():
            _case_complete(incident, t, actor=actor, at=at)
    elif not _open_handovers(incident).exists() and incident.status == Status.TRANSFERRED:
        # Bounced back to the command room, which resolves or transfers again.
        _set_status(incident, Status.REPORTED, actor=actor, at=at, note=text, data={"action": t.action})


def _progress(*, incident: Incident, t: flows.Transition, actor: Actor, text: str, unit: Unit | None, at: datetime, **_kw: object) -> None:
    """A progress note of an office's part: the acting staff's own unit; the command room may
    name the unit it notes for (else the note is its own)."""
    parts = incident.handovers.select_related("unit").filter(state__in=HANDOVER_STATES_OF_UNIT).order_by("-id")
    member = actor_member(actor)
    if has_role(actor, *COMMAND_ROLES) and unit is not None:
        part = parts.filter(unit=unit).first()
        if part is None:
            raise TransitionRefused(_("%(unit)s holds no part of this case.") % {"unit": unit.name})
    else:
        part = parts.filter(unit=member.unit_id).first() if member is not None else None
    data: dict[str, Any] = {"action": t.action}
    if part is not None:
        data |= {"handover": part.pk, "unit": part.unit_id, "unit_name": part.unit.name}
    event_append(incident=incident, kind=IncidentEvent.Kind.PROGRESS, actor=actor, actor_member=member,
                 note=text, data=data, at=at)


def _part_to_complete(incident: Incident, actor: Actor, unit: Unit | None, reason: str) -> tuple[Handover, bool]:
    """The part the actor completes, and whether on an office's behalf. Staff of an office
    complete their unit's own accepted part; the command room (or a dispatcher) completes the
    named unit's part, with a reason. A reopened case whose parts were all completed: a completed
    part is completed again."""
    states = [Handover.State.ACCEPTED] if _open_handovers(incident).exists() else [Handover.State.COMPLETED]
    parts = (incident.handovers.select_for_update(of=("self",)).select_related("unit")
             .filter(state__in=states).order_by("created_at", "id"))
    member = actor_member(actor)
    own = parts.filter(unit=member.unit_id).first() if member is not None else None
    if own is not None and (unit is None or unit.pk == own.unit_id):
        return own, False
    if has_role(actor, *COMMAND_ROLES):
        if unit is None:
            raise DomainError(_("Name the office whose part the command room completes."), code="unit")
        if not reason:
            raise DomainError(_("Completing an office's part on its behalf needs the reason."), code="reason")
        part = parts.filter(unit=unit).first()
        if part is None:
            raise TransitionRefused(_("%(unit)s holds no accepted part of this case.") % {"unit": unit.name})
        return part, True
    if unit is not None and (member is None or unit.pk != member.unit_id):
        raise Forbidden(_("An office completes only its own part."), code="forbidden")
    raise TransitionRefused(_("Your unit holds no accepted part of this case."))


def _case_complete(incident: Incident, t: flows.Transition, *, actor: Actor, at: datetime) -> None:
    incident.resolved_at = at
    _set_status(incident, Status.COMPLETED, actor=actor, at=at, note=_("Every office's part is completed."),
                data={"action": t.action}, fields=["resolved_at"])


def _complete(*, incident: Incident, t: flows.Transition, actor: Actor, text: str, unit: Unit | None, at: datetime, reason: str = "", **_kw: object) -> None:
    """An office completes its own part with its result (`text`), or the command room completes
    the named `unit`'s part on its behalf with a `reason` (in the timeline). The case is completed
    when no part waits for a decision and every accepted part is completed; until then the event
    says which offices the case still waits for."""
    reason = (reason or "").strip()
    part, on_behalf = _part_to_complete(incident, actor, unit, reason)
    part.state, part.completed_at, part.completed_by, part.result = Handover.State.COMPLETED, at, actor, text
    part.on_behalf_reason = reason if on_behalf else ""
    part.save(update_fields=["state", "completed_at", "completed_by", "result", "on_behalf_reason"])
    waiting = list(_open_handovers(incident).select_related("unit").order_by("created_at", "id"))
    waiting_names = list(dict.fromkeys(h.unit.name for h in waiting))
    lines = [_("On behalf of %(unit)s: %(reason)s") % {"unit": part.unit.name, "reason": reason}] if on_behalf else []
    lines.append(text)
    if waiting:
        lines.append(_("The case still waits for %(units)s.") % {"units": "、".join(waiting_names)})
    data = {"action": t.action, "handover": part.pk, "unit": part.unit_id, "unit_name": part.unit.name,
            "on_behalf": on_behalf, "waiting": [h.unit_id for h in waiting], "waiting_names": waiting_names}
    if on_behalf:
        data["on_behalf_reason"] = reason
    event_append(incident=incident, kind=IncidentEvent.Kind.PART_COMPLETED, actor=actor,
                 actor_member=actor_member(actor), note="\n".join(lines), data=data, at=at)
    if not waiting:
        _case_complete(incident, t, actor=actor, at=at)


def _send_back(*, incident: Incident, t: flows.Transition, actor: Actor, text: str, unit: Unit | None, at: datetime, **_kw: object) -> None:
    """The command room sends the named unit's completed part back (every completed part when no
    unit is named): accepted again, its result cleared — the timeline keeps it — and the case is
    in progress again."""
    parts = (incident.handovers.select_for_update(of=("self",)).select_related("unit")
             .filter(state=Handover.State.COMPLETED).order_by("created_at", "id"))
    if unit is not None:
        parts = parts.filter(unit=unit)
    sent_parts = list(parts)
    if unit is not None and not sent_parts:
        raise TransitionRefused(_("%(unit)s has no completed part to send back.") % {"unit": unit.name})
    sent: list[dict[str, Any]] = [
        {"handover": h.pk, "unit": h.unit_id, "unit_name": h.unit.name, "result": h.result,
         "on_behalf_reason": h.on_behalf_reason} for h in sent_parts]
    for h in sent_parts:
        h.state, h.completed_at, h.completed_by, h.result, h.on_behalf_reason = (
            Handover.State.ACCEPTED, None, None, "", "")
        h.save(update_fields=["state", "completed_at", "completed_by", "result", "on_behalf_reason"])
    incident.resolved_at = None
    _set_status(incident, Status.IN_PROGRESS, actor=actor, at=at, note=text,
                data={"action": t.action, "sent_back": sent,
                      "unit_name": "、".join(dict.fromkeys(s["unit_name"] for s in sent))},
                fields=["resolved_at"])


def _feed_back(*, incident: Incident, t: flows.Transition, actor: Actor, text: str, at: datetime, **_kw: object) -> None:
    """Feedback to the source: a result delivery per district order with a callback URL, a
    call-back task per hotline caller; and to the party: a call-back per registered party."""
    deliveries, callbacks = [], []
    for report in incident.reports.select_related("channel"):
        ch = report.channel
        if ch.kind == Channel.Kind.DISTRICT_ORDER and ch.callback_url and report.external_id:
            deliveries.append(FeedbackDelivery.objects.create(
                incident=incident, report=report, url=ch.callback_url, next_attempt_at=at, created_at=at,
                payload={"external_id": report.external_id, "case_number": incident.number,
                         "status": Status.FED_BACK, "result": text, "resolved_at":
                         (incident.resolved_at or at).isoformat(), "category": incident.category.code},
            ))
        elif ch.kind == Channel.Kind.HOTLINE and report.caller_phone:
            callbacks.append(CallbackTask.objects.create(
                incident=incident, phone=report.caller_phone, name=report.caller_name, created_at=at))
    known = {c.phone for c in callbacks}
    for party in incident.parties.exclude(phone=""):
        if party.phone not in known:
            known.add(party.phone)
            callbacks.append(CallbackTask.objects.create(incident=incident, phone=party.phone, name=party.name,
                                                         created_at=at))
    _set_status(incident, Status.FED_BACK, actor=actor, at=at, note=text,
                data={"action": t.action, "deliveries": [d.pk for d in deliveries],
                      "callbacks": [c.pk for c in callbacks]})


def _close(*, incident: Incident, t: flows.Transition, actor: Actor, text: str, at: datetime, **_kw: object) -> None:
    incident.closed_at = max(at, incident.reported_at)
    _set_status(incident, Status.CLOSED, actor=actor, at=at, note=text, data={"action": t.action},
                fields=["closed_at"])


def _reopen(*, incident: Incident, t: flows.Transition, actor: Actor, text: str, at: datetime, **_kw: object) -> None:
    incident.closed_at = None
    incident.resolved_at = None
    incident.reopen_count += 1
    if incident.flow == Flow.OFF_SITE:
        # The offices' parts are open again: each reports a new result before the case completes.
        incident.handovers.filter(state=Handover.State.COMPLETED).update(
            state=Handover.State.ACCEPTED, completed_at=None, completed_by=None, result="", on_behalf_reason="")
    target = flows.REOPEN_TARGET[incident.flow]
    if incident.location is None and incident.flow == Flow.ON_SITE:
        target = Status.NEEDS_LOCATION  # closed as invalid before it was placed: back to that queue
    _set_status(incident, target, actor=actor, at=at, note=text,
                data={"action": t.action}, fields=["closed_at", "resolved_at", "reopen_count"])


_HANDLERS: dict[str, Callable[..., None]] = {
    "report_on_site": _report_on_site,
    "request_transfer": _request_transfer,
    "resolve": _resolve,
    "transfer": _handover_out,
    "assign": _handover_out,
    "accept_handover": _accept_handover,
    "return_handover": _return_handover,
    "progress": _progress,
    "complete": _complete,
    "send_back": _send_back,
    "feed_back": _feed_back,
    "close": _close,
    "cancel": _close,
    "reopen": _reopen,
}


# --- people involved ---------------------------------------------------------------------------

def party_register(*, incident_id: int, actor: Actor, name: str, phone: str = "", id_number: str = "",
                   role: str = Party.Role.PARTY) -> Party:
    """The first to arrive registers the people involved (name, phone, ID number, role)."""
    name = clean_text(name, field=_("Name"), max_length=64, required=True)
    phone = validate_phone(phone, field=_("Phone"))
    id_number = validate_id_number(id_number) if id_number.strip() else ""
    if role not in Party.Role.values:
        raise DomainError(_("Unknown role of the person."), code="role")
    with transaction.atomic():
        incident = _lock(incident_id)
        if incident.status in (Status.CLOSED, Status.MERGED):
            raise TransitionRefused(_("The case is closed."))
        if not has_role(actor, *COMMAND_ROLES) and not member_has_current_order(actor_member(actor), incident):
            raise Forbidden(_("Only the command room or a dispatched responder registers people."), code="forbidden")
        party = Party.objects.create(incident=incident, name=name, phone=phone, id_number=id_number, role=role,
                                     registered_at=timezone.now(), registered_by=actor)
        event_append(incident=incident, kind=IncidentEvent.Kind.PARTY_REGISTERED, actor=actor,
                     actor_member=actor_member(actor),
                     data={"party": party.pk, "name": party.name_masked, "role": role,
                           "id_number": party.id_number_masked})
    return party


def party_reveal(*, party_id: int, actor: Actor) -> str:
    """The full ID number, for the roles allowed to see it; every reveal is in the timeline."""
    _require_role(actor, REVEAL_ROLES)
    with transaction.atomic():
        # The case first, then its person (the lock order, incidents/locks.py).
        incident_id = Party.objects.filter(pk=party_id).values_list("incident_id", flat=True).first()
        if incident_id is None:
            raise DomainError(_("No such person."), code="not_found", http_status=404)
        _lock(incident_id)
        party = Party.objects.select_related("incident__subdistrict").get(pk=party_id)
        event_append(incident=party.incident, kind=IncidentEvent.Kind.PARTY_REVEALED, actor=actor,
                     data={"party": party.pk, "name": party.name_masked})
    return party.id_number


@dataclass(frozen=True)
class ContactsRevealed:
    """The full names and phones a reveal asked for: `caller` ({name, phone, reports: [{id,
    caller_name, caller_phone}]}) or None, and `parties` ([{id, name, phone}])."""

    caller: dict[str, Any] | None
    parties: list[dict[str, Any]]
    callbacks: list[dict[str, Any]] = field(default_factory=list)


def incident_contacts_reveal(*, incident_id: int, actor: Actor, caller: bool = False,
                             party_ids: Sequence[int] = (), callback_ids: Sequence[int] = ()) -> ContactsRevealed:
    """The full names and phones of the case's callers (`caller`), of people involved
    (`party_ids`) and of the people its call-backs are to call (`callback_ids`), for whom
    `incidents.selectors.contact_reveal_allowed` admits (403 otherwise);
    every reveal appends a PERSONAL_DATA_REVEALED entry to the timeline — who, and what was asked
    for (never the values). Not on the live stream (IncidentEvent.QUIET_KINDS)."""
    wanted = sorted(set(party_ids))
    wanted_callbacks = sorted(set(callback_ids))
    if not caller and not wanted and not wanted_callbacks:
        raise DomainError(_("Say what to reveal: the caller or people involved."), code="reveal")
    with transaction.atomic():
        incident = _lock(incident_id)
        if not contact_reveal_allowed(user=actor, incident=incident):
            raise Forbidden(_("Your role may not see the callers' and parties' details."), code="forbidden")
        parties = list(incident.parties.filter(pk__in=wanted).order_by("registered_at", "id"))
        callbacks = list(incident.callbacks.filter(pk__in=wanted_callbacks).order_by("id"))
        if len(parties) != len(wanted) or len(callbacks) != len(wanted_callbacks):
            raise DomainError(_("No such person in this case."), code="not_found", http_status=404)
        revealed_caller = None
        if caller:
            reports = incident.reports.order_by("received_at", "id").values("id", "caller_name", "caller_phone")
            revealed_caller = {"name": incident.caller_name, "phone": incident.caller_phone,
                               "reports": [r for r in reports if r["caller_name"] or r["caller_phone"]]}
        event_append(incident=incident, kind=IncidentEvent.Kind.PERSONAL_DATA_REVEALED, actor=actor,
                     actor_member=actor_member(actor),
                     data={"caller": bool(caller), "parties": wanted, "callbacks": wanted_callbacks})
    return ContactsRevealed(caller=revealed_caller,
                            parties=[{"id": p.pk, "name": p.name, "phone": p.phone} for p in parties],
                            callbacks=[{"id": c.pk, "name": c.name, "phone": c.phone} for c in callbacks])


# --- feedback ----------------------------------------------------------------------------------

def callback_complete(*, callback_id: int, actor: Actor, state: str, satisfaction: str = "", note: str = "",
                      reopen: bool = False) -> CallbackTask:
    """Record a call-back: reached (with satisfaction) or unreachable. 不满意 with `reopen`
    reopens the case with the note as its reason."""
    _require_role(actor, COMMAND_ROLES)
    note = clean_text(note, field=_("Note"), max_length=MAX_TEXT, required=reopen)
    if state not in (CallbackTask.State.DONE, CallbackTask.State.UNREACHABLE):
        raise DomainError(_("Say whether the call reached the person."), code="state")
    if state == CallbackTask.State.DONE and satisfaction not in CallbackTask.Satisfaction.values:
        raise DomainError(_("Record the person's satisfaction."), code="satisfaction")
    if reopen and satisfaction != CallbackTask.Satisfaction.DISSATISFIED:
        raise DomainError(_("Only a dissatisfied call-back reopens the case."), code="reopen")
    with transaction.atomic():
        # The case first, then its call-back (the lock order, incidents/locks.py).
        incident_id = CallbackTask.objects.filter(pk=callback_id).values_list("incident_id", flat=True).first()
        if incident_id is None:
            raise DomainError(_("No such call-back."), code="not_found", http_status=404)
        incident = _lock(incident_id)
        task = CallbackTask.objects.select_for_update(of=("self",)).get(pk=callback_id)
        if task.state != CallbackTask.State.OPEN:
            raise TransitionRefused(_("This call-back is already recorded."))
        task.state, task.satisfaction, task.note = state, satisfaction if state == CallbackTask.State.DONE else "", note
        task.done_at, task.done_by = timezone.now(), actor
        task.save()
        event_append(incident=incident, kind=IncidentEvent.Kind.CALLBACK_DONE, actor=actor, note=note,
                     data={"callback": task.pk, "state": state, "satisfaction": task.satisfaction})
        if reopen:
            t = transition_get("reopen")
            transition_check(t, incident, actor)
            transition_handle(incident=incident, t=t, actor=actor, text=note, at=task.done_at)
    return task
