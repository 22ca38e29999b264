"""The wall map's websocket: `ws/wall/<subdistrict code>/`.

Staff only (close 4401 for an anonymous socket, 4403 without a staff role, 4404 for an unknown
sub-district; the socket is accepted first so the browser sees the code; the close codes and the
checks on every frame a client sends: config/ws_frames.py). A client that reconnects
passes the last event id it saw (`?last_event=<id>` or `{"type": "resume", "last_event": <id>}`) and
receives every later IncidentEvent of the sub-district in id order, then
`{"type": "caught_up", "last_event": <max id>}`; more than RESUME_CAP missed events and it gets
`{"type": "resync", "last_event": <max id>}` instead and reloads the page. Resumes cost a replay
from the database: at most WS_RESUME_PER_MINUTE per socket (the one on connect included), beyond
that an error frame and close 4429; a malformed resume (an id that is not an integer from 0 to
bigint's maximum) or any other frame: an error frame and close 4400. Live events arrive as
`{"type": "event", "event": ..., "incident": <its board row, or null once it left the board>}`
(wall/frames.py; replayed ones too); responders' positions, coalesced
and throttled per sub-district by dispatch.positions, as `{"type": "positions", "positions":
[{"member", "lon", "lat", "at", "accuracy_m"}, ...]}` (not replayed on resume: the next batch or
the snapshot API brings them); responders changed by staff (a roster, a member's details) as
`{"type": "members", "subdistrict", "members": [<rows as the snapshot has them>], "removed": [ids]}`
(wall/member_frames.py; not replayed on resume either: the next snapshot brings them). A message of
the stream the channel layer dropped (a slow socket: config.ws_frames.GroupSocket) is answered
`{"type": "resync", "last_event": <the sub-district's newest event id>}` too: the page reloads its
snapshot. The consumer only reads."""

import logging
from typing import cast
from urllib.parse import parse_qs

from django.utils.translation import gettext_lazy as _

from config.live import subdistrict_group
from config.roles import STAFF_ROLES, has_role
from config.socket_db import socket_db
from config.ws_frames import (  # noqa: F401 - tests read the codes here
    CLOSE_ANONYMOUS,
    CLOSE_BAD_REQUEST,
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    FrameRefused,
    GroupSocket,
    frame_id,
    parse_event_id,
)
from geo.models import Subdistrict
from geo.tenancy import forget, is_tenant
from incidents.events import events_for_payload
from incidents.models import IncidentEvent
from wall.frames import event_messages

log = logging.getLogger(__name__)

RESUME_CAP = 1000
CODE_MAX_LENGTH = cast(int, Subdistrict._meta.get_field("code").max_length)  # a CharField's


def _access(user, code: str) -> tuple[int | None, int | None]:
    """(close code or None, the sub-district's id): one trip to the sockets' database threads per connect."""
    if not has_role(user, *STAFF_ROLES):
        return CLOSE_FORBIDDEN, None
    if "\x00" in code or len(code) > CODE_MAX_LENGTH:  # PostgreSQL refuses NUL in text: not a code
        return CLOSE_NOT_FOUND, None
    subdistrict_id = Subdistrict.objects.filter(code=code).values_list("pk", flat=True).first()
    if subdistrict_id is None or not is_tenant(user, subdistrict_id):  # another tenant's: as unknown
        return CLOSE_NOT_FOUND, None
    return None, subdistrict_id


def _missed_events(subdistrict_id: int, last_event: int, cap: int) -> tuple[list[dict], bool, int]:
    """(messages of the events after `last_event`, oldest first, their frames as live ones are, with
    the incidents' board rows read in one go; whether more than `cap` were missed; the newest event
    id of the sub-district, or `last_event` when there is none newer)."""
    missed = IncidentEvent.objects.filter(subdistrict_id=subdistrict_id, pk__gt=last_event)
    if missed.order_by("pk")[cap:cap + 1].exists():  # too many: only the newest id matters then
        return [], True, cast(int, missed.order_by("-pk").values_list("pk", flat=True).first())  # exists
    messages = event_messages(events_for_payload(missed).order_by("pk"))
    return messages, False, messages[-1]["id"] if messages else last_event


def _newest_event(subdistrict_id: int) -> int:
    newest = IncidentEvent.objects.filter(subdistrict_id=subdistrict_id).order_by("-pk").values_list("pk", flat=True)
    return newest.first() or 0


class WallConsumer(GroupSocket):
    subdistrict_id: int | None = None
    sent_on_resume: set[int] | frozenset[int] = frozenset()

    async def connect(self) -> None:
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_ANONYMOUS)
            return
        code = self.scope["url_route"]["kwargs"]["subdistrict_code"]
        refused, subdistrict_id = await socket_db(_access)(user, code)
        if refused is not None:
            await self.close(code=refused)
            return
        self.subdistrict_id = subdistrict_id
        await self.group_join(subdistrict_group(code))
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        if "last_event" in query:
            last_event = parse_event_id(query["last_event"][-1])
            if last_event is None:
                await self.close(code=CLOSE_BAD_REQUEST)
                return
            await self._resume(last_event)

    async def receive_json(self, content, **kwargs) -> None:
        """A frame checked by GuardedJsonConsumer: the only one the socket takes is a resume."""
        if self.subdistrict_id is None:
            return
        if content["type"] != "resume":
            raise FrameRefused(_("This socket takes only “resume” frames."), code="unknown_type")
        await self._resume(frame_id(content, "last_event", minimum=0))

    async def _resume(self, last_event: int) -> None:
        self.spend_resume()
        messages, too_many, newest = await socket_db(_missed_events)(
            self.subdistrict_id, last_event, RESUME_CAP)
        if too_many:
            await self.send_json({"type": "resync", "last_event": newest})
            return
        for message in messages:
            await self.send(text_data=message["text"])
        # a live copy of these may already be queued behind this handler: don't send it twice
        self.sent_on_resume = {m["id"] for m in messages}
        await self.send_json({"type": "caught_up", "last_event": newest})

    async def resync(self) -> None:
        """The layer dropped messages of the stream: the page reloads its snapshot (read after this
        frame, so it holds them)."""
        newest = await socket_db(_newest_event)(self.subdistrict_id)
        await self.send_json({"type": "resync", "last_event": newest})

    # Live fan-out: one channel-layer message reaches every socket of the sub-district, so these
    # handlers run a thousand times per event with a thousand wall maps open. They touch no
    # database, and our consumers' dispatch goes straight to them (config/ws_frames.py). The frame
    # comes encoded by the publisher (`text`: wall.frames.event_message, config.live.positions_message,
    # wall.member_frames.member_messages).

    async def incident_event(self, message: dict) -> None:
        if message["id"] in self.sent_on_resume:
            return
        await self.send(text_data=message["text"])

    async def positions_batch(self, message: dict) -> None:
        await self.send(text_data=message["text"])

    async def members_changed(self, message: dict) -> None:
        await self.send(text_data=message["text"])

    async def access_changed(self, message: dict) -> None:
        """A tenancy of these users was taken away (wall/access_frames.py): this socket's user checks
        again, and the socket closes with the code a new connection would get."""
        user = self.scope.get("user")
        if user is None or user.pk not in message["users"]:
            return
        forget(user)  # the tenants read at connect are cached on the user object
        refused, _subdistrict_id = await socket_db(_access)(user, self.scope["url_route"]["kwargs"]["subdistrict_code"])
        if refused is not None:
            await self.close(code=refused)
