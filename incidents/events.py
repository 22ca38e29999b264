"""The incident timeline: every state change appends an IncidentEvent, and the event is
published to live clients only after the transaction commits (no ghost updates on the wall)."""

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeAlias

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from config.renderers import dumps
from config.roles import Actor
from dispatch.models import Member
from incidents import relay
from incidents.models import Incident, IncidentEvent

# An event's payload for the live stream (event_payload), and the channel-layer message that carries it.
Payload: TypeAlias = dict[str, Any]

log = logging.getLogger(__name__)


def wall_group(subdistrict_code: str) -> str:
    return f"wall.{subdistrict_code}"


def event_append(
    *, incident: Incident, kind: str, actor: Actor | None = None, actor_member: Member | None = None,
    from_status: str = "", to_status: str = "", note: str = "", data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> IncidentEvent:
    """Append one timeline entry; publish it after commit. Precondition: inside the service's
    transaction, the incident row locked."""
    event = IncidentEvent.objects.create(
        incident=incident, subdistrict_id=incident.subdistrict_id, kind=kind,
        actor=actor,
        actor_member=actor_member, from_status=from_status, to_status=to_status, note=note,
        data=data or {}, at=at or timezone.now(),
    )
    if kind in IncidentEvent.QUIET_KINDS:  # an audit entry (a reveal): not news for the live stream
        return event
    payload = event_payload(event, incident)
    code = incident.subdistrict.code
    transaction.on_commit(lambda: _publish(code, payload))
    return event


# What event_payload reads: the columns to load for it (with the incident joined).
EVENT_PAYLOAD_FIELDS = ("id", "incident_id", "kind", "from_status", "to_status", "at", "note", "data",
                        "incident__id", "incident__number", "incident__status")


def events_for_payload(queryset: QuerySet[IncidentEvent]) -> QuerySet[IncidentEvent]:
    """The IncidentEvent queryset loading just what event_payload needs (one query, no N+1), without
    the audit entries that never go out on the live stream (IncidentEvent.QUIET_KINDS)."""
    return (queryset.exclude(kind__in=IncidentEvent.QUIET_KINDS).select_related("incident")
            .only(*EVENT_PAYLOAD_FIELDS))


def event_payload(event: IncidentEvent, incident: Incident) -> Payload:
    return {
        "id": event.pk,
        "incident": incident.pk,
        "number": incident.number,
        "kind": event.kind,
        "from": event.from_status,
        "to": event.to_status,
        "status": incident.status,
        "at": event.at.isoformat(),
        "note": event.note,
        "data": event.data_masked,
    }


# The board rows an event frame carries. The board (which incidents a wall shows, and each one's
# row) belongs to the wall app, above this one: it registers at start-up how to build the rows of
# some incidents (wall.selectors.board_rows: {id: row, or None when the incident is off the board}).
# Nothing registered (a process without the wall app): frames go out without rows.
BoardRows: TypeAlias = Callable[[list[int]], dict[int, Payload | None]]
_board_rows: BoardRows | None = None


def register_board_rows(build: BoardRows) -> None:
    global _board_rows
    _board_rows = build


def wall_event_message(payload: Payload, rows: dict[int, Payload | None] | None = None) -> Payload:
    """The channel-layer message of one event for the wall group: the socket's frame encoded here,
    once, rather than by each of the sockets it reaches (`id` for the consumer's resume check).
    With `rows` (board rows by incident id) the frame carries its incident's row as
    `"incident": {...}`, or `null` when the incident left the board: a wall applies it as it is."""
    frame: Payload = {"type": "event", "event": payload}
    if rows is not None:
        frame["incident"] = rows.get(payload["incident"])
    return {"type": "incident.event", "id": payload["id"], "text": dumps(frame).decode()}


def wall_event_messages(events: Iterable[IncidentEvent]) -> list[Payload]:
    """The messages of these events (loaded through events_for_payload), in the order given, each
    frame with its incident's board row; the rows of all of them read at once (two queries). A row
    is the incident as it is now, not as that event left it: a wall applying an older event's frame
    is shown the newest state, which is what it wants."""
    events = list(events)
    rows = _board_rows(sorted({e.incident_id for e in events})) if _board_rows is not None and events else None
    return [wall_event_message(event_payload(e, e.incident), rows) for e in events]


def _message_now(payload: Payload) -> Payload:
    """The message of an event just committed: its frame with the incident's row read now."""
    rows = None
    if _board_rows is not None:
        try:
            rows = _board_rows([payload["incident"]])
        except Exception:  # the event still goes out (the wall applies its status), without the row
            log.exception("reading the board row of incident %s failed", payload["incident"])
    return wall_event_message(payload, rows)


def _publish(subdistrict_code: str, payload: Payload) -> None:
    try:
        # the message (the row's two queries and the encoding) is built once, here, and only when
        # it goes through this process's channel layer: a worker relaying by id builds nothing
        relay.publish_event(wall_group(subdistrict_code), lambda: _message_now(payload), event_id=payload["id"])
    except Exception:  # a dead channel layer must never undo a committed change
        log.exception("publishing incident event %s failed", payload["id"])
