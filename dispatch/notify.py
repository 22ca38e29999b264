"""Reaching a person: the messages to members, written in the same transaction as what they tell of.

A new order, a stand-down, an overdue alarm or a major-incident call becomes one `MemberMessage`
per recipient, inside the transaction of the service (or SLA clock tick) that made the decision:
the order and its message commit together or not at all. After commit each is published to the
member's live group (`dispatch/live.py`): an open app shows it at once. The outbound notifier
(`dispatch/notifier.py`, `manage.py run_notifier`) sends what was not read in the app within
settings.NOTIFY_GRACE_SECONDS through the SMS / messaging gateway — at once for a member with no
app login.

Exactly once per event and recipient: the services call these once per order, stand-down and
alarm (the alarm itself is raised once by the clock), and the unique constraints (member, kind,
order) and (member, kind, alarm) are the last word — a duplicate insert fails in its savepoint
and is skipped.

Who: an order's and a stand-down's member (they were dispatched: the dispatcher chose them, on
duty or explicitly off duty); an alarm's `notified` members, already filtered by the clock
(on duty, the leaders of a major incident whatever their shift, the late member when on duty or
chosen off duty). Texts are built in settings.LANGUAGE_CODE (the forces' language), whatever the
language of the dispatcher who acted.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from dispatch.live import message_publish_on_commit
from dispatch.models import Alarm, DispatchOrder, Member, MemberMessage
from incidents.models import Incident

log = logging.getLogger("gridlink.notify")

ONCE_CONSTRAINTS = frozenset({"member_message_once_per_order", "member_message_once_per_alarm"})
DESCRIPTION_CHARS = 80
Kind = MemberMessage.Kind


# --- the services' one-line hooks -----------------------------------------------------------------

def messages_for_order_dispatched(order: DispatchOrder) -> list[MemberMessage]:
    """The new order's message to its member. Precondition: inside the dispatch's transaction."""
    incident = order.incident
    with translation.override(settings.LANGUAGE_CODE):
        title = _("New order %(number)s: %(category)s") % {"number": incident.number,
                                                           "category": _category(incident)}
        parts = [_scene(incident), _description(incident)]
        if order.arrive_by is not None:
            parts.append(_("Arrive by %(time)s.") % {"time": _hm(order.arrive_by)})
        body = _join(parts)
    message = _message_once(member=order.member, kind=Kind.ORDER, incident=incident, order=order, title=title,
                            body=body, at=order.dispatched_at)
    return [message] if message else []


def message_stand_down(order: DispatchOrder) -> MemberMessage | None:
    """The stand-down's message to the member (the order is saved stood down, with its reason).
    Precondition: inside the stand-down's transaction."""
    incident = order.incident
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Stood down %(number)s") % {"number": incident.number}
        reason = order.stand_down_reason.rstrip("。.！!")
        body = _join([_("You are no longer needed on this case: %(reason)s.") % {"reason": reason}, _scene(incident)])
    return _message_once(member=order.member, kind=Kind.STAND_DOWN, incident=incident, order=order, title=title,
                         body=body, at=order.stood_down_at or timezone.now())


def messages_for_alarm(alarm: Alarm, members: Iterable[Member]) -> list[MemberMessage]:
    """One message per member the alarm was told to (`alarm.notified`, chosen by the SLA clock):
    the late member's reminder (`reminder`), a major incident's call to a leader (`major`), an
    alarm to a unit leader (`alarm`). Precondition: inside the clock's claim transaction."""
    incident = alarm.incident
    late_member_id = alarm.order.member_id if alarm.order_id else None
    messages = []
    with translation.override(settings.LANGUAGE_CODE):
        for member in members:
            if alarm.kind == Alarm.Kind.MAJOR_INCIDENT:
                kind, title, body = Kind.MAJOR, *_major_text(incident)
            elif member.pk == late_member_id:
                kind, title, body = Kind.REMINDER, *_reminder_text(alarm)
            else:
                kind, title, body = Kind.ALARM, *_alarm_text(alarm)
            message = _message_once(member=member, kind=kind, incident=incident, order=alarm.order, alarm=alarm,
                                    title=title, body=body, at=alarm.raised_at)
            if message is not None:
                messages.append(message)
    return messages


# --- the member's app: read ----------------------------------------------------------------------

def message_read(member: Member | int, message_id: int, *, at: datetime | None = None) -> MemberMessage | None:
    """The member read their message in the app: `read_at` is set once (the first read counts; a
    second changes nothing). None when the message is not this member's (or does not exist).
    Read within its grace, the message is never sent outbound (the notifier skips it)."""
    member_id = member if isinstance(member, int) else member.pk
    mine = MemberMessage.objects.filter(pk=message_id, member_id=member_id)
    mine.filter(read_at__isnull=True).update(read_at=at or timezone.now())
    return mine.only("id", "member_id", "read_at", "state").first()


# --- writing one message -------------------------------------------------------------------------

def _message_once(*, member: Member, kind: str, incident: Incident | None, title: str, body: str, at: datetime,
                  order: DispatchOrder | None = None, alarm: Alarm | None = None) -> MemberMessage | None:
    """Insert the message in a savepoint and publish it after commit; None when its unique
    constraint says it was written already. A member with no usable phone (or no longer active)
    gets the message in the app only (`skipped_off`); one without an app login is sent outbound
    at once, with no grace."""
    grace = timedelta(seconds=settings.NOTIFY_GRACE_SECONDS if member.user_id else 0)
    reachable = member.active and bool((member.phone or "").strip())
    fields = {
        "subdistrict_id": member.subdistrict_id, "member": member, "kind": kind, "incident": incident,
        "order": order, "alarm": alarm, "title": title[:128], "body": body[:1000], "created_at": at,
        "deliver_after": at + grace, "next_attempt_at": at + grace,
        "state": MemberMessage.State.PENDING if reachable else MemberMessage.State.SKIPPED_OFF,
    }
    try:
        with transaction.atomic():
            message = MemberMessage.objects.create(**fields)
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
        if constraint not in ONCE_CONSTRAINTS:
            raise
        log.warning("message %s to member %s (order %s, alarm %s) exists already: not written again",
                    kind, member.pk, getattr(order, "pk", None), getattr(alarm, "pk", None))
        return None
    message_publish_on_commit(message)
    return message


# --- texts (inside translation.override) -----------------------------------------------------------

def _hm(at: datetime) -> str:
    return timezone.localtime(at).strftime("%H:%M")


def _join(parts: list[str]) -> str:
    separator = "" if (translation.get_language() or "").startswith("zh") else " "
    return separator.join(p for p in parts if p)


def _category(incident: Incident) -> str:
    category = incident.category
    return category.name_en if (translation.get_language() or "").startswith("en") else category.name


def _scene(incident: Incident) -> str:
    place = incident.address_text
    if not place and incident.grid_id:
        place = incident.grid.name
    return _("Scene: %(place)s.") % {"place": place} if place else ""


def _description(incident: Incident) -> str:
    text = " ".join(incident.description.split())
    return text if len(text) <= DESCRIPTION_CHARS else text[:DESCRIPTION_CHARS] + "…"


def _reminder_text(alarm: Alarm) -> tuple[str, str]:
    incident = alarm.incident
    title = _("Overdue %(number)s") % {"number": incident.number}
    body = _join([_("Your arrival deadline was %(deadline)s. Arrive as soon as possible, or tell the command "
                    "room why not.") % {"deadline": _hm(alarm.due_at or alarm.raised_at)}, _scene(incident)])
    return title, body


def _alarm_text(alarm: Alarm) -> tuple[str, str]:
    """To a unit leader: a member of their unit late, or their unit's hand-over overdue (the same
    sentences as the alarm's timeline event)."""
    incident = alarm.incident
    title = _("Alarm %(number)s") % {"number": incident.number}
    due = alarm.due_at or alarm.raised_at
    if alarm.kind == Alarm.Kind.ARRIVAL_OVERDUE and alarm.order_id:
        member = alarm.order.member
        said = _("%(member)s (%(unit)s) has not arrived; the deadline was %(deadline)s.") % {
            "member": member.name, "unit": member.unit.name, "deadline": _hm(due)}
    elif alarm.handover_id:
        values = {"unit": alarm.handover.unit.name,
                  "deadline": timezone.localtime(due).strftime("%Y-%m-%d %H:%M")}
        if alarm.kind == Alarm.Kind.HANDOVER_ACCEPT_OVERDUE:
            said = _("%(unit)s has neither accepted nor returned the case; the deadline was %(deadline)s.") % values
        else:
            said = _("%(unit)s has not reported its result; the deadline was %(deadline)s.") % values
    else:
        said = alarm.get_kind_display()
    return title, _join([said, _scene(incident)])


def _major_text(incident: Incident) -> tuple[str, str]:
    title = _("Major incident %(number)s: %(category)s") % {"number": incident.number,
                                                            "category": _category(incident)}
    body = _join([_scene(incident), _description(incident),
                  _("The plan calls the sub-district's leaders to the scene at once.")])
    return title, body
