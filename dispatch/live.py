"""The live channels. A member's group: the messages of `dispatch/notify.py` reach the member's
open app at once. A unit's channel: the department queue hears of every change of the unit's
parts of cases (below, "a unit's live channel").

Every member has a channel-layer group of their own, `member-<id>` (`member_group`); the member's
socket (`dispatch.consumers.MemberConsumer`, `ws/member/`) joins it. A message is published after
the transaction that wrote it commits — never a message about an order that was rolled back —
through the live pipeline (config.live, kind `member_message`: from a worker process without Redis
by id through PostgreSQL, the server building the same frame with `messages_by_id`).

The frame: `{"type": "message", "message": {id, kind, title, body, incident, order, created_at,
read_at}}`, encoded once by the publisher (`message_channel_message`); `incident` and `order` are
null for a message about no case (a changed grid assignment, kind `grid`).

Many messages of one transaction (a published grid version tells thousands of members) go out in
one batch (`payloads_publish_on_commit`): one trip to the channel layer's event loop, or one SQL
statement of notifications, rather than one per message.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from config import live
from config.live import member_group, subdistrict_group
from config.roles import has_role
from dispatch.models import Alarm, Member, MemberMessage
from incidents.dept_api import DEPT_ROLES
from incidents.models import Handover, IncidentEvent, Status

LIVE_KIND = "member_message"  # the kind of the members' messages on the live pipeline (config.live)
INBOX_HOURS = 24  # what a socket gets on connect: the unread messages of the last day
INBOX_CAP = 200  # at most this many on one connect or resume


MESSAGE_PAYLOAD_FIELDS = ("id", "kind", "title", "body", "incident_id", "order_id", "created_at", "read_at")


def message_payload(message: MemberMessage) -> dict:
    return message_payload_of(
        id=message.pk, kind=message.kind, title=message.title, body=message.body, incident=message.incident_id,
        order=message.order_id, created_at=message.created_at.isoformat(),
        read_at=message.read_at.isoformat() if message.read_at else None)


def message_payload_of(*, id: int, kind: str, title: str, body: str, created_at: str,  # noqa: A002 - the frame's key
                       incident: int | None = None, order: int | None = None, read_at: str | None = None) -> dict:
    """The frame's message from its fields (times in ISO 8601): for rows written without a model
    instance (`dispatch.notify.messages_for_grid_change`)."""
    return {"id": id, "kind": kind, "title": title, "body": body, "incident": incident, "order": order,
            "created_at": created_at, "read_at": read_at}


def message_channel_message(payload: dict) -> dict:
    """The channel-layer message of one member message: the socket's frame, encoded here (`id` for
    the consumer's check against what it sent on connect)."""
    return live.channel_message("member.message", {"type": "message", "message": payload}, id=payload["id"])


def message_publish_on_commit(message: MemberMessage) -> None:
    """Publish the message to its member's group once the current transaction commits."""
    payload = message_payload(message)
    live.publish_on_commit(member_group(message.member_id), LIVE_KIND, [message.pk],
                           lambda: [message_channel_message(payload)])


def payloads_publish_on_commit(items: list[tuple[int, dict]]) -> None:
    """Publish many messages, (member id, `message_payload`) each to its member's group, once the
    current transaction commits, in one batch (config.live.publish_many_on_commit). A member whose
    message was not published (the channel layer failed) gets it when their app connects again
    (`member_inbox`)."""
    live.publish_many_on_commit(LIVE_KIND, [(member_group(member_id), payload["id"], message_channel_message(payload))
                                            for member_id, payload in items])


def messages_by_id(ids: list[int]) -> list[dict]:
    """The builder of kind "member_message" (config.live: what a worker without Redis published by
    id, built in the server process): committed messages by id, as published."""
    messages = MemberMessage.objects.filter(pk__in=ids).only(*MESSAGE_PAYLOAD_FIELDS).order_by("pk")
    return [message_channel_message(message_payload(m)) for m in messages]


# --- what the member's socket reads -------------------------------------------------------------

def socket_member_id(user) -> int | None:
    """The active member linked to `user`, or None (a user who is not a member of the forces)."""
    if user is None or not user.is_authenticated:
        return None
    return Member.objects.filter(user=user, active=True).values_list("pk", flat=True).first()


def member_inbox(member_id: int, *, now: datetime, after: int | None = None) -> list[dict]:
    """Payloads of what a socket gets on connect, oldest first: the member's unread messages of the
    last INBOX_HOURS, or with `after` (a resume) every message after that id in that window, read
    or not — the app had not seen them. At most INBOX_CAP, the newest."""
    messages = MemberMessage.objects.filter(member_id=member_id, created_at__gte=now - timedelta(hours=INBOX_HOURS))
    messages = messages.filter(pk__gt=after) if after is not None else messages.filter(read_at__isnull=True)
    newest = list(messages.only(*MESSAGE_PAYLOAD_FIELDS).order_by("-pk")[:INBOX_CAP])
    return [message_payload(m) for m in reversed(newest)]


# --- a unit's live channel: the department queue (/dept/, `ws/dept/`) -----------------------------
#
# Every change of a unit's part of a case is an IncidentEvent already, published once after its
# transaction commits to the sub-district's live stream (`config.live.subdistrict_group`) — from the
# server's services, from the intake, and from the SLA clock's own process through PostgreSQL. The
# department socket (`dispatch.consumers.DeptConsumer`) listens to that stream and passes on only
# the events about its own unit's parts (`unit_news`), as the frame
#
#     {"type": "message", "message": {id, kind, incident, number, handover, at}}
#
# (`id` the event's; `kind` one of UNIT_NEWS). So the page hears of each change exactly once,
# whatever process made it, without a second publication path that could drift from the timeline.

# What an event is to a unit, in the frame's `kind`; the page alerts its staff to all but "changed".
UNIT_NEWS = ("handover", "sent_back", "on_behalf", "reopened", "overdue", "changed")
HANDOVER_ACTIONS = frozenset({"transfer", "assign"})
HANDOVER_ALARMS = frozenset({Alarm.Kind.HANDOVER_ACCEPT_OVERDUE, Alarm.Kind.HANDOVER_REPORT_OVERDUE})
# The unit's own moves on its part (accept, return, progress): its colleagues' pages refresh.
UNIT_MOVES = frozenset({IncidentEvent.Kind.TRANSFER_ACCEPTED, IncidentEvent.Kind.TRANSFER_RETURNED,
                        IncidentEvent.Kind.PROGRESS})


@dataclass(frozen=True)
class UnitNews:
    """What an event is to one unit. `check`: the event does not name its units (an intake's
    assignment form, a reopened case): the unit's part of the case is looked up (`unit_part_id`)
    in these states, and the event is the unit's news only when it holds one."""

    kind: str
    handover: int | None = None
    check: tuple[str, ...] = ()


def unit_news(payload: dict, unit_id: int) -> UnitNews | None:
    """What the event (`incidents.events.event_payload`) is to unit `unit_id`, or None when it is
    not about the unit's part of a case. Events that only name the unit without giving it a part (a
    responder's request for a transfer, another office's moves) are not its news."""
    kind, data = payload.get("kind"), payload.get("data") or {}
    action = data.get("action")
    named = data.get("unit") == unit_id and data.get("handover") is not None
    if action in HANDOVER_ACTIONS and kind in (IncidentEvent.Kind.NOTE, IncidentEvent.Kind.STATUS_CHANGED):
        return UnitNews("handover", data.get("handover")) if named else None
    if kind == IncidentEvent.Kind.CREATED and payload.get("to") == Status.ASSIGNED:
        # An assignment form names its offices (`offices`): only theirs look their part up.
        if unit_id not in data.get("offices", (unit_id,)):
            return None
        return UnitNews("handover", check=(Handover.State.PENDING,))
    if kind == IncidentEvent.Kind.STATUS_CHANGED and action == "send_back":
        sent = [s.get("handover") for s in data.get("sent_back") or () if s.get("unit") == unit_id]
        return UnitNews("sent_back", sent[0]) if sent else None
    if kind == IncidentEvent.Kind.STATUS_CHANGED and action == "reopen":
        return UnitNews("reopened", check=(Handover.State.ACCEPTED,))  # the offices' parts open again
    if not named:
        return None
    if kind == IncidentEvent.Kind.PART_COMPLETED:
        return UnitNews("on_behalf" if data.get("on_behalf") else "changed", data["handover"])
    if kind == IncidentEvent.Kind.ALARM and data.get("alarm_kind") in HANDOVER_ALARMS:
        return UnitNews("overdue", data["handover"])
    if kind in UNIT_MOVES:
        return UnitNews("changed", data["handover"])
    return None


def unit_part_id(incident_id: int, unit_id: int, states: tuple[str, ...]) -> int | None:
    """The unit's part of the case in one of `states` (the newest), or None."""
    return (Handover.objects.filter(incident_id=incident_id, unit_id=unit_id, state__in=states)
            .order_by("-id").values_list("pk", flat=True).first())


def unit_frame(payload: dict, news: UnitNews, handover_id: int | None) -> dict:
    """The department socket's frame of one event: what happened and to which part, no more (the
    page reloads the unit's queue for the rest)."""
    return {"type": "message", "message": {
        "id": payload["id"], "kind": news.kind, "incident": payload["incident"], "number": payload["number"],
        "handover": handover_id, "at": payload["at"]}}


def socket_dept_unit(user) -> tuple[int, str] | None:
    """(unit id, the event stream's group of its sub-district) of a user who may hold a unit's
    queue — the rule of the page and its API (`incidents.dept_api.DEPT_ROLES`, an active member) —
    or None."""
    if user is None or not user.is_authenticated or not has_role(user, *DEPT_ROLES):
        return None
    row = (Member.objects.filter(user=user, active=True)
           .values_list("unit_id", "unit__subdistrict__code").first())
    return None if row is None else (row[0], subdistrict_group(row[1]))
