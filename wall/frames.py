"""The frames of the sub-district's live stream that carry the timeline: one per event,
`{"type": "event", "event": <incidents.events.event_payload>, "incident": <its board row, as the
snapshot has it (wall.selectors.board_rows), or null once it left the board>}` — so a wall applies
an event as it comes, without a request.

Built once per event, in whatever process publishes it (config.live: the builder of kind "event",
registered in wall/apps.py), and sent as it is to every socket of the sub-district; a wall that
resumes gets the missed events' frames built the same way (wall/consumers.py)."""

import logging
from collections.abc import Iterable

from django.conf import settings
from django.utils import translation

from config import live
from incidents.events import LIVE_KIND, Payload, event_payload, events_for_payload
from incidents.models import IncidentEvent
from wall.selectors import board_rows

log = logging.getLogger(__name__)

HANDLER = "incident.event"  # the consumers' handler: WallConsumer.incident_event, DeptConsumer's


def event_message(payload: Payload, rows: dict[int, Payload | None] | None) -> live.Message:
    """The channel-layer message of one event. With `rows` (board rows by incident id) the frame
    carries its incident's row, or null when the incident left the board; without (reading the rows
    failed) the status alone, which a wall applies too."""
    frame: Payload = {"type": "event", "event": payload}
    if rows is not None:
        frame["incident"] = rows.get(payload["incident"])
    return live.channel_message(HANDLER, frame, id=payload["id"])


def _rows(incident_ids: list[int]) -> dict[int, Payload | None] | None:
    """The board rows of these incidents in the site's language (a frame is built once for every
    wall, in whatever request published it; the page shows statuses in its own words), or None
    when reading them failed: the events still go out."""
    try:
        with translation.override(settings.LANGUAGE_CODE):
            return board_rows(incident_ids=incident_ids)
    except Exception:
        log.exception("reading the board rows of incidents %s failed", incident_ids)
        return None


def event_messages(events: Iterable[IncidentEvent]) -> list[live.Message]:
    """The messages of these events (loaded through events_for_payload), in the order given, the
    rows of all of them read at once (two queries). A row is the incident as it is now, not as that
    event left it: a wall applying an older event's frame is shown the newest state, which is what
    it wants."""
    events = list(events)
    if not events:
        return []
    rows = _rows(sorted({e.incident_id for e in events}))
    return [event_message(event_payload(e, e.incident), rows) for e in events]


def event_messages_by_id(ids: list[int]) -> list[live.Message]:
    """The builder of kind "event" (config.live): committed events by id, oldest first."""
    return event_messages(events_for_payload(IncidentEvent.objects.filter(pk__in=ids)).order_by("pk"))


def register() -> None:
    live.register(LIVE_KIND, event_messages_by_id)
