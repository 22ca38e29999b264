"""A member's live group: the messages of `dispatch/notify.py` reach the member's open app at once.

Every member has a channel-layer group of their own, `member-<id>` (`member_group`); the member's
socket (`dispatch.consumers.MemberConsumer`, `ws/member/`) joins it. A message is published after
the transaction that wrote it commits — never a message about an order that was rolled back —
through the channel layer, or, from a worker process without Redis (the SLA clock), through
PostgreSQL by id (`incidents.relay`, kind `member_message`; the server reads the row and builds
the same frame).

The frame: `{"type": "message", "message": {id, kind, title, body, incident, order, created_at,
read_at}}`, encoded once by the publisher (`message_channel_message`).
"""

import json
import logging
from datetime import datetime, timedelta

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from dispatch.models import Member, MemberMessage
from incidents import relay

log = logging.getLogger(__name__)

RELAY_KIND = "member_message"
INBOX_HOURS = 24  # what a socket gets on connect: the unread messages of the last day
INBOX_CAP = 200  # at most this many on one connect or resume


def member_group(member_id: int) -> str:
    return f"member-{member_id}"


MESSAGE_PAYLOAD_FIELDS = ("id", "kind", "title", "body", "incident_id", "order_id", "created_at", "read_at")


def message_payload(message: MemberMessage) -> dict:
    return {
        "id": message.pk,
        "kind": message.kind,
        "title": message.title,
        "body": message.body,
        "incident": message.incident_id,
        "order": message.order_id,
        "created_at": message.created_at.isoformat(),
        "read_at": message.read_at.isoformat() if message.read_at else None,
    }


def message_channel_message(payload: dict) -> dict:
    """The channel-layer message of one member message: the socket's frame, encoded here (`id` for
    the consumer's check against what it sent on connect)."""
    return {"type": "member.message", "id": payload["id"],
            "text": json.dumps({"type": "message", "message": payload}, cls=DjangoJSONEncoder, ensure_ascii=False)}


def message_publish_on_commit(message: MemberMessage) -> None:
    """Publish the message to its member's group once the current transaction commits."""
    group, payload = member_group(message.member_id), message_payload(message)
    transaction.on_commit(lambda: _publish(group, payload))


def _publish(group: str, payload: dict) -> None:
    try:
        relay.publish(group, message_channel_message(payload), kind=RELAY_KIND, object_id=payload["id"])
    except Exception:  # a dead channel layer must never undo a committed change
        log.exception("publishing member message %s failed", payload["id"])


def _relayed_messages(ids: list[int]) -> list[dict]:
    """The relay's loader (in a server process): committed messages by id, as published."""
    messages = MemberMessage.objects.filter(pk__in=ids).only(*MESSAGE_PAYLOAD_FIELDS).order_by("pk")
    return [message_channel_message(message_payload(m)) for m in messages]


relay.register_loader(RELAY_KIND, _relayed_messages)


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
