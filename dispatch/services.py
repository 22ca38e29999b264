"""The operations that change dispatch orders, an incident's escalation level and the SLA clock's
alarms. Each runs in one transaction: lock, check, mutate, append the timeline event (published
after commit by `incidents.events.event_append`). The API calls these and nothing else.

Locks are always taken incident first, then the order or alarm row, as the incident services do;
the SLA clock never waits for a lock (SKIP LOCKED), so no order of locks can deadlock with it.

Errors are `DomainError` (400), `TransitionRefused` (409) or `Forbidden` (403); a refused call
changes nothing.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import DomainError, TransitionRefused
from config.roles import has_role
from dispatch.models import Alarm, DispatchOrder
from incidents import flows
from incidents.events import event_append
from incidents.models import Incident, IncidentEvent
from incidents.services import COMMAND_ROLES, MAX_TEXT, Forbidden
from incidents.validators import clean_text

# Who records an acceptance or a decline on a member's behalf, raises levels and handles alarms.
ON_BEHALF_ROLES = COMMAND_ROLES
LEVEL_ROLES = COMMAND_ROLES
ALARM_ROLES = COMMAND_ROLES

LIVE_ORDER_STATES = (DispatchOrder.State.DISPATCHED, DispatchOrder.State.ACCEPTED)
# Level 0 is the first ring of the responsibility rules; each raise adds the next ring
# (neighbouring grids, the unit's reserve, the leaders). Beyond this there is nobody left to add.
ESCALATION_MAX_LEVEL = 3
SNOOZE_MAX_MINUTES = 24 * 60


def _actor_member(actor):
    return getattr(actor, "member", None) if actor is not None and actor.is_authenticated else None


def _incident_lock(incident_id: int) -> Incident:
    incident = (Incident.objects.select_for_update(of=("self",)).select_related("subdistrict")
                .defer("subdistrict__boundary").filter(pk=incident_id).first())
    if incident is None:
        raise DomainError(_("No such case."), code="not_found", http_status=404)
    return incident


def _check_open(incident: Incident) -> None:
    if incident.status not in flows.OPEN_STATUSES:
        raise TransitionRefused(_("The case is “%(status)s”: it is no longer handled.")
                                % {"status": incident.get_status_display()})


# --- orders: accept and decline -------------------------------------------------------------------

def _order_lock(order_id: int) -> tuple[Incident, DispatchOrder]:
    """Lock the order's incident, then the order. Precondition: inside a transaction."""
    incident_id = DispatchOrder.objects.filter(pk=order_id).values_list("incident_id", flat=True).first()
    if incident_id is None:
        raise DomainError(_("No such order."), code="not_found", http_status=404)
    incident = _incident_lock(incident_id)
    order = (DispatchOrder.objects.select_for_update(of=("self",)).select_related("member__unit")
             .get(pk=order_id))
    return incident, order


def _check_may_answer(order: DispatchOrder, actor) -> bool:
    """The dispatched member answers their own order; the command room and dispatchers may record
    the answer on the member's behalf (given by radio or phone). Returns whether on behalf."""
    member = _actor_member(actor)
    if member is not None and member.pk == order.member_id:
        return False
    if actor is not None and has_role(actor, *ON_BEHALF_ROLES):
        return True
    raise Forbidden(_("Only the dispatched member or a dispatcher may answer this order."), code="forbidden")


def _order_data(order: DispatchOrder, *, on_behalf: bool) -> dict:
    return {"order": order.pk, "member": order.member_id, "member_name": order.member.name,
            "force": order.member.force, "on_behalf": on_behalf}


def order_accept(*, order_id: int, actor, at: datetime | None = None) -> DispatchOrder:
    """The member accepts their order (or a dispatcher records that they did). Only a dispatched
    order can be accepted: an accepted one again, or a finished one (arrived, declined, cancelled),
    is refused (409)."""
    at = at or timezone.now()
    with transaction.atomic():
        incident, order = _order_lock(order_id)
        on_behalf = _check_may_answer(order, actor)
        _check_open(incident)
        if order.state == DispatchOrder.State.ACCEPTED:
            raise TransitionRefused(_("This order is already accepted."))
        if order.state != DispatchOrder.State.DISPATCHED:
            raise TransitionRefused(_("This order is “%(state)s”: it can no longer be accepted.")
                                    % {"state": order.get_state_display()})
        order.state, order.accepted_at = DispatchOrder.State.ACCEPTED, at
        order.save(update_fields=["state", "accepted_at"])
        event_append(incident=incident, kind=IncidentEvent.Kind.ORDER_ACCEPTED, actor=actor,
                     actor_member=order.member, data=_order_data(order, on_behalf=on_behalf), at=at)
    return order


def order_decline(*, order_id: int, actor, reason: str, at: datetime | None = None) -> DispatchOrder:
    """The member declines their order with a reason (or a dispatcher records it). A dispatched
    or accepted order may be declined; the member is then free (no live order: the recommendation
    counts them free again and they may be dispatched anew), and the SLA clock no longer watches
    the order. The timeline says whether anybody is still on the way."""
    reason = clean_text(reason, field=_("Reason"), max_length=500, required=True)
    at = at or timezone.now()
    with transaction.atomic():
        incident, order = _order_lock(order_id)
        on_behalf = _check_may_answer(order, actor)
        _check_open(incident)
        if order.state not in LIVE_ORDER_STATES:
            raise TransitionRefused(_("This order is “%(state)s”: it can no longer be declined.")
                                    % {"state": order.get_state_display()})
        order.state, order.declined_at, order.decline_reason = DispatchOrder.State.DECLINED, at, reason
        order.save(update_fields=["state", "declined_at", "decline_reason"])
        still_live = incident.orders.filter(state__in=LIVE_ORDER_STATES + (DispatchOrder.State.ARRIVED,)).count()
        data = _order_data(order, on_behalf=on_behalf) | {"responders_left": still_live}
        event_append(incident=incident, kind=IncidentEvent.Kind.ORDER_DECLINED, actor=actor,
                     actor_member=order.member, note=reason, data=data, at=at)
    return order


# --- escalation level -----------------------------------------------------------------------------

def incident_raise_level(*, incident_id: int, actor, level: int | None = None, note: str = "",
                         at: datetime | None = None) -> Incident:
    """Raise an incident's escalation level (default: one up). Only stored and announced here:
    the recommendation reads `incident.level` and adds the rules of the next rings. Raising to
    the level the case already has (two dispatchers at once) is refused (409)."""
    if actor is None or not has_role(actor, *LEVEL_ROLES):
        raise Forbidden(_("Only the command room or a dispatcher raises the level."), code="forbidden")
    note = clean_text(note, field=_("Note"), max_length=MAX_TEXT)
    at = at or timezone.now()
    with transaction.atomic():
        incident = _incident_lock(incident_id)
        _check_open(incident)
        previous = incident.level
        target = previous + 1 if level is None else level
        if target <= previous:
            raise TransitionRefused(_("The case is at level %(level)d already; a level can only be raised.")
                                    % {"level": previous})
        if target > ESCALATION_MAX_LEVEL:
            raise DomainError(_("The highest escalation level is %(max)d.") % {"max": ESCALATION_MAX_LEVEL},
                              code="level")
        incident.level = target
        incident.save(update_fields=["level", "updated_at"])
        said = _("Level %(from)d → %(to)d.") % {"from": previous, "to": target}
        event_append(incident=incident, kind=IncidentEvent.Kind.LEVEL_RAISED, actor=actor,
                     actor_member=_actor_member(actor), note=f"{said} {note}".strip(),
                     data={"from": previous, "to": target, "reason": note}, at=at)
    return incident


# --- alarms: acknowledge and snooze ----------------------------------------------------------------

def _alarm_lock(alarm_id: int) -> tuple[Incident, Alarm]:
    incident_id = Alarm.objects.filter(pk=alarm_id).values_list("incident_id", flat=True).first()
    if incident_id is None:
        raise DomainError(_("No such alarm."), code="not_found", http_status=404)
    incident = _incident_lock(incident_id)
    alarm = Alarm.objects.select_for_update(of=("self",)).select_related("order__member").get(pk=alarm_id)
    return incident, alarm


def alarm_data(alarm: Alarm, **extra) -> dict:
    """What the timeline and the wall map need to know of an alarm."""
    data = {"alarm": alarm.pk, "alarm_kind": alarm.kind, "alarm_state": alarm.state}
    if alarm.order_id:
        data |= {"order": alarm.order_id, "member": alarm.order.member_id, "member_name": alarm.order.member.name}
    return data | extra


def alarm_acknowledge(*, alarm_id: int, actor, note: str, at: datetime | None = None) -> Alarm:
    """The command room acknowledges an open or snoozed alarm with a note (what was done)."""
    if actor is None or not has_role(actor, *ALARM_ROLES):
        raise Forbidden(_("Only the command room handles alarms."), code="forbidden")
    note = clean_text(note, field=_("Note"), max_length=MAX_TEXT, required=True)
    at = at or timezone.now()
    with transaction.atomic():
        incident, alarm = _alarm_lock(alarm_id)
        if alarm.state == Alarm.State.ACKNOWLEDGED:
            raise TransitionRefused(_("This alarm is acknowledged already."))
        alarm.state, alarm.acknowledged_at, alarm.acknowledged_by, alarm.note = (
            Alarm.State.ACKNOWLEDGED, at, actor, note)
        alarm.snoozed_until = None
        alarm.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "note", "snoozed_until"])
        event_append(incident=incident, kind=IncidentEvent.Kind.ALARM_HANDLED, actor=actor,
                     actor_member=_actor_member(actor), note=f"{_('Acknowledged.')} {note}",
                     data=alarm_data(alarm, action="acknowledged", reason=note), at=at)
    return alarm


def alarm_snooze(*, alarm_id: int, actor, minutes: int, note: str = "", at: datetime | None = None) -> Alarm:
    """Snooze an open (or snoozed) alarm for `minutes`; when the time passes, the SLA clock opens
    it again and says so in the timeline."""
    if actor is None or not has_role(actor, *ALARM_ROLES):
        raise Forbidden(_("Only the command room handles alarms."), code="forbidden")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= SNOOZE_MAX_MINUTES:
        raise DomainError(_("Snooze for 1 to %(max)d minutes.") % {"max": SNOOZE_MAX_MINUTES}, code="minutes")
    note = clean_text(note, field=_("Note"), max_length=MAX_TEXT)
    at = at or timezone.now()
    with transaction.atomic():
        incident, alarm = _alarm_lock(alarm_id)
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
