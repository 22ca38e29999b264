"""The SLA clock: every deadline is a column in the database, and a worker raises each
escalation exactly once when one passes (`manage.py run_sla_clock`, started beside the server).

What it watches, every tick:
- an order's `arrive_by` (dispatched or accepted, on an open case, `overdue_escalated_at` still
  empty; the partial index `dispatch_order_sla_due` holds exactly these rows): an
  ARRIVAL_OVERDUE alarm for the order, told to the unit leaders of the member's unit (its shift
  leaders when no unit leader is on duty) and, as a reminder, to the late member;
- an open major incident whose leaders were not told yet (`major_notified_at` empty): a
  MAJOR_INCIDENT alarm, told to the sub-district's principal and responsible leaders. This is
  "at intake": the first tick after the case is taken (or marked major);
- a hand-over (one office's part of the case) on an open case, with two deadlines: still pending
  past its `accept_by` (`accept_escalated_at` empty; the partial index `handover_accept_due`): a
  HANDOVER_ACCEPT_OVERDUE alarm; accepted and its result not reported by its `deadline`
  (`report_escalated_at` empty; `handover_report_due`): a HANDOVER_REPORT_OVERDUE alarm — each
  once per hand-over, told to the unit leaders on duty of the receiving unit;
- a snoozed alarm whose `snoozed_until` passed: it is open again;
- an order dispatched but not accepted ("until acknowledged", `confirm_step`): sent again, then
  sent outbound, then raised to the member's unit leaders on duty, one step per claim, each once
  (`orders_unconfirmed_remind`);
- an overdue-arrival alarm its unit leaders did not acknowledge (in the app, or the command room
  for them; `ack_step`): sent to them again, then sent outbound, then raised to the command room,
  one step per claim, each once, each step's wait counted from the previous one
  (`alarms_unacknowledged_remind`).
Every alarm appends an ALARM event to the incident's timeline, published to the wall map after
commit; the command room acknowledges (with a note) or snoozes it (dispatch/services.py).

Exactly once, with any number of clocks and across kills:
1. the claim: `SELECT ... FOR UPDATE SKIP LOCKED` of the due rows, the order (or hand-over)
   together with its incident, in the tick's transaction. A second clock skips the rows the first
   one holds; once the first commits, the rows no longer match (PostgreSQL re-checks the WHERE
   clause of a row changed since the statement began), so they are never claimed twice;
2. the mark (`overdue_escalated_at`, `major_notified_at`, `accept_escalated_at`,
   `report_escalated_at`), the Alarm and the timeline event are written in that same
   transaction: a clock killed mid-tick commits none of them, its locks go with its connection,
   and the next tick of any clock claims the rows again;
3. the Alarm's unique constraints (one per order and kind; one per hand-over and kind; one per
   incident and kind without either) are the last word: an insert that would duplicate fails in
   its savepoint and is skipped.
Nothing about a deadline lives in the worker's memory. The clock never waits for a lock, so it
cannot deadlock with the services (which lock in the one order of incidents/locks.py: the incident
first, then its orders, hand-overs or alarms). A claim locks its row and the incident in one
statement, in no defined order between the two: safe only because SKIP LOCKED never waits (a pair
either is free and taken, or skipped until the next tick). After the claim the clock writes only
rows it holds, inserts rows that reference them, and takes any further lock with SKIP LOCKED.

Who is told: never a member who is off duty at that instant (no duty shift covers it), unless the
dispatcher explicitly chose them off duty (an order with `off_duty_override`). Leaders off duty
are skipped and listed in the event (`skipped`), so that the command room can phone them.
"""

import logging
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from dispatch.models import Alarm, DispatchOrder, Member, Role
from dispatch.notify import (
    message_alarm_outbound_now,
    message_outbound_now,
    message_resend,
    messages_alarm_resend,
    messages_for_alarm,
    messages_order_unconfirmed,
    unconfirmed_sentence,
)
from dispatch.selectors import on_duty_at
from dispatch.services import alarm_data, escalation_max_level, level_set
from incidents import flows
from incidents.events import event_append
from incidents.models import Handover, Incident, IncidentEvent

log = logging.getLogger("gridlink.sla")

CLAIM_BATCH = 100  # rows claimed per transaction; a tick repeats while a batch comes back full
MAX_ROUNDS = 50
ONCE_CONSTRAINTS = frozenset({"alarm_once_per_order", "alarm_once_per_handover", "alarm_once_per_incident"})
LEADER_ROLES = [Role.PRINCIPAL_LEADER, Role.RESPONSIBLE_LEADER]


def sla_tick(*, now: datetime | None = None, batch: int = CLAIM_BATCH) -> int:
    """One look at every deadline; returns how many rows were handled. Each step claims and
    raises in its own transaction, and repeats while it finds a full batch."""
    handled = 0
    # The alarms' acknowledgement ladder looks before the snoozed ones are opened again: an alarm
    # whose snooze ends now is chased from the next tick on, not in the same breath.
    for step in (arrivals_overdue_raise, alarms_unacknowledged_escalate, alarms_unacknowledged_remind,
                 major_incidents_notify, handovers_accept_overdue_raise, handovers_report_overdue_raise,
                 snoozed_alarms_reopen, orders_unconfirmed_remind):
        for _round in range(MAX_ROUNDS):
            n = step(now=now or timezone.now(), batch=batch)
            handled += n
            # An order's confirmation steps, and an alarm's acknowledgement steps, advance one per
            # claim: a clock catching up (several steps due at once) takes the next one in the next
            # round, until none is due. (An alarm's next step waits from the one just taken, so it
            # is due in the same tick only when its wait is configured as 0.)
            if n < batch and not (step in STEPWISE and n):
                break
    return handled


# --- recipients -----------------------------------------------------------------------------------

def _recipients(candidates: QuerySet[Member], at: datetime, chosen: set[int] | frozenset[int] = frozenset()
                ) -> tuple[list[Member], list[Member]]:
    """(told, skipped): the candidates on duty at `at` or explicitly chosen, and the others."""
    told: list[Member] = []
    skipped: list[Member] = []
    for member in candidates.filter(active=True).annotate(on_duty_now=on_duty_at(at)).order_by("code"):
        (told if member.on_duty_now or member.pk in chosen else skipped).append(member)
    return told, skipped


def unit_leader_recipients(order: DispatchOrder, at: datetime) -> tuple[list[Member], list[Member]]:
    """The unit leaders of the member's unit on duty (its shift leaders if no unit leader is)."""
    unit = Member.objects.filter(unit_id=order.member.unit_id).exclude(pk=order.member_id)
    told, skipped = _recipients(unit.filter(roles__contains=[Role.UNIT_LEADER]), at)
    if not told:
        told, _off = _recipients(unit.filter(roles__contains=[Role.SHIFT_LEADER]), at)
    return told, skipped


def overdue_recipients(order: DispatchOrder, at: datetime) -> tuple[list[Member], list[Member]]:
    """The unit leaders of the late member's unit on duty (its shift leaders if no unit leader
    is), and the late member themself when on duty or chosen although off duty."""
    told, skipped = unit_leader_recipients(order, at)
    chosen = {order.member_id} if order.off_duty_override else set()
    member_told, member_skipped = _recipients(Member.objects.filter(pk=order.member_id), at, chosen)
    return told + member_told, skipped + member_skipped


def major_recipients(incident: Incident, at: datetime) -> tuple[list[Member], list[Member]]:
    """Every principal and responsible leader of the sub-district, whatever their shift: the plan
    sends them to a major incident at once (街道主要领导、分管领导第一时间到达现场), so nobody is
    skipped for being off duty."""
    leaders = Member.objects.filter(subdistrict_id=incident.subdistrict_id, roles__overlap=LEADER_ROLES,
                                    active=True).order_by("code")
    return list(leaders), []


def handover_recipients(unit_ids: list[int], at: datetime) -> tuple[list[Member], list[Member]]:
    """The unit leaders on duty of the receiving units (those off duty are skipped)."""
    return _recipients(Member.objects.filter(unit_id__in=unit_ids, roles__contains=[Role.UNIT_LEADER]), at)


def _who(told: list[Member], skipped: list[Member]) -> dict:
    return {"notified": [m.pk for m in told], "notified_names": [m.name for m in told],
            "skipped": [m.pk for m in skipped], "skipped_names": [m.name for m in skipped]}


# --- raising ------------------------------------------------------------------------------------

def _alarm_once(**fields) -> Alarm | None:
    """Insert the alarm in a savepoint; None when its unique constraint says it exists already."""
    try:
        with transaction.atomic():
            return Alarm.objects.create(**fields)
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
        if constraint not in ONCE_CONSTRAINTS:
            raise
        log.warning("alarm %s for incident %s (order %s, hand-over %s) exists already: not raised again",
                    fields.get("kind"), fields["incident"].pk, getattr(fields.get("order"), "pk", None),
                    getattr(fields.get("handover"), "pk", None))
        return None


def _raise(*, incident: Incident, kind: str, due_at: datetime | None, now: datetime, told: list[Member],
           skipped: list[Member], note: str, order: DispatchOrder | None = None, extra: dict | None = None,
           escalate_after: datetime | None = None, handover: Handover | None = None) -> bool:
    alarm = _alarm_once(subdistrict_id=incident.subdistrict_id, incident=incident, order=order, handover=handover,
                        kind=kind, due_at=due_at, raised_at=now, notified=[m.pk for m in told],
                        escalate_after=escalate_after,
                        ack_step_at=now if kind in ACK_LADDER_KINDS else None)  # the ladder's first wait
    if alarm is None:
        return False
    if not told:
        note = f"{note} {_('Nobody on duty was told: phone them.')}"
    data = alarm_data(alarm, due_at=due_at.isoformat() if due_at else None, **_who(told, skipped), **(extra or {}))
    event_append(incident=incident, kind=IncidentEvent.Kind.ALARM, note=note, data=data, at=now)
    messages_for_alarm(alarm, told)
    return True


def arrivals_overdue_raise(*, now: datetime, batch: int = CLAIM_BATCH) -> int:
    """Claim the live orders whose `arrive_by` passed and raise one ARRIVAL_OVERDUE alarm each."""
    with transaction.atomic():
        orders = list(
            DispatchOrder.objects.select_for_update(skip_locked=True, of=("self", "incident"))
            .select_related("incident__subdistrict", "member__unit").defer("incident__subdistrict__boundary")
            .filter(state__in=DispatchOrder.LIVE_STATES, overdue_escalated_at__isnull=True, arrive_by__isnull=False,
                    arrive_by__lt=now, incident__status__in=flows.OPEN_ON_SITE)
            .order_by("arrive_by", "id")[:batch]
        )
        for order in orders:
            told, skipped = overdue_recipients(order, now)
            deadline = timezone.localtime(order.arrive_by).strftime("%H:%M")
            note = _("%(member)s (%(unit)s) has not arrived; the deadline was %(deadline)s.") % {
                "member": order.member.name, "unit": order.member.unit.name, "deadline": deadline}
            _raise(incident=order.incident, kind=Alarm.Kind.ARRIVAL_OVERDUE, due_at=order.arrive_by, now=now,
                   told=told, skipped=skipped, note=note, order=order, escalate_after=_escalate_after(now),
                   extra={"replacement": True})
            order.overdue_escalated_at = now
            order.save(update_fields=["overdue_escalated_at"])
    return len(orders)


def major_incidents_notify(*, now: datetime, batch: int = CLAIM_BATCH) -> int:
    """Claim the open major incidents whose leaders were not told and tell them (MAJOR_INCIDENT)."""
    with transaction.atomic():
        incidents = list(
            Incident.objects.select_for_update(skip_locked=True, of=("self",)).select_related("subdistrict")
            .defer("subdistrict__boundary").filter(major=True, major_notified_at__isnull=True, status__in=flows.OPEN_STATUSES)
            .order_by("reported_at", "id")[:batch]
        )
        for incident in incidents:
            told, skipped = major_recipients(incident, now)
            names = "、".join(m.name for m in told)
            _raise(incident=incident, kind=Alarm.Kind.MAJOR_INCIDENT, due_at=incident.reported_at, now=now,
                   told=told, skipped=skipped,
                   note=_("Major incident: the sub-district's leaders are told at once: %(names)s.")
                   % {"names": names} if told else _("Major incident: the sub-district has no leaders on record."))
            incident.major_notified_at = now
            incident.save(update_fields=["major_notified_at"])
    return len(incidents)


def _handovers_overdue_raise(*, now: datetime, batch: int, state: str, due: str, mark: str, kind: str,
                             message: str) -> int:
    """Claim the hand-overs in `state` whose deadline `due` passed on an open case and that are not
    marked yet (`mark`), each together with its incident; raise one `kind` alarm per hand-over,
    told to the receiving unit's leaders on duty, and mark it in the same transaction."""
    with transaction.atomic():
        handovers = list(
            Handover.objects.select_for_update(skip_locked=True, of=("self", "incident"))
            .select_related("incident__subdistrict", "unit").defer("incident__subdistrict__boundary")
            .filter(state=state, incident__status__in=flows.OPEN_STATUSES,
                    **{f"{mark}__isnull": True, f"{due}__isnull": False, f"{due}__lt": now})
            .order_by(due, "id")[:batch]
        )
        for handover in handovers:
            told, skipped = handover_recipients([handover.unit_id], now)
            deadline = getattr(handover, due)
            note = message % {"unit": handover.unit.name,
                              "deadline": timezone.localtime(deadline).strftime("%Y-%m-%d %H:%M")}
            _raise(incident=handover.incident, kind=kind, due_at=deadline, now=now, told=told, skipped=skipped,
                   note=note, handover=handover,
                   extra={"handover": handover.pk, "unit": handover.unit_id, "unit_name": handover.unit.name})
            setattr(handover, mark, now)
            handover.save(update_fields=[mark])
    return len(handovers)


def handovers_accept_overdue_raise(*, now: datetime, batch: int = CLAIM_BATCH) -> int:
    """A hand-over still waiting for its unit past `accept_by`: one HANDOVER_ACCEPT_OVERDUE alarm each."""
    return _handovers_overdue_raise(
        now=now, batch=batch, state=Handover.State.PENDING, due="accept_by", mark="accept_escalated_at",
        kind=Alarm.Kind.HANDOVER_ACCEPT_OVERDUE,
        message=_("%(unit)s has neither accepted nor returned the case; the deadline was %(deadline)s."))


def handovers_report_overdue_raise(*, now: datetime, batch: int = CLAIM_BATCH) -> int:
    """An accepted part whose result is not reported by its `deadline`: one HANDOVER_REPORT_OVERDUE
    alarm each."""
    return _handovers_overdue_raise(
        now=now, batch=batch, state=Handover.State.ACCEPTED, due="deadline", mark="report_escalated_at",
        kind=Alarm.Kind.HANDOVER_REPORT_OVERDUE,
        message=_("%(unit)s has not reported its result; the deadline was %(deadline)s."))


def snoozed_alarms_reopen(*, now: datetime, batch: int = CLAIM_BATCH) -> int:
    """Claim the snoozed alarms whose time passed and open them again. The waits of the level's
    ladder and of the acknowledgement ladder start again now: the next acknowledgement step is due
    its own wait after the reopening (not at once, nor all the steps the snooze covered)."""
    with transaction.atomic():
        alarms = list(
            Alarm.objects.select_for_update(skip_locked=True, of=("self", "incident"))
            .select_related("incident__subdistrict", "order__member").defer("incident__subdistrict__boundary")
            .filter(state=Alarm.State.SNOOZED, snoozed_until__lte=now)
            .order_by("snoozed_until", "id")[:batch]
        )
        for alarm in alarms:
            until = alarm.snoozed_until
            alarm.state, alarm.snoozed_until = Alarm.State.OPEN, None
            if alarm.escalate_after is not None and alarm.escalated_at is None:
                alarm.escalate_after = _escalate_after(now)  # the ladder's wait starts again
            if alarm.kind in ACK_LADDER_KINDS and alarm.ack_step < ACK_LAST_STEP:
                alarm.ack_step_at = now  # and the acknowledgement ladder's
            alarm.save(update_fields=["state", "snoozed_until", "escalate_after", "ack_step_at"])
            event_append(incident=alarm.incident, kind=IncidentEvent.Kind.ALARM,
                         note=_("The snooze is over: the alarm is open again."),
                         data=alarm_data(alarm, reopened=True, snoozed_until=cast(datetime, until).isoformat()),
                         at=now)  # a snoozed alarm has its snoozed_until
    return len(alarms)


# --- until acknowledged: an order not accepted is sent again, outbound, then to the unit leaders ---

CONFIRM_LAST_STEP = 3


def _confirm_waits() -> tuple[timedelta, timedelta, timedelta]:
    """After dispatch: when the order is sent again (1), sent outbound (2), raised to the unit leaders (3)."""
    return (timedelta(seconds=settings.ORDER_CONFIRM_RESEND_SECONDS),
            timedelta(seconds=settings.ORDER_CONFIRM_OUTBOUND_SECONDS),
            timedelta(seconds=settings.ORDER_CONFIRM_ESCALATE_SECONDS))


def orders_unconfirmed_remind(*, now: datetime, batch: int = CLAIM_BATCH) -> int:
    """Claim the orders dispatched but not accepted, on a case still handled on site, whose next
    confirmation step is due (counted from `dispatched_at`; the partial index
    `dispatch_order_confirm_due` holds the candidates), each together with its incident, and take
    exactly one step per claim, marked (`confirm_step`, `confirm_step_at`) in the same transaction:
    1. the order is sent again to the member (a `resend` message, published to the app at once);
    2. the member's latest unread message of the order is sent outbound now (or a new one, when they
       read everything in the app and still did not accept);
    3. the unit leaders on duty of the member's unit (its shift leaders if no unit leader is) are
       told that the member has not confirmed (an `alarm` message; no Alarm row: the arrival
       deadline keeps its own alarm). Nobody off duty is told; they are listed in the event.
    Each step appends a NOTE to the timeline with data {"confirm_step", "order", ...}."""
    waits = _confirm_waits()
    due = Q()
    for step, wait in enumerate(waits):
        due |= Q(confirm_step=step, dispatched_at__lte=now - wait)
    with transaction.atomic():
        orders = list(
            DispatchOrder.objects.select_for_update(skip_locked=True, of=("self", "incident"))
            .select_related("incident__subdistrict", "member__unit").defer("incident__subdistrict__boundary")
            .filter(due, state=DispatchOrder.State.DISPATCHED, confirm_step__lt=CONFIRM_LAST_STEP,
                    incident__status__in=flows.OPEN_ON_SITE)
            .order_by("dispatched_at", "id")[:batch]
        )
        for order in orders:
            order.confirm_step += 1
            order.confirm_step_at = now
            order.save(update_fields=["confirm_step", "confirm_step_at"])
            _confirm_step_take(order, now)
    return len(orders)


def _confirm_step_take(order: DispatchOrder, now: datetime) -> None:
    step, member = order.confirm_step, order.member
    data = {"confirm_step": step, "order": order.pk, "member": member.pk, "member_name": member.name,
            "by_clock": True}
    if step == 1:
        message_resend(order, now)
        note = _("%(member)s has not accepted the order yet: it was sent again.") % {"member": member.name}
    elif step == 2:
        message_outbound_now(order, now)
        note = _("%(member)s has still not accepted the order: it is sent outbound (SMS) now.") % {"member": member.name}
    else:
        told, skipped = unit_leader_recipients(order, now)
        messages_order_unconfirmed(order, told, now, step=step)
        data |= _who(told, skipped)
        note = unconfirmed_sentence(order)
        if told:
            said = _("Their unit leaders were told: %(names)s.") % {"names": "、".join(m.name for m in told)}
        else:
            said = _("Nobody on duty was told: phone them.")
        note = f"{note} {said}"
    event_append(incident=order.incident, kind=IncidentEvent.Kind.NOTE, note=note, data=data, at=now)


# --- the ladder: an overdue arrival nobody acknowledges raises the level --------------------------

def _escalate_after(now: datetime) -> datetime:
    return now + timedelta(minutes=settings.SLA_ESCALATE_AFTER_MINUTES)


def alarms_unacknowledged_escalate(*, now: datetime, batch: int = CLAIM_BATCH) -> int:
    """Claim the arrival-overdue alarms still open (neither acknowledged nor snoozed) at their
    `escalate_after` and raise each case's level once (the next ring of the rules is proposed).
    The mark `escalated_at` is written in the claim's transaction: exactly once across clocks and
    restarts, like every other deadline. Only while the member is still on the way and the case is
    still handled on site. An alarm whose case went up a ring since it was raised (by a dispatcher
    or another alarm) raises nothing more (one raise per lateness is enough); at the top level the
    timeline says to phone the leaders."""
    # Whether the case went up a ring since the alarm was raised: one subquery of the claim, not a
    # query per alarm.
    raised_since = Exists(IncidentEvent.objects.filter(incident=OuterRef("incident_id"),
                                                       kind=IncidentEvent.Kind.LEVEL_RAISED,
                                                       at__gte=OuterRef("raised_at")))
    with transaction.atomic():
        alarms = list(
            Alarm.objects.select_for_update(skip_locked=True, of=("self", "incident"))
            .select_related("incident__subdistrict", "order__member").defer("incident__subdistrict__boundary")
            .filter(kind=Alarm.Kind.ARRIVAL_OVERDUE, state=Alarm.State.OPEN, escalated_at__isnull=True,
                    escalate_after__isnull=False, escalate_after__lte=now,
                    order__state__in=DispatchOrder.LIVE_STATES, incident__status__in=flows.OPEN_ON_SITE)
            .annotate(raised_since=raised_since)
            .order_by("escalate_after", "id")[:batch]
        )
        top = escalation_max_level() if alarms else 0
        raised_now: set[int] = set()  # cases this claim raised: two late members, one raise
        for alarm in alarms:
            alarm.escalated_at = now
            alarm.save(update_fields=["escalated_at"])
            incident = alarm.incident
            member = alarm.order.member.name if alarm.order is not None else ""
            if alarm.raised_since or incident.pk in raised_now:
                continue  # the case went up a ring after this alarm: one raise per lateness is enough
            if incident.level >= top:
                event_append(incident=incident, kind=IncidentEvent.Kind.ALARM, at=now,
                             note=_("Nobody acknowledged the overdue arrival of %(member)s; the case is at the "
                                    "highest level already: phone the leaders.") % {"member": member},
                             data=alarm_data(alarm, escalation="at_top", level=incident.level))
                continue
            minutes = settings.SLA_ESCALATE_AFTER_MINUTES
            raised_now.add(incident.pk)
            level_set(incident, incident.level + 1, actor=None, at=now,
                      note=_("Nobody acknowledged the overdue arrival of %(member)s within %(minutes)d minutes: "
                             "the SLA clock raised the level.") % {"member": member, "minutes": minutes},
                      data={"alarm": alarm.pk, "by_clock": True})
    return len(alarms)


# --- until acknowledged: an overdue alarm the unit leaders do not acknowledge --------------------------
#
# The late member's unit leaders (or shift leaders) told of an overdue arrival acknowledge it in the
# app (`dispatch.services.alarm_acknowledge_by_leader`), or the command room does for them. Until
# then: (1) it is sent to them again in the app, (2) sent outbound (SMS) now, (3) raised to the
# command room — an ALARM event on the case's timeline and the wall, naming the leaders to phone.
# Each step waits from the one before (`ack_step_at`: when the alarm was raised, the last step was
# taken, or the alarm was opened again after a snooze): ALARM_ACK_RESEND_MINUTES for the first,
# then the differences to ALARM_ACK_OUTBOUND_MINUTES and ALARM_ACK_RAISE_MINUTES — with the clock
# running, 2, 3 and 4 minutes after the alarm was raised; after a snooze or with a clock that was
# down, one step at a time, never all of them at once. The plan's command room (综合信息
# 指挥室) coordinates the forces: it is the one above a unit leader; the sub-district's leaders are
# called for major incidents only, and the case's level has its own ladder (above).
#
# Exactly once, as every deadline here: the claim (SKIP LOCKED, the alarm with its incident), the
# mark (`ack_step`, `ack_step_at`) and the step's messages and event in one transaction, one step
# per claim; the messages' unique constraint (member, kind, alarm, step) is the last word. Only
# while the alarm is open (acknowledged: done; snoozed by the command room: paused), the member is
# still on the way and the case is handled on site.

ACK_LAST_STEP = 3
ACK_LADDER_KINDS = (Alarm.Kind.ARRIVAL_OVERDUE,)


def _ack_waits() -> tuple[timedelta, timedelta, timedelta]:
    """The wait before each step, from the previous one (`ack_step_at`): sent again (1), sent
    outbound (2), raised to the command room (3)."""
    resend, outbound, raise_ = (settings.ALARM_ACK_RESEND_MINUTES, settings.ALARM_ACK_OUTBOUND_MINUTES,
                                settings.ALARM_ACK_RAISE_MINUTES)
    return (timedelta(minutes=resend), timedelta(minutes=max(0, outbound - resend)),
            timedelta(minutes=max(0, raise_ - outbound)))


def alarm_leaders(alarm: Alarm) -> list[int]:
    """The members an alarm was told to as leaders: its `notified` without the late member (who got
    a reminder, and acknowledges nothing)."""
    late = alarm.order.member_id if alarm.order is not None else None
    return [pk for pk in alarm.notified if pk != late]


def alarms_unacknowledged_remind(*, now: datetime, batch: int = CLAIM_BATCH) -> int:
    """Claim the open overdue-arrival alarms whose next acknowledgement step is due, its wait counted
    from `ack_step_at` (the partial index `alarm_ack_due` holds the candidates), each together with
    its incident, and take exactly one step per claim, marked (`ack_step`, `ack_step_at`) in the
    same transaction (see the block comment above). An alarm told to no leader (nobody was on duty:
    its event said to phone them) has nobody to chase: it is marked past the last step, with no
    event."""
    due = Q()
    for step, wait in enumerate(_ack_waits()):
        due |= Q(ack_step=step, ack_step_at__lte=now - wait)
    with transaction.atomic():
        alarms = list(
            Alarm.objects.select_for_update(skip_locked=True, of=("self", "incident"))
            .select_related("incident__subdistrict", "incident__grid", "order__member__unit")
            .defer("incident__subdistrict__boundary", "incident__grid__boundary")
            .filter(due, kind__in=ACK_LADDER_KINDS, state=Alarm.State.OPEN, ack_step__lt=ACK_LAST_STEP,
                    order__state__in=DispatchOrder.LIVE_STATES, incident__status__in=flows.OPEN_ON_SITE)
            .order_by("ack_step_at", "id")[:batch]
        )
        for alarm in alarms:
            leaders = alarm_leaders(alarm)
            alarm.ack_step = alarm.ack_step + 1 if leaders else ACK_LAST_STEP
            alarm.ack_step_at = now
            alarm.save(update_fields=["ack_step", "ack_step_at"])
            if leaders:
                _ack_step_take(alarm, leaders, now)
    return len(alarms)


def _ack_step_take(alarm: Alarm, leader_ids: list[int], now: datetime) -> None:
    step, incident = alarm.ack_step, alarm.incident
    member = alarm.order.member.name if alarm.order is not None else ""
    told, skipped = _recipients(Member.objects.filter(pk__in=leader_ids), now)
    names = "、".join(m.name for m in told)
    data = alarm_data(alarm, alarm_step=step, by_clock=True, **_who(told, skipped))
    if step < ACK_LAST_STEP and not told:
        note = _("The alarm about %(member)s is not acknowledged, and none of the leaders told of it is on duty "
                 "now: phone them.") % {"member": member}
    elif step == 1:
        messages_alarm_resend(alarm, told, now, step=step)
        note = _("The alarm about %(member)s was not acknowledged yet: it was sent again to %(names)s.") % {
            "member": member, "names": names}
    elif step == 2:
        for leader in told:
            message_alarm_outbound_now(alarm, leader, now, step=step)
        note = _("The alarm about %(member)s is still not acknowledged: it is sent outbound (SMS) now to "
                 "%(names)s.") % {"member": member, "names": names}
    else:
        minutes = settings.ALARM_ACK_RAISE_MINUTES
        leaders = Member.objects.filter(pk__in=leader_ids).order_by("code")
        data |= {"escalation": "command_room", "leaders": [m.pk for m in leaders],
                 "leader_names": [m.name for m in leaders]}
        note = _("Nobody acknowledged the overdue arrival of %(member)s within %(minutes)d minutes: the command "
                 "room takes it over. Phone %(leaders)s.") % {
            "member": member, "minutes": minutes, "leaders": "、".join(m.name for m in leaders)}
        event_append(incident=incident, kind=IncidentEvent.Kind.ALARM, note=note, data=data, at=now)
        return
    event_append(incident=incident, kind=IncidentEvent.Kind.NOTE, note=note, data=data, at=now)


# The steps of sla_tick that advance one step per claim (see there).
STEPWISE = frozenset({orders_unconfirmed_remind, alarms_unacknowledged_remind})
