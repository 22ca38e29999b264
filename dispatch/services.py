"""Dispatching's one home: the operations that write dispatch orders (dispatch, accept, decline,
arrive, stand down, replace), the moves of a case along its flow (`incident_transition`, the
transitions endpoint's service), an incident's escalation level and the SLA clock's alarms. Each
runs in one transaction: lock, check, mutate, append the timeline event (published after commit by
`incidents.events.event_append`). The API calls these and nothing else.

Locks follow the one order of incidents/locks.py: incidents by id, then their orders, hand-overs
and alarms, each by id, and only the rows meant (`of=("self",)`); the SLA clock never waits for a
lock (SKIP LOCKED), so it cannot close a cycle with them.

Errors are `DomainError` (400), `TransitionRefused` (409) or `Forbidden` (403); a refused call
changes nothing.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import LineString, Point
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pyproj import Geod

from config.errors import DomainError, Forbidden, TransitionRefused
from config.roles import COMMAND_ROLES, Actor, has_role
from dispatch import flows as order_flows
from dispatch.deadlines import manual_deadline_minutes
from dispatch.models import (
    Alarm,
    DispatchOrder,
    Member,
    MemberMessage,
    MemberPosition,
    ResponsibilityRule,
    Unit,
)
from dispatch.notify import message_resend, message_stand_down, messages_for_order_dispatched
from dispatch.recommend import Candidate, assess_members
from dispatch.selectors import alarms_told_to_leader, order_needs_replacement
from dispatch.unit_notify import offices_tell
from geo.tenancy import tenant_q
from incidents import flows
from incidents import services as lifecycle
from incidents.events import event_append
from incidents.models import Handover, Incident, IncidentEvent, Status
from incidents.photos import photos_prepare
from incidents.validators import clean_text

MAX_TEXT = lifecycle.MAX_TEXT
# The command room's desk (config.roles.COMMAND_ROLES) records answers on a member's behalf,
# stands members down, raises levels and handles alarms.
SNOOZE_MAX_MINUTES = 24 * 60
# The moves of a case that end on-site handling: every order still on the way is stood down.
STAND_DOWN_ACTIONS = {
    "resolve": gettext_lazy("The case was resolved on site: no longer needed."),
    "transfer": gettext_lazy("The case was transferred: no longer needed on the scene."),
    "cancel": gettext_lazy("The case was closed as invalid."),
    "close": gettext_lazy("The case was closed."),
}


# The offices' moves after which their parts' deadline alarms may be settled.
HANDOVER_ACTIONS = {"accept_handover", "return_handover", "complete"}


def _actor_member(actor: Actor | None) -> Member | None:
    return lifecycle.actor_member(actor)


def _incident_lock(incident_id: int) -> Incident:
    return lifecycle.incident_lock(incident_id)


def _check_open(incident: Incident) -> None:
    if incident.status not in flows.OPEN_STATUSES:
        raise TransitionRefused(_("The case is “%(status)s”: it is no longer handled.")
                                % {"status": incident.get_status_display()})


# --- the ladder -----------------------------------------------------------------------------------
#
# Level 0 is the first ring of the responsibility rules; each raise adds the next ring: 1 the
# neighbouring grids and the unit's reserve, 2 the sub-district's leaders, 3 all hands (every
# on-duty grid worker and grid leader of the neighbouring grids, more police, the command room's
# own linkage squad). The highest level is the highest ring the active rules define: there is no
# level that adds nobody.

def escalation_max_level() -> int:
    top = (ResponsibilityRule.objects.filter(active=True).order_by("-level")
           .values_list("level", flat=True).first())
    return int(top or 0)


# --- the transitions endpoint: one entry point --------------------------------------------------

def incident_transition(
    *, incident_id: int, action: str, actor: Actor, text: str = "", unit: Unit | None = None,
    members: Sequence[Member] = (), method: str = "", at: datetime | None = None, position: Point | None = None,
    off_duty_override: Sequence[Member | int] = (), reason: str = "", photos: Sequence[Any] = (),
) -> Incident:
    """Move a case along its flow (incidents/flows.py): lock the incident, check that the flow
    allows the action now, that the actor may make it and that the request carries what it needs;
    then write. Dispatch and arrival write orders (here); every other move is the case's own
    (`incidents.services.transition_handle`), and a move that ends on-site handling (resolve,
    transfer, cancel, close) stands down every order still on the way, in the same transaction.
    `photos` (uploaded files) go with `report_on_site` only: checked and prepared before the lock
    (`incidents.photos.photos_prepare`), once the actor is known to be allowed the move
    (`incidents.services.photos_allowed_check`), and kept with the report."""
    t = lifecycle.transition_get(action)
    text = clean_text(text, field=_("Text"), max_length=MAX_TEXT, required="text" in t.requires)
    reason = clean_text(reason, field=_("Reason"), max_length=MAX_TEXT)
    if photos:  # nothing is decoded for an actor who may not make the move
        lifecycle.photos_allowed_check(t, incident_id, actor, unit=unit)
    prepared = photos_prepare(files=photos, action=action)
    at = at or timezone.now()
    with transaction.atomic():
        incident = lifecycle.incident_lock(incident_id)
        lifecycle.transition_check(t, incident, actor, unit=unit)
        if action == "dispatch":
            _dispatch(incident=incident, t=t, actor=actor, text=text, members=members, method=method, at=at,
                      off_duty_override=off_duty_override)
        elif action == "arrive":
            _arrive(incident=incident, t=t, actor=actor, members=members, at=at, position=position)
        else:
            lifecycle.transition_handle(incident=incident, t=t, actor=actor, text=text, unit=unit, at=at,
                                        reason=reason, photos=prepared)
            if action in HANDOVER_ACTIONS:
                handover_alarms_settle(incident, actor=actor, at=at)
            if action in STAND_DOWN_ACTIONS:
                orders_stand_down_all(incident=incident, actor=actor, at=at, reason=str(STAND_DOWN_ACTIONS[action]))
            # The offices told of the command room's moves on their parts (published after commit).
            offices_tell(incident, action=action, actor=actor, at=at)
    return incident


def incident_merge(*, incident_id: int, into_id: int, actor: Actor) -> Incident:
    """Merge a duplicate case into another (`incidents.services.incident_merge_records`) and stand
    down the orders still on the way to the duplicate, in one transaction."""
    with transaction.atomic():
        into = lifecycle.incident_merge_records(incident_id=incident_id, into_id=into_id, actor=actor)
        dup = lifecycle.incident_lock(incident_id)
        orders_stand_down_all(incident=dup, actor=actor, at=timezone.now(),
                              reason=_("The case was merged into %(number)s.") % {"number": into.number})
    return into


# --- dispatch -------------------------------------------------------------------------------------

def _member_deadline(member: Member, incident: Incident, candidate: Candidate | None, at: datetime) -> int | None:
    """The order's deadline in minutes: the recommendation's for the member (their rule, or the
    plan's for their force when no rule names them), or — a case without a point — the plan's."""
    if candidate is not None:
        return candidate.deadline_minutes
    return manual_deadline_minutes(force=member.force, roles=member.roles, at=at, major=incident.major)


def _dispatch(*, incident: Incident, t: flows.Transition, actor: Actor, text: str, members: Sequence[Member],
              method: str, at: datetime, off_duty_override: Sequence[Member | int] = (),
              replaces: DispatchOrder | None = None) -> list[DispatchOrder]:
    """One order per chosen member, each with its deadline, rule, reason, level, estimated
    travel time, origin and road route (null when the network cannot reach them) from the
    recommendation (`dispatch.recommend`): arrive_by = now + the rule's minutes, or for a member
    no rule names the plan's deadline for their force at this hour (`dispatch.deadlines`; none
    for a grid leader after 21:30). A member off duty is refused unless the dispatcher named them
    in `off_duty_override`: the whole dispatch is refused then and nothing changes. A member
    already holding a current order on the case is skipped; the partial unique index settles
    two dispatchers racing. Returns the new orders."""
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
        if lifecycle.member_has_current_order(member, incident):
            continue  # already on their way: a second dispatcher's click adds nothing
        c = assessed.get(member.pk)
        deadline = _member_deadline(member, incident, c, at)
        fields = {
            "arrive_by": None if deadline is None else at + timedelta(minutes=deadline),
            "rule": c.rule if c else None,
            "reason": (c.reason if c else "")[:500],
            "level": c.level if c and c.rule else incident.level,
            "travel_seconds": c.travel_seconds if c else None,
            "off_duty_override": bool(c and not c.on_duty),
            # Where they set out from and their road route, as the wall map draws them.
            "origin": Point(*c.origin, srid=4326) if c else None,
            "route": LineString(c.route, srid=4326) if c and c.route and len(c.route) >= 2 else None,
            "replaces": replaces,
        }
        try:
            with transaction.atomic():
                new_orders.append(DispatchOrder.objects.create(
                    incident=incident, member=member, method=method, dispatched_at=at, dispatched_by=actor, **fields))
        except IntegrityError as exc:
            constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
            if constraint != "dispatch_order_one_live_per_member":
                raise
            continue  # a second dispatcher sent them a moment ago
    for order in new_orders:
        data = {"order": order.pk, "member": order.member_id, "member_name": order.member.name,
                "force": order.member.force, "method": method,
                "arrive_by": order.arrive_by.isoformat() if order.arrive_by else None,
                "rule": order.rule.code if order.rule else None, "off_duty_override": order.off_duty_override}
        if replaces is not None:
            data |= {"replaces": replaces.pk, "replaces_member_name": replaces.member.name}
        event_append(incident=incident, kind=IncidentEvent.Kind.DISPATCHED, actor=actor, note=text, data=data, at=at)
        messages_for_order_dispatched(order)
    if incident.status == Status.NEW and new_orders:
        lifecycle.status_set(incident, Status.DISPATCHED, actor=actor, at=at, data={"action": t.action})
    return new_orders


# --- arrival --------------------------------------------------------------------------------------

_GEOD = Geod(ellps="WGS84")


def _arrival_check(order: DispatchOrder, incident: Incident, position: Point | None, at: datetime) -> dict[str, Any]:
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


def _arrive(*, incident: Incident, t: flows.Transition, actor: Actor, members: Sequence[Member], at: datetime,
            position: Point | None = None) -> None:
    member = _actor_member(actor)
    who = list(members) if members and has_role(actor, *COMMAND_ROLES) else ([member] if member else [])
    if not who:
        raise DomainError(_("Say who arrived."), code="members")
    if position is not None and len(who) > 1:
        raise DomainError(_("A position belongs to one responder: record their arrivals one by one."),
                          code="position")
    position = lifecycle.check_point(position)
    orders = list(incident.orders.select_for_update(of=("self",)).select_related("member").live()
                  .filter(member__in=who).order_by("id"))
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
        if order.overdue_escalated_at is not None:  # late, but there: the lateness stays on the order
            _alarms_settle(order.alarms.all(), incident=incident, actor=actor, at=at,
                           note=_("%(member)s arrived at %(time)s.") % {
                               "member": order.member.name, "time": timezone.localtime(at).strftime("%H:%M")})
    if incident.status == Status.DISPATCHED:
        lifecycle.status_set(incident, Status.ARRIVED, actor=actor, at=at, data={"action": t.action})


# --- orders: accept, decline, stand down ----------------------------------------------------------

def _order_lock(order_id: int) -> tuple[Incident, DispatchOrder]:
    """Lock the order's incident, then the order. Precondition: inside a transaction."""
    incident_id = DispatchOrder.objects.filter(pk=order_id).values_list("incident_id", flat=True).first()
    if incident_id is None:
        raise DomainError(_("No such order."), code="not_found", http_status=404)
    incident = _incident_lock(incident_id)
    order = (DispatchOrder.objects.select_for_update(of=("self",)).select_related("member__unit")
             .get(pk=order_id))
    return incident, order


def _check_order_move(order: DispatchOrder, action: str) -> None:
    """The order's state machine (`dispatch/flows.py`) allows `action` now, else 409."""
    if not order_flows.order_may(action, order.state):
        if action == "accept" and order.state == DispatchOrder.State.ACCEPTED:
            raise TransitionRefused(_("This order is already accepted."))
        label = order_flows.ORDER_TRANSITIONS[action].label
        raise TransitionRefused(_("This order is “%(state)s”: “%(action)s” is no longer possible.")
                                % {"state": order.get_state_display(), "action": label})


def _check_may_answer(order: DispatchOrder, actor: Actor) -> bool:
    """The dispatched member answers their own order; the command room and dispatchers may record
    the answer on the member's behalf (given by radio or phone). Returns whether on behalf."""
    member = _actor_member(actor)
    if member is not None and member.pk == order.member_id:
        return False
    if actor is not None and has_role(actor, *COMMAND_ROLES):
        return True
    raise Forbidden(_("Only the dispatched member or a dispatcher may answer this order."), code="forbidden")


def _order_data(order: DispatchOrder, *, on_behalf: bool) -> dict[str, Any]:
    return {"order": order.pk, "member": order.member_id, "member_name": order.member.name,
            "force": order.member.force, "on_behalf": on_behalf}


def order_accept(*, order_id: int, actor: Actor, at: datetime | None = None) -> DispatchOrder:
    """The member accepts their order (or a dispatcher records that they did). Only a dispatched
    order can be accepted: an accepted one again, or a finished one (arrived, declined, stood
    down), is refused (409)."""
    at = at or timezone.now()
    with transaction.atomic():
        incident, order = _order_lock(order_id)
        on_behalf = _check_may_answer(order, actor)
        _check_open(incident)
        _check_order_move(order, "accept")
        order.state, order.accepted_at = DispatchOrder.State.ACCEPTED, at
        order.save(update_fields=["state", "accepted_at"])
        event_append(incident=incident, kind=IncidentEvent.Kind.ORDER_ACCEPTED, actor=actor,
                     actor_member=order.member, data=_order_data(order, on_behalf=on_behalf), at=at)
    return order


def order_decline(*, order_id: int, actor: Actor, reason: str, at: datetime | None = None) -> DispatchOrder:
    """The member declines their order with a reason (or a dispatcher records it). A dispatched
    or accepted order may be declined; the member is then free (no current order: the
    recommendation counts them free again), the SLA clock no longer watches the order, and the
    next candidate of the same rule is proposed in their place (`dispatch.selectors.replacements`).
    The timeline says whether anybody is still on the way."""
    reason = clean_text(reason, field=_("Reason"), max_length=500, required=True)
    at = at or timezone.now()
    with transaction.atomic():
        incident, order = _order_lock(order_id)
        on_behalf = _check_may_answer(order, actor)
        _check_open(incident)
        _check_order_move(order, "decline")
        order.state, order.declined_at, order.decline_reason = DispatchOrder.State.DECLINED, at, reason
        order.save(update_fields=["state", "declined_at", "decline_reason"])
        _alarms_settle(order.alarms.all(), incident=incident, actor=actor, at=at,
                       note=_("Declined: %(reason)s") % {"reason": reason})
        still = incident.orders.current().count()
        data = _order_data(order, on_behalf=on_behalf) | {"responders_left": still}
        event_append(incident=incident, kind=IncidentEvent.Kind.ORDER_DECLINED, actor=actor,
                     actor_member=order.member, note=reason, data=data, at=at)
    return order


def _alarms_settle(alarms: QuerySet[Alarm], *, incident: Incident, actor: Actor | None, at: datetime,
                   note: str) -> None:
    """Settle alarms whose cause is gone (the member arrived, declined, was stood down or replaced;
    the office decided or reported): acknowledged with `note`, and an ALARM_HANDLED event each so
    the timeline and the wall say so. Precondition: the incident is locked."""
    user = actor if actor is not None and actor.is_authenticated else None
    for alarm in alarms.select_for_update(of=("self",)).select_related("order__member") \
            .exclude(state=Alarm.State.ACKNOWLEDGED).order_by("id"):
        alarm.state, alarm.acknowledged_at, alarm.acknowledged_by, alarm.note = Alarm.State.ACKNOWLEDGED, at, user, note
        alarm.snoozed_until = None
        alarm.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "note", "snoozed_until"])
        event_append(incident=incident, kind=IncidentEvent.Kind.ALARM_HANDLED, actor=user,
                     actor_member=_actor_member(actor), note=_("Settled.") + " " + note,
                     data=alarm_data(alarm, action="settled", reason=note), at=at)


def handover_alarms_settle(incident: Incident, *, actor: Actor, at: datetime) -> None:
    """After an office decided or reported: its part's acceptance alarm is settled once the part
    is no longer pending, its result alarm once the part is no longer accepted-and-working.
    Precondition: the incident is locked."""
    alarms = Alarm.objects.filter(incident=incident, handover__isnull=False)
    _alarms_settle(alarms.filter(kind=Alarm.Kind.HANDOVER_ACCEPT_OVERDUE).exclude(handover__state=Handover.State.PENDING),
                   incident=incident, actor=actor, at=at, note=_("The office decided on the hand-over."))
    _alarms_settle(alarms.filter(kind=Alarm.Kind.HANDOVER_REPORT_OVERDUE).exclude(handover__state=Handover.State.ACCEPTED),
                   incident=incident, actor=actor, at=at, note=_("The office reported its result."))


def _stand_down(incident: Incident, order: DispatchOrder, *, actor: Actor, at: datetime, reason: str) -> None:
    """Stand one live order down (locked). Its alarms are settled; the timeline says who and why."""
    order.state, order.stood_down_at, order.stand_down_reason = DispatchOrder.State.STOOD_DOWN, at, reason[:500]
    order.stood_down_by = actor if actor is not None and actor.is_authenticated else None
    order.save(update_fields=["state", "stood_down_at", "stand_down_reason", "stood_down_by"])
    _alarms_settle(order.alarms.all(), incident=incident, actor=actor, at=at,
                   note=_("Stood down: %(reason)s") % {"reason": reason})
    event_append(incident=incident, kind=IncidentEvent.Kind.ORDER_STOOD_DOWN, actor=actor,
                 actor_member=_actor_member(actor), note=reason,
                 data=_order_data(order, on_behalf=False) | {"reason": reason}, at=at)
    message_stand_down(order)


def orders_stand_down_all(*, incident: Incident, actor: Actor, at: datetime, reason: str) -> list[DispatchOrder]:
    """Stand down every order still on the way to the case (the case was resolved, transferred,
    closed or merged). Precondition: the incident is locked. Returns the orders stood down."""
    orders = list(incident.orders.select_for_update(of=("self",)).select_related("member").live()
                  .order_by("id"))
    for order in orders:
        _stand_down(incident, order, actor=actor, at=at, reason=reason)
    return orders


def order_stand_down(*, order_id: int, actor: Actor, reason: str, at: datetime | None = None) -> DispatchOrder:
    """A dispatcher calls one member off with a reason (no longer needed, sent elsewhere). Only an
    order still on the way can be stood down (409 otherwise); a stood-down order never raises an
    alarm, and its open alarms are settled."""
    if actor is None or not has_role(actor, *COMMAND_ROLES):
        raise Forbidden(_("Only the command room or a dispatcher stands a responder down."), code="forbidden")
    reason = clean_text(reason, field=_("Reason"), max_length=500, required=True)
    at = at or timezone.now()
    with transaction.atomic():
        incident, order = _order_lock(order_id)
        _check_order_move(order, "stand_down")
        _stand_down(incident, order, actor=actor, at=at, reason=reason)
    return order


def last_reminded_at(order: DispatchOrder) -> datetime | None:
    """When the order was last sent again to its member (by the SLA clock or a dispatcher)."""
    return (order.messages.filter(member_id=order.member_id, kind=MemberMessage.Kind.RESEND)
            .order_by("-created_at").values_list("created_at", flat=True).first())


def order_remind(*, order_id: int, actor: Actor, at: datetime | None = None) -> DispatchOrder:
    """A dispatcher reminds the member of an order they have not accepted yet: the order is sent
    again (a `resend` message, published to their app at once) and the timeline says so. 403 for
    other roles; 409 when the order no longer waits for confirmation (accepted, declined, arrived,
    stood down, or the case no longer handled); 429 when the member was reminded of this order less
    than REMIND_MIN_INTERVAL_SECONDS ago (by anybody, or by the SLA clock)."""
    if actor is None or not has_role(actor, *COMMAND_ROLES):
        raise Forbidden(_("Only the command room or a dispatcher reminds a responder."), code="forbidden")
    at = at or timezone.now()
    with transaction.atomic():
        incident, order = _order_lock(order_id)
        _check_open(incident)
        if order.state != DispatchOrder.State.DISPATCHED:
            raise TransitionRefused(_("This order is “%(state)s”: it no longer waits for confirmation.")
                                    % {"state": order.get_state_display()})
        last = last_reminded_at(order)
        wait = settings.REMIND_MIN_INTERVAL_SECONDS
        if last is not None and at - last < timedelta(seconds=wait):
            left = wait - int((at - last).total_seconds())
            raise TransitionRefused(_("%(member)s was reminded less than %(minutes)d minutes ago: try again in "
                                      "%(seconds)d s.") % {"member": order.member.name, "minutes": wait // 60 or 1,
                                                           "seconds": left},
                                    code="too_soon", http_status=429)
        message_resend(order, at)
        event_append(incident=incident, kind=IncidentEvent.Kind.NOTE, actor=actor, at=at,
                     note=_("%(member)s was reminded to confirm the order.") % {"member": order.member.name},
                     data={"remind": True, "order": order.pk, "member": order.member_id,
                           "member_name": order.member.name})
    return order


# --- replacements ---------------------------------------------------------------------------------

def order_replace(*, order_id: int, member_id: int, actor: Actor, method: str = DispatchOrder.Method.PHONE,
                  at: datetime | None = None, off_duty_override: bool = False) -> DispatchOrder:
    """Send `member_id` in place of a declined or overdue order (the one-click replacement the
    incident page and the wall card offer). The new order records which order it replaces, so the
    proposal is not made again; the late member, if still on the way, stays dispatched until the
    dispatcher stands them down. Refused (409) when the order needs no replacement (arrived, stood
    down, on time, replaced already) or the case is no longer handled on site."""
    at = at or timezone.now()
    with transaction.atomic():
        incident, order = _order_lock(order_id)
        t = lifecycle.transition_get("dispatch")
        lifecycle.transition_check(t, incident, actor)
        if not order_needs_replacement(order):
            raise TransitionRefused(_("This order needs no replacement."))
        if order.replacements.exists():
            raise TransitionRefused(_("A replacement was sent already."))
        member = Member.objects.filter(pk=member_id, subdistrict_id=incident.subdistrict_id).first()
        if member is None:
            raise DomainError(_("No such member in this sub-district."), code="members")
        if incident.orders.filter(member=member, state=DispatchOrder.State.DECLINED).exists():
            raise DomainError(_("%(name)s declined this case already.") % {"name": member.name}, code="members")
        new = _dispatch(incident=incident, t=t, actor=actor, text="", members=[member], method=method, at=at,
                        off_duty_override=[member.pk] if off_duty_override else (), replaces=order)
        if not new:
            raise TransitionRefused(_("%(name)s is already dispatched to this case.") % {"name": member.name})
        _alarms_settle(order.alarms.all(), incident=incident, actor=actor, at=at,
                       note=_("%(name)s was sent in place of %(late)s.") % {"name": member.name,
                                                                              "late": order.member.name})
    return new[0]


# --- escalation level -----------------------------------------------------------------------------

def incident_raise_level(*, incident_id: int, actor: Actor, level: int | None = None, note: str = "",
                         at: datetime | None = None) -> Incident:
    """Raise an incident's escalation level (default: one up). Only stored and announced here:
    the recommendation reads `incident.level` and adds the rules of the next rings. Raising to
    the level the case already has (two dispatchers at once) is refused (409); above the highest
    ring the rules define, 400."""
    if actor is None or not has_role(actor, *COMMAND_ROLES):
        raise Forbidden(_("Only the command room or a dispatcher raises the level."), code="forbidden")
    note = clean_text(note, field=_("Note"), max_length=MAX_TEXT)
    at = at or timezone.now()
    with transaction.atomic():
        incident = _incident_lock(incident_id)
        _check_open(incident)
        target = incident.level + 1 if level is None else level
        if target <= incident.level:
            raise TransitionRefused(_("The case is at level %(level)d already; a level can only be raised.")
                                    % {"level": incident.level})
        top = escalation_max_level()
        if target > top:
            raise DomainError(_("The highest escalation level is %(max)d.") % {"max": top}, code="level")
        level_set(incident, target, actor=actor, note=note, at=at)
    return incident


def level_set(incident: Incident, target: int, *, actor: Actor | None, note: str, at: datetime,
              data: dict[str, Any] | None = None) -> None:
    """Write a raised level and its LEVEL_RAISED event. Precondition: the incident is locked and
    `target` is checked (the dispatcher's service above, or the SLA clock's ladder)."""
    previous = incident.level
    incident.level = target
    incident.save(update_fields=["level", "updated_at"])
    said = _("Level %(from)d → %(to)d.") % {"from": previous, "to": target}
    event_append(incident=incident, kind=IncidentEvent.Kind.LEVEL_RAISED, actor=actor,
                 actor_member=_actor_member(actor), note=f"{said} {note}".strip(),
                 data={"from": previous, "to": target, "reason": note, **(data or {})}, at=at)


# --- alarms: acknowledge and snooze ----------------------------------------------------------------

def _alarm_lock(alarm_id: int, actor: Actor | None = None) -> tuple[Incident, Alarm]:
    """The alarm's case and the alarm, locked; 404 for none, or one of a sub-district the command
    room's `actor` does not work in (geo/tenancy.py)."""
    alarms = Alarm.objects.filter(pk=alarm_id)
    if actor is not None:
        alarms = alarms.filter(tenant_q(actor))
    incident_id = alarms.values_list("incident_id", flat=True).first()
    if incident_id is None:
        raise DomainError(_("No such alarm."), code="not_found", http_status=404)
    incident = _incident_lock(incident_id)
    alarm = Alarm.objects.select_for_update(of=("self",)).select_related("order__member").get(pk=alarm_id)
    return incident, alarm


def alarm_data(alarm: Alarm, **extra: object) -> dict[str, Any]:
    """What the timeline and the wall map need to know of an alarm."""
    data: dict[str, Any] = {"alarm": alarm.pk, "alarm_kind": alarm.kind, "alarm_state": alarm.state}
    if alarm.order is not None:
        data |= {"order": alarm.order_id, "member": alarm.order.member_id, "member_name": alarm.order.member.name}
    return data | extra


def alarm_acknowledge(*, alarm_id: int, actor: Actor, note: str, at: datetime | None = None) -> Alarm:
    """The command room acknowledges an open or snoozed alarm with a note (what was done)."""
    if actor is None or not has_role(actor, *COMMAND_ROLES):
        raise Forbidden(_("Only the command room handles alarms."), code="forbidden")
    note = clean_text(note, field=_("Note"), max_length=MAX_TEXT, required=True)
    at = at or timezone.now()
    with transaction.atomic():
        incident, alarm = _alarm_lock(alarm_id, actor)
        if alarm.state == Alarm.State.ACKNOWLEDGED:
            raise TransitionRefused(_("This alarm is acknowledged already."))
        alarm.state, alarm.acknowledged_at, alarm.acknowledged_by, alarm.note = (
            Alarm.State.ACKNOWLEDGED, at, actor, note)
        alarm.snoozed_until = None
        alarm.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "note", "snoozed_until"])
        event_append(incident=incident, kind=IncidentEvent.Kind.ALARM_HANDLED, actor=actor,
                     actor_member=_actor_member(actor), note=_("Acknowledged.") + " " + note,
                     data=alarm_data(alarm, action="acknowledged", reason=note), at=at)
    return alarm


def alarm_snooze(*, alarm_id: int, actor: Actor, minutes: int, note: str = "", at: datetime | None = None) -> Alarm:
    """Snooze an open (or snoozed) alarm for `minutes`; when the time passes, the SLA clock opens
    it again and says so in the timeline."""
    if actor is None or not has_role(actor, *COMMAND_ROLES):
        raise Forbidden(_("Only the command room handles alarms."), code="forbidden")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= SNOOZE_MAX_MINUTES:
        raise DomainError(_("Snooze for 1 to %(max)d minutes.") % {"max": SNOOZE_MAX_MINUTES}, code="minutes")
    note = clean_text(note, field=_("Note"), max_length=MAX_TEXT)
    at = at or timezone.now()
    with transaction.atomic():
        incident, alarm = _alarm_lock(alarm_id, actor)
        if alarm.state == Alarm.State.ACKNOWLEDGED:
            raise TransitionRefused(_("This alarm is acknowledged already."))
        alarm.state, alarm.snoozed_until = Alarm.State.SNOOZED, at + timedelta(minutes=minutes)
        alarm.save(update_fields=["state", "snoozed_until"])
        said = _("Snoozed for %(minutes)d minutes.") % {"minutes": minutes}
        event_append(incident=incident, kind=IncidentEvent.Kind.ALARM_HANDLED, actor=actor,
                     actor_member=_actor_member(actor), note=f"{said} {note}".strip(),
                     data=alarm_data(alarm, action="snoozed", minutes=minutes, reason=note,
                                     until=alarm.snoozed_until.isoformat()), at=at)
    return alarm


def alarm_acknowledge_by_leader(*, alarm_id: int, actor: Actor, note: str = "", at: datetime | None = None) -> Alarm:
    """A leader told of an overdue alarm acknowledges it from the responders' app (one tap, the note
    optional): the alarm is acknowledged by them, which ends its ladders (sent again, outbound, the
    command room, the level) — the lateness itself stays on the order, and the wall still shows the
    member overdue. 404 for an alarm the actor's member was not told of as a leader (the late member's
    own reminder included: `dispatch.selectors.alarms_told_to_leader`). One acknowledged already (by
    the command room, or by a tap before) is returned as it is: a second tap changes nothing."""
    member = _actor_member(actor)
    note = clean_text(note, field=_("Note"), max_length=MAX_TEXT)
    if member is None or not alarms_told_to_leader(member=member).filter(pk=alarm_id).exists():
        raise DomainError(_("No such alarm."), code="not_found", http_status=404)
    at = at or timezone.now()
    with transaction.atomic():
        incident, alarm = _alarm_lock(alarm_id)
        if alarm.state == Alarm.State.ACKNOWLEDGED:
            return alarm
        said = _("Acknowledged by %(name)s in the app.") % {"name": member.name}
        alarm.state, alarm.acknowledged_at, alarm.acknowledged_by = Alarm.State.ACKNOWLEDGED, at, actor
        alarm.note, alarm.snoozed_until = note or said, None
        alarm.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "note", "snoozed_until"])
        event_append(incident=incident, kind=IncidentEvent.Kind.ALARM_HANDLED, actor=actor, actor_member=member,
                     note=f"{said} {note}".strip(),
                     data=alarm_data(alarm, action="acknowledged", by_leader=True, leader=member.pk,
                                     leader_name=member.name, reason=note), at=at)
    return alarm
