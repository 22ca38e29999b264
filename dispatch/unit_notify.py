"""Telling an office of the command room's decisions about its part of a case (issue 10).

A unit's part of a case (a hand-over) changes hands by the command room's moves; the office must
know at once, in the app or by the outbound notifier when the app is closed:
- a new hand-over to the unit (a transfer from the scene, an assignment to an office): accept or
  return it by its `accept_by`;
- its completed result sent back (`send_back`): the part is being worked on again;
- its part completed on its behalf (`complete` by the command room, with the reason): a decision
  about the office's work, told like a stand-down;
- the case reopened (`reopen` of an off-site case): its part is open again.
The unit's own moves (accept, return, progress, complete) are not told: the unit made them. The
department queue (`ws/dept/`, dispatch/live.py) shows every change live to whoever has it open.

Who: the office of the unit — its active members who are its unit leaders or whose login holds
the department role — on duty at that instant (nobody off duty is messaged; as the SLA clock tells
a unit's leaders), except the member who made the move. A member with the app has the notifier's
grace to read it there first; one without an app login is sent outbound at once.

When: `offices_tell` is called by `dispatch.services.incident_transition` inside its transaction,
once per move, after the case's own handler wrote the move's event: the messages commit with the
move or not at all, and each is published to its member's live group only after the commit
(`dispatch.live.message_publish_on_commit`). A replayed request (an Idempotency-Key seen before)
never reaches the service again, so a move is told once. Texts in settings.LANGUAGE_CODE (the
forces' language), whatever the language of the user who acted.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from config.roles import UserRole
from dispatch.models import Member, MemberMessage, Role
from dispatch.notify import category_name, message_once, scene_text, text_join
from dispatch.selectors import on_duty_at
from incidents.models import Flow, Handover, Incident, IncidentEvent

TOLD_ACTIONS = frozenset({"transfer", "assign", "send_back", "complete", "reopen"})
REASON_CHARS = 120
Kind = MemberMessage.Kind


@dataclass(frozen=True)
class PartNews:
    """One part of the case and what the office is told of it."""

    part: Handover
    news: str  # handover | sent_back | on_behalf | reopened
    note: str = ""  # the command room's words (the send-back's text, the on-behalf reason)


def offices_tell(incident: Incident, *, action: str, actor, at: datetime) -> list[MemberMessage]:
    """The messages to the offices whose parts the move `action` (just applied to the locked
    incident) concerns; [] for every other move. Precondition: inside the move's transaction,
    after its handler."""
    if action not in TOLD_ACTIONS:
        return []
    messages = []
    for item in _parts_told(incident, action):
        office = office_recipients(item.part.unit_id, at, actor=actor)
        messages += _tell(office, incident, item, at)
    return messages


def offices_tell_new_parts(incident: Incident, parts: list[Handover], *, actor, at: datetime) -> list[MemberMessage]:
    """The offices named on an assignment form at intake: each is told of its new part, as for an
    assignment (registered with `incidents.services.on_handovers_created` by the app's ready())."""
    messages = []
    for part in parts:
        messages += _tell(office_recipients(part.unit_id, at, actor=actor), incident, PartNews(part, "handover"), at)
    return messages


def office_recipients(unit_id: int, at: datetime, *, actor=None) -> list[Member]:
    """The unit's office on duty at `at`: its active unit leaders and the active members whose
    login holds the department role, but not the actor's own member."""
    office = (Member.objects.filter(unit_id=unit_id, active=True)
              .filter(Q(roles__contains=[Role.UNIT_LEADER]) | Q(user__groups__name=UserRole.DEPARTMENT))
              .annotate(on_duty_now=on_duty_at(at)).distinct().order_by("code"))
    if actor is not None and actor.is_authenticated:
        office = office.exclude(user=actor)
    return [m for m in office if m.on_duty_now]


# --- what the move did to the offices' parts --------------------------------------------------------

def _move_event(incident: Incident, action: str, *kinds: str) -> IncidentEvent | None:
    """The event the move just wrote: the newest of the locked case with its action and kind."""
    return (IncidentEvent.objects.filter(incident=incident, data__action=action, kind__in=kinds)
            .order_by("-id").first())


def _parts(ids: Iterable[int]) -> list[Handover]:
    return list(Handover.objects.filter(pk__in=list(ids)).select_related("unit").order_by("id"))


def _parts_told(incident: Incident, action: str) -> list[PartNews]:
    if action == "reopen":
        if incident.flow != Flow.OFF_SITE:
            return []  # an on-site case has no office working on it again
        event = _move_event(incident, action, IncidentEvent.Kind.STATUS_CHANGED)
        parts = incident.handovers.filter(state=Handover.State.ACCEPTED).select_related("unit").order_by("id")
        return [PartNews(p, "reopened", event.note if event else "") for p in parts]
    if action == "complete":
        event = _move_event(incident, action, IncidentEvent.Kind.PART_COMPLETED)
        if event is None or not event.data.get("on_behalf"):
            return []  # the office completed its own part
        return [PartNews(p, "on_behalf", event.data.get("on_behalf_reason", "")) for p in _parts([event.data["handover"]])]
    event = _move_event(incident, action, IncidentEvent.Kind.STATUS_CHANGED, IncidentEvent.Kind.NOTE)
    if event is None:
        return []
    if action == "send_back":
        return [PartNews(p, "sent_back", event.note) for p in _parts(s["handover"] for s in event.data["sent_back"])]
    return [PartNews(p, "handover") for p in _parts([event.data["handover"]])]  # transfer, assign


# --- the messages ----------------------------------------------------------------------------------

def _tell(office: list[Member], incident: Incident, item: PartNews, at: datetime) -> list[MemberMessage]:
    if not office:
        return []
    with translation.override(settings.LANGUAGE_CODE):
        kind, title, body = _text(incident, item)
    # One message per member, published to their app after commit and sent outbound by the notifier
    # unless read in the app within the grace (`dispatch.notify.message_once`'s rules). A message to
    # an office names no order or alarm: no unique constraint skips it.
    messages = (message_once(member=member, kind=kind, incident=incident, title=title, body=body, at=at)
                for member in office)
    return [m for m in messages if m is not None]


def _text(incident: Incident, item: PartNews) -> tuple[str, str, str]:
    """(kind, title, body) in the active language. A new part, one sent back and one reopened are
    work for the office (`order`); a part completed on its behalf relieves it (`stand_down`)."""
    part, number, unit = item.part, incident.number, item.part.unit.name
    said = _said(item.note)
    if item.news == "handover":
        title = _("New hand-over %(number)s: %(category)s") % {"number": number, "category": category_name(incident)}
        deadline = (_("%(unit)s: accept or return it by %(time)s.") % {"unit": unit, "time": _when(part.accept_by)}
                    if part.accept_by else _("%(unit)s: accept or return it.") % {"unit": unit})
        return Kind.ORDER, title, text_join([deadline, _("Why: %(reason)s.") % {"reason": _short(part.reason)},
                                         scene_text(incident)])
    if item.news == "sent_back":
        title = _("Sent back %(number)s") % {"number": number}
        return Kind.ORDER, title, text_join([_("The command room sent the result of %(unit)s back: the part is being "
                                           "worked on again; report a new result.") % {"unit": unit}, said,
                                         scene_text(incident)])
    if item.news == "on_behalf":
        title = _("Completed on your behalf %(number)s") % {"number": number}
        return Kind.STAND_DOWN, title, text_join([_("The command room completed the part of %(unit)s on its "
                                                "behalf.") % {"unit": unit}, said, scene_text(incident)])
    title = _("Reopened %(number)s") % {"number": number}
    return Kind.ORDER, title, text_join([_("The case was reopened: the part of %(unit)s is open again; report a new "
                                       "result.") % {"unit": unit}, said, scene_text(incident)])


def _said(note: str) -> str:
    note = _short(note)
    return _("The command room says: %(note)s.") % {"note": note} if note else ""


def _short(text: str) -> str:
    text = " ".join((text or "").split()).rstrip("。.！!")
    return text if len(text) <= REASON_CHARS else text[:REASON_CHARS] + "…"


def _when(at: datetime) -> str:
    return timezone.localtime(at).strftime("%m-%d %H:%M")
