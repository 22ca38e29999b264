"""The incident timeline: every state change appends an IncidentEvent, and the event is
published to the sub-district's live stream only after the transaction commits (no ghost updates on
the wall): by id, through config.live; its frame is the wall's (wall/frames.py)."""

import logging
from datetime import datetime
from typing import Any, TypeAlias

from django.db.models import QuerySet
from django.utils import timezone

from config import live
from config.roles import Actor
from dispatch.models import Member
from incidents.models import Incident, IncidentEvent

# An event's payload for the live stream (event_payload), and the channel-layer message that carries it.
Payload: TypeAlias = dict[str, Any]

log = logging.getLogger(__name__)


# The kind of the timeline's rows on the live stream: the wall app builds their frames (wall/frames.py).
LIVE_KIND = "event"


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
    live.publish_on_commit(live.subdistrict_group(incident.subdistrict.code), LIVE_KIND, [event.pk])
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
