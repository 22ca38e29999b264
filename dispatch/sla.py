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
- a hand-over's `deadline` (pending or accepted) on an open case: one HANDOVER_OVERDUE alarm for
  the case, told to the unit leaders of the receiving units;
- a snoozed alarm whose `snoozed_until` passed: it is open again.
Every alarm appends an ALARM event to the incident's timeline, published to the wall map after
commit; the command room acknowledges (with a note) or snoozes it (dispatch/services.py).

Exactly once, with any number of clocks and across kills:
1. the claim: `SELECT ... FOR UPDATE SKIP LOCKED` of the due rows, the order together with its
   incident, in the tick's transaction. A second clock skips the rows the first one holds; once
   the first commits, the rows no longer match (PostgreSQL re-checks the WHERE clause of a row
   changed since the statement began), so they are never claimed twice;
2. the mark (`overdue_escalated_at`, `major_notified_at`), the Alarm and the timeline event are
   written in that same transaction: a clock killed mid-tick commits none of them, its locks go
   with its connection, and the next tick of any clock claims the rows again;
3. the Alarm's unique constraints (one per order and kind; one per incident and kind without an
   order) are the last word: an insert that would duplicate fails in its savepoint and is skipped.
Nothing about a deadline lives in the worker's memory. The clock never waits for a lock, so it
cannot deadlock with the services (which lock the incident first, then its orders or alarms).

Who is told: never a member who is off duty at that instant (no duty shift covers it), unless the
dispatcher explicitly chose them off duty (an order with `off_duty_override`). Leaders off duty
are skipped and listed in the event (`skipped`), so that the command room can phone them.
"""

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from dispatch.models import Alarm, DispatchOrder, Member, Role
from dispatch.selectors import on_duty_at
from dispatch.services import LIVE_ORDER_STATES, alarm_data
from incidents import flows
from incidents.events import event_append
from incidents.models import Handover, Incident, IncidentEvent

log = logging.getLogger("gridlink.sla")

CLAIM_BATCH = 100  # rows claimed per transaction; a tick repeats while a batch comes back full
MAX_ROUNDS = 50
ONCE_CONSTRAINTS = frozenset({"alarm_once_per_order", "alarm_once_per_incident"})
LEADER_ROLES = [Role.PRINCIPAL_LEADER, Role.RESPONSIBLE_LEADER]
HANDOVER_WATCHED = (Handover.State.PENDING, Handover.State.ACCEPTED)


def sla_tick(*, now: datetime | None = None, batch: int = CLAIM_BATCH) -> int:
    """One look at every deadline; returns how many rows were handled. Each step claims and
    raises in its own transaction, and repeats while it finds a full batch."""
    handled = 0
    for step in (arrivals_overdue_raise, major_incidents_notify, handovers_overdue_raise, snoozed_alarms_reopen):
        for _round in range(MAX_ROUNDS):
            n = step(now=now or timezone.now(), batch=batch)
            handled += n
            if n < batch:
                break
    return handled


# --- recipients -----------------------------------------------------------------------------------

def _recipients(candidates: QuerySet[Member], at: datetime, chosen: set[int] | frozenset[int] = frozenset()
                ) -> tuple[list[Member], list[Member]]:
    """(told, skipped): the candidates on duty at `at` or explicitly chosen, and the others."""
    told, skipped = [], []
    for member in candidates.filter(active=True).annotate(on_duty_now=on_duty_at(at)).order_by("code"):
        (told if member.on_duty_now or member.pk in chosen else skipped).append(member)
    return told, skipped


def overdue_recipients(order: DispatchOrder, at: datetime) -> tuple[list[Member], list[Member]]:
    """The unit leaders of the late member's unit on duty (its shift leaders if no unit leader
    is), and the late member themself when on duty or chosen although off duty."""
    unit = Member.objects.filter(unit_id=order.member.unit_id).exclude(pk=order.member_id)
    told, skipped = _recipients(unit.filter(roles__contains=[Role.UNIT_LEADER]), at)
    if not told:
        told, _off = _recipients(unit.filter(roles__contains=[Role.SHIFT_LEADER]), at)
    chosen = {order.member_id} if order.off_duty_override else set()
    member_told, member_skipped = _recipients(Member.objects.filter(pk=order.member_id), at, chosen)
    return told + member_told, skipped + member_skipped


def major_recipients(incident: Incident, at: datetime) -> tuple[list[Member], list[Member]]:
    """The sub-district's principal and responsible leaders on duty, and those the dispatcher
    explicitly sent to this case although off duty."""
    chosen = set(incident.orders.filter(state__in=LIVE_ORDER_STATES, off_duty_override=True)
                 .values_list("member_id", flat=True))
    leaders = Member.objects.filter(subdistrict_id=incident.subdistrict_id, roles__overlap=LEADER_ROLES)
    return _recipients(leaders, at, chosen)


def handover_recipients(unit_ids: list[int], at: datetime) -> tuple[list[Member], list[Member]]:
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
        log.warning("alarm %s for incident %s (order %s) exists already: not raised again",
                    fields.get("kind"), fields["incident"].pk, getattr(fields.get("order"), "pk", None))
        return None


def _raise(*, incident: Incident, kind: str, due_at: datetime | None, now: datetime, told: list[Member],
           skipped: list[Member], note: str, order: DispatchOrder | None = None, extra: dict | None = None) -> bool:
    alarm = _alarm_once(subdistrict_id=incident.subdistrict_id, incident=incident, order=order, kind=kind,
                        due_at=due_at, raised_at=now, notified=[m.pk for m in told])
    if alarm is None:
        return False
    if not told:
        note = f"{note} {_('Nobody on duty was told: phone them.')}"
    data = alarm_data(alarm, due_at=due_at.isoformat() if due_at else None, **_who(told, skipped), **(extra or {}))
    event_append(incident=incident, kind=IncidentEvent.Kind.ALARM, note=note, data=data, at=now)
    return True


def arrivals_overdue_raise(*, now: datetime, batch: int = CLAIM_BATCH) -> int:
    """Claim the live orders whose `arrive_by` passed and raise one ARRIVAL_OVERDUE alarm each."""
    with transaction.atomic():
        orders = list(
            DispatchOrder.objects.select_for_update(skip_locked=True, of=("self", "incident"))
            .select_related("incident__subdistrict", "member__unit").defer("incident__subdistrict__boundary")
            .filter(state__in=LIVE_ORDER_STATES, overdue_escalated_at__isnull=True, arrive_by__isnull=False,
                    arrive_by__lt=now, incident__status__in=flows.OPEN_STATUSES)
            .order_by("arrive_by", "id")[:batch]
        )
        for order in orders:
            told, skipped = overdue_recipients(order, now)
            deadline = timezone.localtime(order.arrive_by).strftime("%H:%M")
            note = _("%(member)s (%(unit)s) has not arrived; the deadline was %(deadline)s.") % {
                "member": order.member.name, "unit": order.member.unit.name, "deadline": deadline}
            _raise(incident=order.incident, kind=Alarm.Kind.ARRIVAL_OVERDUE, due_at=order.arrive_by, now=now,
                   told=told, skipped=skipped, note=note, order=order)
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
            _raise(incident=incident, kind=Alarm.Kind.MAJOR_INCIDENT, due_at=incident.reported_at, now=now,
                   told=told, skipped=skipped, note=_("Major incident: the sub-district's leaders are told."))
            incident.major_notified_at = now
            incident.save(update_fields=["major_notified_at"])
    return len(incidents)


def handovers_overdue_raise(*, now: datetime, batch: int = CLAIM_BATCH) -> int:
    """Claim the open cases with a hand-over past its deadline and no such alarm yet; raise one
    HANDOVER_OVERDUE alarm per case. (The alarm itself is the mark: the claim excludes cases that
    have one, and its unique constraint settles a race.)"""
    due = Handover.objects.filter(incident=OuterRef("pk"), state__in=HANDOVER_WATCHED, deadline__lt=now)
    raised = Alarm.objects.filter(incident=OuterRef("pk"), kind=Alarm.Kind.HANDOVER_OVERDUE, order__isnull=True)
    with transaction.atomic():
        incidents = list(
            Incident.objects.select_for_update(skip_locked=True, of=("self",)).select_related("subdistrict")
            .defer("subdistrict__boundary").filter(Exists(due), ~Exists(raised), status__in=flows.OPEN_STATUSES)
            .order_by("deadline", "id")[:batch]
        )
        for incident in incidents:
            handovers = list(incident.handovers.filter(state__in=HANDOVER_WATCHED, deadline__lt=now)
                             .select_related("unit").order_by("deadline", "id"))
            told, skipped = handover_recipients([h.unit_id for h in handovers], now)
            units = "、".join(dict.fromkeys(h.unit.name for h in handovers))
            note = _("The hand-over to %(units)s is past its deadline.") % {"units": units}
            _raise(incident=incident, kind=Alarm.Kind.HANDOVER_OVERDUE, due_at=handovers[0].deadline, now=now,
                   told=told, skipped=skipped, note=note,
                   extra={"handovers": [h.pk for h in handovers], "unit_name": units})
    return len(incidents)


def snoozed_alarms_reopen(*, now: datetime, batch: int = CLAIM_BATCH) -> int:
    """Claim the snoozed alarms whose time passed and open them again."""
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
            alarm.save(update_fields=["state", "snoozed_until"])
            event_append(incident=alarm.incident, kind=IncidentEvent.Kind.ALARM,
                         note=_("The snooze is over: the alarm is open again."),
                         data=alarm_data(alarm, reopened=True, snoozed_until=until.isoformat()), at=now)
    return len(alarms)
