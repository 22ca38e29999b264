"""The operations that change incidents. Each runs in one transaction: lock, check, mutate,
append the timeline event, publish after commit. Views and the API call these and nothing else.

Errors are `DomainError` (400), `TransitionRefused` (409) or `Forbidden` (403); a refused call
changes nothing.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.contrib.gis.geos import LineString, Point
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from pyproj import Geod

from config.errors import DomainError, TransitionRefused
from config.roles import UserRole, has_role
from dispatch.models import DispatchOrder, Member, MemberPosition, Unit
from dispatch.recommend import DEFAULT_DEADLINE_MINUTES, assess_members
from geo.gazetteer import geocode, locate
from geo.models import Place, Subdistrict
from incidents import flows
from incidents.events import event_append
from incidents.models import (
    CallbackTask,
    Category,
    Channel,
    FeedbackAttempt,
    FeedbackDelivery,
    Flow,
    Handover,
    Incident,
    IncidentEvent,
    Party,
    Report,
    Status,
)
from incidents.validators import clean_text, validate_id_number, validate_phone

MAX_DESCRIPTION = 4000
MAX_TEXT = 2000
INTAKE_ROLES = (UserRole.CALL_TAKER, UserRole.DISPATCHER, UserRole.COMMAND_ROOM, UserRole.INTEGRATION)
REVEAL_ROLES = (UserRole.COMMAND_ROOM, UserRole.LEADER)
COMMAND_ROLES = (UserRole.COMMAND_ROOM, UserRole.DISPATCHER)


class Forbidden(DomainError):
    http_status = 403


def _require_role(actor, roles: Sequence[str]) -> None:
    if actor is None or not has_role(actor, *roles):
        raise Forbidden(_("Your role may not do this."), code="forbidden")


def _actor_member(actor) -> Member | None:
    return getattr(actor, "member", None) if actor is not None and actor.is_authenticated else None


# --- case numbers ------------------------------------------------------------------------------

def incident_number_next(*, day) -> str:
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


def _check_point(point: Point | None) -> Point | None:
    if point is None:
        return None
    if point.srid not in (None, 4326):
        point = point.transform(4326, clone=True)
    lon, lat = point.x, point.y
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise DomainError(_("The coordinates are not valid longitude/latitude."), code="location")
    return Point(lon, lat, srid=4326)


def incident_intake(
    *, channel: Channel, category: Category, description: str, actor, location: Point | None = None,
    address_text: str = "", external_id: str | None = None, caller_name: str = "", caller_phone: str = "",
    major: bool = False, reported_at: datetime | None = None, link_to: int | None = None,
    subdistrict: Subdistrict | None = None, offices: Sequence[Unit] = (), deadline: datetime | None = None,
) -> IntakeResult:
    """Take one report from any channel into an incident.

    - The same channel + external id again returns the existing incident (created=False), also
      when 20 identical posts race: the day's counter row serialises them and the unique index on
      (channel, external id) is the last word.
    - `link_to`: the report is attached to that open incident instead of opening a new one.
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
    if channel.kind == Channel.Kind.DISTRICT_ORDER and not external_id:
        raise DomainError(_("A district dispatch order needs its external id."), code="external_id")
    off_site = channel.kind == Channel.Kind.JOINT_ASSIGNMENT
    if off_site and not offices:
        raise DomainError(_("An assignment form names at least one responsible office."), code="offices")
    location = _check_point(location)
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


def _intake(*, channel, category, description, actor, location, address_text, external_id, caller_name,
            caller_phone, major, reported_at, link_to, subdistrict, offices, deadline, off_site) -> IntakeResult:
    number = incident_number_next(day=timezone.localdate(reported_at))  # takes the day's lock first
    if external_id:
        existing = Report.objects.select_related("incident").filter(channel=channel, external_id=external_id).first()
        if existing is not None:
            return IntakeResult(existing.incident, existing, created=False)

    report_fields = {
        "channel": channel, "external_id": external_id, "caller_name": caller_name, "caller_phone": caller_phone,
        "description": description, "address_text": address_text, "received_at": reported_at,
        "received_by": actor if actor and actor.is_authenticated else None,
    }
    if link_to is not None:
        target = Incident.objects.select_for_update().select_related("subdistrict").filter(pk=link_to).first()
        if target is None or target.status in (Status.CLOSED, Status.MERGED):
            raise DomainError(_("The case to link to is not open."), code="link_to")
        report = Report.objects.create(incident=target, **report_fields)
        event_append(incident=target, kind=IncidentEvent.Kind.REPORT_LINKED, actor=report_fields["received_by"],
                     note=description, data={"report": report.pk, "channel": channel.code,
                                             "caller_name": caller_name}, at=reported_at)
        return IntakeResult(target, report, created=False)

    place = None
    status = Status.ASSIGNED if off_site else Status.NEW
    if location is None and address_text:
        scope = subdistrict or _default_subdistrict()
        address = geocode(scope, address_text)
        if address is not None:
            location, place = address.location, address.place
    where = locate(location, subdistrict=subdistrict) if location is not None else None
    if where is not None and where.subdistrict is None:
        raise DomainError(
            _("The location lies outside the sub-district and its surroundings; check the coordinates."),
            code="location",
        )
    if where is not None:
        subdistrict = where.subdistrict
    subdistrict = subdistrict or _default_subdistrict()
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
              "outside_jurisdiction": incident.outside_jurisdiction},
        at=reported_at,
    )
    for i, office in enumerate(offices):
        Handover.objects.create(
            incident=incident, unit=office, kind=Handover.Kind.ASSIGNMENT, reason=description, deadline=deadline,
            lead=(i == 0), created_at=reported_at, created_by=report_fields["received_by"],
        )
    duplicates = duplicate_candidates(incident=incident) if location is not None else []
    return IntakeResult(incident, report, created=True, duplicates=duplicates)


def _default_subdistrict() -> Subdistrict:
    sub = Subdistrict.objects.order_by("code").first()
    if sub is None:
        raise DomainError(_("No sub-district is set up."), code="subdistrict")
    return sub


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


def incident_merge(*, incident_id: int, into_id: int, actor) -> Incident:
    """Link a duplicate case into another: its reports and parties move over, it is marked merged."""
    _require_role(actor, COMMAND_ROLES + (UserRole.CALL_TAKER,))
    if incident_id == into_id:
        raise DomainError(_("A case cannot be merged into itself."), code="merge")
    with transaction.atomic():
        locked = {i.pk: i for i in Incident.objects.select_for_update().select_related("subdistrict")
                  .filter(pk__in=[incident_id, into_id]).order_by("pk")}
        if len(locked) != 2:
            raise DomainError(_("No such case."), code="not_found", http_status=404)
        dup, into = locked[incident_id], locked[into_id]
        if dup.subdistrict_id != into.subdistrict_id:
            raise DomainError(_("Cases of different sub-districts cannot be merged."), code="merge")
        for case in (dup, into):
            if case.status in (Status.CLOSED, Status.MERGED):
                raise TransitionRefused(_("Case %(number)s is no longer open.") % {"number": case.number})
        if dup.orders.exclude(state__in=[DispatchOrder.State.DECLINED, DispatchOrder.State.CANCELLED]).exists():
            raise TransitionRefused(_("Case %(number)s already has responders dispatched; merge the other way.")
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


def incident_locate(*, incident_id: int, point: Point, actor) -> Incident:
    """Place a case of the "needs location" queue on the map: it becomes a new on-site case."""
    _require_role(actor, INTAKE_ROLES)
    point = _check_point(point)
    with transaction.atomic():
        incident = _lock(incident_id)
        if incident.status != Status.NEEDS_LOCATION and not (incident.flow == Flow.OFF_SITE and incident.location is None):
            raise TransitionRefused(_("This case already has a location."))
        where = locate(point, subdistrict=incident.subdistrict)
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


def incident_set_category(*, incident_id: int, category: Category, actor) -> Incident:
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


# --- the lifecycle -----------------------------------------------------------------------------

def _lock(incident_id: int) -> Incident:
    incident = (Incident.objects.select_for_update(of=("self",))
                .select_related("subdistrict", "category", "channel").filter(pk=incident_id).first())
    if incident is None:
        raise DomainError(_("No such case."), code="not_found", http_status=404)
    return incident


def _member_has_live_order(member: Member | None, incident: Incident) -> bool:
    return member is not None and incident.orders.filter(member=member).exclude(
        state__in=[DispatchOrder.State.DECLINED, DispatchOrder.State.CANCELLED]).exists()


def _open_handovers(incident: Incident):
    return incident.handovers.filter(state__in=[Handover.State.PENDING, Handover.State.ACCEPTED])


HANDOVER_STATES_OF_UNIT = (Handover.State.PENDING, Handover.State.ACCEPTED, Handover.State.COMPLETED)


def _check_may(t: flows.Transition, incident: Incident, actor) -> None:
    if actor is not None and has_role(actor, *t.roles):
        return  # allowed by role: the member's order and unit hand-over need not be looked up
    member = _actor_member(actor)
    live_order = _member_has_live_order(member, incident)
    unit_handover = member is not None and incident.handovers.filter(
        unit=member.unit_id, state__in=HANDOVER_STATES_OF_UNIT).exists()
    if actor is None or not flows.actor_may(t, actor, live_order=live_order, unit_handover=unit_handover):
        raise Forbidden(_("Your role may not do “%(action)s” on this case.") % {"action": t.label}, code="forbidden")


def incident_transition(
    *, incident_id: int, action: str, actor, text: str = "", unit: Unit | None = None,
    members: Sequence[Member] = (), method: str = "", at: datetime | None = None, position: Point | None = None,
    off_duty_override: Sequence[Member | int] = (),
) -> Incident:
    """Move a case along its flow (see incidents/flows.py). Locks the incident, checks that the
    flow allows the action from the current status, that the actor may make it and that the
    request carries what the action needs; then writes the change and its timeline events."""
    t = flows.transition_for(action)
    if t is None:
        raise DomainError(_("Unknown action “%(action)s”.") % {"action": action}, code="action")
    text = clean_text(text, field=_("Text"), max_length=MAX_TEXT, required="text" in t.requires)
    at = at or timezone.now()
    with transaction.atomic():
        incident = _lock(incident_id)
        if incident.flow not in t.flows or incident.status not in t.sources:
            raise TransitionRefused(
                _("The case is “%(status)s” (%(flow)s): “%(action)s” is not possible now.")
                % {"status": incident.get_status_display(), "flow": incident.get_flow_display(), "action": t.label}
            )
        _check_may(t, incident, actor)
        if "unit" in t.requires and unit is None:
            raise DomainError(_("Choose the unit to hand the case to."), code="unit")
        if "unit" in t.requires and unit.subdistrict_id != incident.subdistrict_id:
            raise DomainError(_("That unit belongs to another sub-district."), code="unit")
        handler = _HANDLERS.get(action, _plain)
        handler(incident=incident, t=t, actor=actor, text=text, unit=unit, members=members, method=method, at=at,
                position=position, off_duty_override=off_duty_override)
    return incident


def _set_status(incident: Incident, to: str, *, actor, at, note: str = "", data: dict | None = None,
                fields: Sequence[str] = ()) -> None:
    previous = incident.status
    incident.status = to
    incident.save(update_fields=["status", "updated_at", *fields])
    event_append(incident=incident, kind=IncidentEvent.Kind.STATUS_CHANGED, actor=actor,
                 actor_member=_actor_member(actor), from_status=previous, to_status=to, note=note,
                 data=data, at=at)


def _plain(*, incident, t, actor, text, at, **_kw) -> None:
    """A transition that only moves the status (or, without a target, only notes)."""
    if t.target is None:
        event_append(incident=incident, kind=IncidentEvent.Kind.NOTE, actor=actor, actor_member=_actor_member(actor),
                     note=text, data={"action": t.action}, at=at)
    elif incident.status != t.target:
        _set_status(incident, t.target, actor=actor, at=at, note=text, data={"action": t.action})
    else:
        event_append(incident=incident, kind=IncidentEvent.Kind.NOTE, actor=actor, actor_member=_actor_member(actor),
                     note=text, data={"action": t.action}, at=at)


def _dispatch(*, incident, t, actor, text, members, method, at, off_duty_override=(), **_kw) -> None:
    """One order per chosen member, each with its deadline, rule, reason, level, estimated
    travel time, origin and road route (null when the network cannot reach them) from the
    recommendation (`dispatch.recommend`): arrive_by = now + the rule's
    minutes ("at once" for departments and leaders; 30 minutes for a member no rule names).
    A member off duty is refused unless the dispatcher named them in `off_duty_override`: the
    whole dispatch is refused then and nothing changes. A member already holding a live order on
    the case is skipped; the partial unique index settles two dispatchers racing."""
    if not members:
        raise DomainError(_("Choose at least one responder."), code="members")
    if method not in DispatchOrder.Method.values:
        raise DomainError(_("Choose how the order is given (walkie-talkie, WeChat group, phone, app)."), code="method")
    if any(m.subdistrict_id != incident.subdistrict_id or not m.active for m in members):
        raise DomainError(_("A chosen responder does not serve this sub-district."), code="members")
    overrides = {m if isinstance(m, int) else m.pk for m in off_duty_override}
    assessed = assess_members(incident, member_ids=[m.pk for m in members], at=at, routes=True)
    off = [m for m in members if m.pk in assessed and not assessed[m.pk].on_duty and m.pk not in overrides]
    if off:
        raise DomainError(
            _("%(names)s: off duty now. Tick “include although off duty” beside the name to dispatch anyway.")
            % {"names": "、".join(m.name for m in off)}, code="off_duty")
    new_orders = []
    for member in members:
        if _member_has_live_order(member, incident):
            continue  # already on their way: a second dispatcher's click adds nothing
        c = assessed.get(member.pk)
        deadline = c.deadline_minutes if c else DEFAULT_DEADLINE_MINUTES
        fields = {
            "arrive_by": at + timedelta(minutes=deadline),
            "rule": c.rule if c else None,
            "reason": (c.reason if c else "")[:500],
            "level": c.level if c and c.rule else incident.level,
            "travel_seconds": c.travel_seconds if c else None,
            "off_duty_override": bool(c and not c.on_duty),
            # Where they set out from and their road route, as the wall map draws them.
            "origin": Point(*c.origin, srid=4326) if c else None,
            "route": LineString(c.route, srid=4326) if c and c.route and len(c.route) >= 2 else None,
        }
        with transaction.atomic():
            try:
                new_orders.append(DispatchOrder.objects.create(
                    incident=incident, member=member, method=method, dispatched_at=at, dispatched_by=actor, **fields))
            except IntegrityError:
                continue
    for order in new_orders:
        event_append(incident=incident, kind=IncidentEvent.Kind.DISPATCHED, actor=actor, note=text,
                     data={"order": order.pk, "member": order.member_id, "member_name": order.member.name,
                           "force": order.member.force, "method": method,
                           "arrive_by": order.arrive_by.isoformat(), "rule": order.rule.code if order.rule else None,
                           "off_duty_override": order.off_duty_override}, at=at)
    if incident.status == Status.NEW and new_orders:
        _set_status(incident, Status.DISPATCHED, actor=actor, at=at, data={"action": t.action})


_GEOD = Geod(ellps="WGS84")


def _arrival_check(order: DispatchOrder, incident: Incident, position: Point | None, at: datetime) -> dict:
    """Where the member was when they said "arrived": the position sent with the request, else
    their last known position if it is fresh (settings.ARRIVAL_POSITION_MAX_AGE_SECONDS). The
    geodesic distance to the incident goes on the order; beyond settings.ARRIVAL_MAX_DISTANCE_M the
    arrival is flagged, never refused. Returns what the timeline event says about it."""
    source, accuracy = "request", None
    if position is None:
        fresh_since = at - timedelta(seconds=settings.ARRIVAL_POSITION_MAX_AGE_SECONDS)
        last = MemberPosition.objects.filter(member_id=order.member_id, recorded_at__gte=fresh_since).first()
        if last is None:
            return {"position": None}
        position, source, accuracy = last.point, "last_known", last.accuracy_m
    if incident.location is None:
        return {"position": None}
    _az, _back, distance = _GEOD.inv(position.x, position.y, incident.location.x, incident.location.y)
    order.arrival_distance_m = round(float(distance), 1)
    order.arrival_flagged = distance > settings.ARRIVAL_MAX_DISTANCE_M
    return {"position": source, "lon": round(position.x, 6), "lat": round(position.y, 6), "accuracy_m": accuracy,
            "distance_m": order.arrival_distance_m, "max_distance_m": settings.ARRIVAL_MAX_DISTANCE_M,
            "flagged": order.arrival_flagged}


def _arrive(*, incident, t, actor, members, at, position=None, **_kw) -> None:
    member = _actor_member(actor)
    who = list(members) if members and has_role(actor, *COMMAND_ROLES) else ([member] if member else [])
    if not who:
        raise DomainError(_("Say who arrived."), code="members")
    if position is not None and len(who) > 1:
        raise DomainError(_("A position belongs to one responder: record their arrivals one by one."),
                          code="position")
    position = _check_point(position)
    orders = list(incident.orders.select_for_update(of=("self",)).select_related("member").filter(
        member__in=who, state__in=[DispatchOrder.State.DISPATCHED, DispatchOrder.State.ACCEPTED]))
    if not orders:
        raise TransitionRefused(_("No open order of this responder on this case."))
    for order in orders:
        check = _arrival_check(order, incident, position, at)
        order.state, order.arrived_at = DispatchOrder.State.ARRIVED, at
        order.save(update_fields=["state", "arrived_at", "arrival_distance_m", "arrival_flagged"])
        note = ""
        if order.arrival_flagged:
            note = _("Arrived %(distance)d m from the scene, more than %(max)d m: check where the responder is.") % {
                "distance": order.arrival_distance_m, "max": settings.ARRIVAL_MAX_DISTANCE_M}
        event_append(incident=incident, kind=IncidentEvent.Kind.ARRIVED, actor=actor, actor_member=order.member,
                     note=note, data={"order": order.pk, "member": order.member_id, "member_name": order.member.name,
                                      "arrival": check}, at=at)
    if incident.status == Status.DISPATCHED:
        _set_status(incident, Status.ARRIVED, actor=actor, at=at, data={"action": t.action})


def _resolve(*, incident, t, actor, text, at, **_kw) -> None:
    incident.resolved_at = at
    _set_status(incident, Status.RESOLVED, actor=actor, at=at, note=text, data={"action": t.action},
                fields=["resolved_at"])


def _handover_out(*, incident, t, actor, text, unit, at, **_kw) -> None:
    if _open_handovers(incident).filter(unit=unit).exists():
        raise TransitionRefused(_("The case is already with %(unit)s.") % {"unit": unit.name})
    kind = Handover.Kind.TRANSFER if t.action == "transfer" else Handover.Kind.ASSIGNMENT
    handover = Handover.objects.create(incident=incident, unit=unit, kind=kind, reason=text, created_at=at,
                                       created_by=actor, deadline=incident.deadline,
                                       lead=not _open_handovers(incident).exists())
    data = {"action": t.action, "handover": handover.pk, "unit": unit.pk, "unit_name": unit.name}
    if incident.status != t.target:
        _set_status(incident, t.target, actor=actor, at=at, note=text, data=data)
    else:
        event_append(incident=incident, kind=IncidentEvent.Kind.NOTE, actor=actor, note=text, data=data, at=at)


def _decided_handover(incident, actor, unit) -> Handover:
    pending = incident.handovers.select_for_update().filter(state=Handover.State.PENDING)
    if has_role(actor, *COMMAND_ROLES) and unit is not None:
        handover = pending.filter(unit=unit).first()
    else:
        member = _actor_member(actor)
        handover = pending.filter(unit=member.unit_id).first() if member else None
    if handover is None:
        raise TransitionRefused(_("No hand-over of this case waits for your unit."))
    return handover


def _accept_handover(*, incident, t, actor, unit, at, **_kw) -> None:
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


def _return_handover(*, incident, t, actor, text, unit, at, **_kw) -> None:
    handover = _decided_handover(incident, actor, unit)
    handover.state, handover.decided_at, handover.decided_by = Handover.State.RETURNED, at, actor
    handover.return_reason = text
    handover.save(update_fields=["state", "decided_at", "decided_by", "return_reason"])
    returns = incident.handovers.filter(state=Handover.State.RETURNED).count()
    event_append(incident=incident, kind=IncidentEvent.Kind.TRANSFER_RETURNED, actor=actor, note=text,
                 data={"handover": handover.pk, "unit": handover.unit_id, "unit_name": handover.unit.name,
                       "returns": returns}, at=at)
    if not _open_handovers(incident).exists() and incident.status == Status.TRANSFERRED:
        # Bounced back to the command room, which resolves or transfers again.
        _set_status(incident, Status.REPORTED, actor=actor, at=at, note=text, data={"action": t.action})


def _complete(*, incident, t, actor, text, at, **_kw) -> None:
    incident.handovers.filter(state=Handover.State.ACCEPTED).update(state=Handover.State.COMPLETED)
    incident.resolved_at = at
    _set_status(incident, Status.COMPLETED, actor=actor, at=at, note=text, data={"action": t.action},
                fields=["resolved_at"])


def _send_back(*, incident, t, actor, text, at, **_kw) -> None:
    incident.handovers.filter(state=Handover.State.COMPLETED).update(state=Handover.State.ACCEPTED)
    incident.resolved_at = None
    _set_status(incident, Status.IN_PROGRESS, actor=actor, at=at, note=text, data={"action": t.action},
                fields=["resolved_at"])


def _feed_back(*, incident, t, actor, text, at, **_kw) -> None:
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


def _close(*, incident, t, actor, text, at, **_kw) -> None:
    incident.closed_at = max(at, incident.reported_at)
    _set_status(incident, Status.CLOSED, actor=actor, at=at, note=text, data={"action": t.action},
                fields=["closed_at"])


def _reopen(*, incident, t, actor, text, at, **_kw) -> None:
    incident.closed_at = None
    incident.resolved_at = None
    incident.reopen_count += 1
    _set_status(incident, flows.REOPEN_TARGET[incident.flow], actor=actor, at=at, note=text,
                data={"action": t.action}, fields=["closed_at", "resolved_at", "reopen_count"])


_HANDLERS = {
    "dispatch": _dispatch,
    "arrive": _arrive,
    "resolve": _resolve,
    "transfer": _handover_out,
    "assign": _handover_out,
    "accept_handover": _accept_handover,
    "return_handover": _return_handover,
    "complete": _complete,
    "send_back": _send_back,
    "feed_back": _feed_back,
    "close": _close,
    "cancel": _close,
    "reopen": _reopen,
}


# --- people involved ---------------------------------------------------------------------------

def party_register(*, incident_id: int, actor, name: str, phone: str = "", id_number: str = "",
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
        if not has_role(actor, *COMMAND_ROLES) and not _member_has_live_order(_actor_member(actor), incident):
            raise Forbidden(_("Only the command room or a dispatched responder registers people."), code="forbidden")
        party = Party.objects.create(incident=incident, name=name, phone=phone, id_number=id_number, role=role,
                                     registered_at=timezone.now(), registered_by=actor)
        event_append(incident=incident, kind=IncidentEvent.Kind.PARTY_REGISTERED, actor=actor,
                     actor_member=_actor_member(actor),
                     data={"party": party.pk, "name": name, "role": role, "id_number": party.id_number_masked})
    return party


def party_reveal(*, party_id: int, actor) -> str:
    """The full ID number, for the roles allowed to see it; every reveal is in the timeline."""
    _require_role(actor, REVEAL_ROLES)
    with transaction.atomic():
        party = Party.objects.select_related("incident__subdistrict").filter(pk=party_id).first()
        if party is None:
            raise DomainError(_("No such person."), code="not_found", http_status=404)
        event_append(incident=party.incident, kind=IncidentEvent.Kind.PARTY_REVEALED, actor=actor,
                     data={"party": party.pk, "name": party.name})
    return party.id_number


# --- feedback ----------------------------------------------------------------------------------

def _backoff(attempts: int) -> timedelta:
    seconds = settings.FEEDBACK_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.FEEDBACK_RETRY_MAX_SECONDS))


def feedback_deliver_due(*, now: datetime | None = None, limit: int = 20) -> int:
    """Post every due result delivery to its callback URL; a 2xx answer acknowledges it, anything
    else schedules the next try with exponential backoff. Rows are claimed with SKIP LOCKED, so
    several workers never post the same delivery twice. Returns how many were attempted."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(FeedbackDelivery.objects.select_for_update(skip_locked=True)
                   .filter(state=FeedbackDelivery.State.PENDING, next_attempt_at__lte=now)
                   .select_related("incident__subdistrict").order_by("next_attempt_at", "id")[:limit])
        with httpx.Client(timeout=settings.FEEDBACK_TIMEOUT_SECONDS) as client:
            for delivery in due:
                _deliver(client, delivery, now)
    return len(due)


def _deliver(client: httpx.Client, delivery: FeedbackDelivery, now: datetime) -> None:
    status, error = None, ""
    try:
        response = client.post(delivery.url, json=delivery.payload)
        status = response.status_code
        ok = 200 <= status < 300
        if not ok:
            error = response.text[:200]
    except httpx.HTTPError as exc:
        ok, error = False, f"{type(exc).__name__}: {exc}"[:500]
    FeedbackAttempt.objects.create(delivery=delivery, at=now, http_status=status, error=error, ok=ok)
    delivery.attempts += 1
    if ok:
        delivery.state, delivery.delivered_at = FeedbackDelivery.State.DELIVERED, now
        event_append(incident=delivery.incident, kind=IncidentEvent.Kind.FEEDBACK_DELIVERED,
                     data={"delivery": delivery.pk, "attempts": delivery.attempts}, at=now)
    else:
        delivery.next_attempt_at = now + _backoff(delivery.attempts)
        if delivery.attempts == 1:
            event_append(incident=delivery.incident, kind=IncidentEvent.Kind.FEEDBACK_FAILED, note=error,
                         data={"delivery": delivery.pk, "http_status": status,
                               "next_attempt_at": delivery.next_attempt_at.isoformat()}, at=now)
    delivery.save(update_fields=["attempts", "state", "delivered_at", "next_attempt_at"])


def callback_complete(*, callback_id: int, actor, state: str, satisfaction: str = "", note: str = "",
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
        task = CallbackTask.objects.select_for_update().filter(pk=callback_id).first()
        if task is None:
            raise DomainError(_("No such call-back."), code="not_found", http_status=404)
        if task.state != CallbackTask.State.OPEN:
            raise TransitionRefused(_("This call-back is already recorded."))
        incident = _lock(task.incident_id)
        task.state, task.satisfaction, task.note = state, satisfaction if state == CallbackTask.State.DONE else "", note
        task.done_at, task.done_by = timezone.now(), actor
        task.save()
        event_append(incident=incident, kind=IncidentEvent.Kind.CALLBACK_DONE, actor=actor, note=note,
                     data={"callback": task.pk, "state": state, "satisfaction": task.satisfaction})
        if reopen:
            incident_transition(incident_id=incident.pk, action="reopen", actor=actor, text=note)
    return task
