"""The members' websockets: `ws/member/` — a responder's (or leader's) own messages, live — and
`ws/dept/` — a unit's news for the department queue (DeptConsumer, below).

`ws/member/`: only a logged-in user linked to an active member (`user.member`): an anonymous socket is closed
with 4401, a user who is not a member of the forces with 4403 (accepted first, so the browser sees
the code). On connect the socket joins the member's group (`config.live.member_group`) and
receives the member's unread messages of the last 24 hours, oldest first; a client that
reconnects passes the last message id it saw (`?last_message=<id>`) and receives every message
after it instead (read or not; a malformed id closes with 4400). Then `{"type": "caught_up",
"last_message": <newest id sent, or the one asked for>}`. Each message is a frame

    {"type": "message", "message": {id, kind, title, body, incident, order, created_at, read_at}}

The phone sends its positions here while the socket is live: `{"type": "positions", "id": <n>,
"positions": [{member, at, lon, lat, accuracy_m, datum}, ...]}` (the member's own only, checked as
`POST /api/v1/positions/` checks them) and gets `{"type": "positions", "id": <n>, "stored": <k>}`
or an error frame with that `id`. The client says it showed one with `{"type": "read", "message": <id>}` and gets
`{"type": "read", "message": <id>, "read_at": ...}` (the first read counts; again, the same
time); a message that is not the member's answers `{"type": "error", ...}` and changes nothing;
any other frame, or a `read` whose id is not an integer from 1 to bigint's maximum, answers an
error frame and closes the socket with 4400 (config/ws_frames.py: the checks on every frame and the
close codes). The resume is the one on connect (`?last_message=`): a socket has no other — so when
the channel layer dropped a message meant for the member (a slow socket: config.ws_frames.GroupSocket)
the socket says `{"type": "resync", "last_message": <newest id sent>}` and the app reconnects with
its own last id (frontend/static/gridlink/m/live.js).
The consumer stays thin: the database through `dispatch.live` (reads) and `dispatch.notify`
(`message_read`)."""

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast
from urllib.parse import parse_qs

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.errors import DomainError
from config.live import member_group
from config.socket_db import socket_db
from config.ws_frames import (
    CLOSE_ANONYMOUS,
    CLOSE_BAD_REQUEST,
    CLOSE_FORBIDDEN,
    FrameRefused,
    GroupSocket,
    error_frame,
    frame_id,
    parse_event_id,
)
from dispatch.live import (
    member_inbox,
    socket_dept_unit,
    socket_member_id,
    unit_frame,
    unit_news,
    unit_part_id,
)
from dispatch.notify import message_read
from dispatch.positions import own_positions_store, position_sender_member

log = logging.getLogger(__name__)


def _inbox(member_id: int, after: int | None) -> list[dict]:
    return member_inbox(member_id, now=timezone.now(), after=after)


def _own_positions(*, user, member_id: int, session_key: str | None, items) -> int | None:
    """A batch from the member's socket, checked and stored in one trip to the database threads:
    each batch as over HTTP — the session still valid, a role that may post positions, the member
    still active (a socket outlives a logout or a role taken away); None when not. The count stored,
    or DomainError for a bad batch."""
    if position_sender_member(user=user, session_key=session_key) != member_id:
        return None
    return own_positions_store(member_id=member_id, items=items)


def _read(member_id: int, message_id: int) -> str | None:
    """The message's read_at (ISO 8601) once marked, or None when it is not the member's."""
    message = message_read(member_id, message_id)
    if message is None:
        return None
    return cast(datetime, message.read_at).isoformat()  # marked by message_read


class _GroupSocket(GroupSocket):
    """A member's or a unit's socket: admitted by the user's link to a member (`admit`)."""

    async def admit(self, access: Callable) -> tuple[Any, int | None] | None:
        """Accept the socket, then check it (closing it with the code the browser sees): anonymous
        4401, a malformed `?last_message=` 4400, a user for whom `access(user)` (sync: it reads the
        database) is None 4403. Returns (what `access` returned, the last message id the client saw
        or None); None when the socket was closed."""
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_ANONYMOUS)
            return None
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        after = None
        if "last_message" in query:
            after = parse_event_id(query["last_message"][-1])
            if after is None:
                await self.close(code=CLOSE_BAD_REQUEST)
                return None
        granted = await socket_db(access)(user)
        if granted is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return None
        return granted, after



class MemberConsumer(_GroupSocket):
    member_id: int | None = None
    last_sent: int | None = None
    sent_on_connect: set[int] | frozenset[int] = frozenset()

    async def connect(self) -> None:
        admitted = await self.admit(socket_member_id)
        if admitted is None:
            return
        member_id, after = admitted
        self.member_id = member_id
        await self.group_join(member_group(member_id))  # before reading: nothing falls between
        payloads = await socket_db(_inbox)(member_id, after)
        for payload in payloads:
            await self.send_json({"type": "message", "message": payload})
        # a live copy of these may already be queued behind this handler: don't send it twice
        self.sent_on_connect = {p["id"] for p in payloads}
        newest = payloads[-1]["id"] if payloads else after
        self.last_sent = newest
        await self.send_json({"type": "caught_up", "last_message": newest})

    async def receive_json(self, content, **kwargs) -> None:
        """A frame checked by GuardedJsonConsumer: `read`, or `positions` (the phone's batch)."""
        if self.member_id is None:
            return
        if content["type"] == "positions":
            await self._positions(content)
            return
        if content["type"] != "read":
            raise FrameRefused(_("This socket takes only “read” and “positions” frames."), code="unknown_type")
        message_id = frame_id(content, "message")
        read_at = await socket_db(_read)(self.member_id, message_id)
        if read_at is None:
            # Not a bad frame (the message may be another member's, or gone): an error frame, the socket stays.
            await self.send_json(error_frame(DomainError(_("No such message."), code="not_found"), message=message_id))
            return
        await self.send_json({"type": "read", "message": message_id, "read_at": read_at})

    async def _positions(self, content: dict) -> None:
        """The member's own positions over the socket they hold anyway: no HTTP request, session
        or middleware per batch (every 10 s from each of 692 phones). Answered `{"type":
        "positions", "id", "stored"}`, or an error frame with the same `id` (and `errors` by index
        for bad fixes); nothing is stored from a refused batch. The phone falls back to HTTP when
        the socket is not live."""
        batch = frame_id(content, "id")
        session = self.scope.get("session")
        try:
            stored = await socket_db(_own_positions)(user=self.scope.get("user"), member_id=self.member_id,
                                                     session_key=getattr(session, "session_key", None),
                                                     items=content.get("positions"))
        except DomainError as error:
            await self.send_json(error_frame(error, id=batch, errors=getattr(error, "errors", None)))
            return
        if stored is None:
            await self.send_json(error_frame(DomainError(_("You may not send positions."), code="forbidden"),
                                             id=batch))
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.send_json({"type": "positions", "id": batch, "stored": stored})

    async def member_message(self, message: dict) -> None:
        """A new message for this member (`dispatch.live.message_channel_message`), frame encoded."""
        if message["id"] in self.sent_on_connect:
            return
        self.last_sent = max(self.last_sent or 0, message["id"])
        await self.send(text_data=message["text"])

    async def resync(self) -> None:
        await self.send_json({"type": "resync", "last_message": self.last_sent})


class DeptConsumer(_GroupSocket):
    """`ws/dept/`: the department queue's live channel — every change of the user's unit's parts of
    cases (`dispatch.live.unit_news`): a new hand-over (a transfer, an assignment, an assignment form
    at intake), sent back or completed on the unit's behalf by the command room, the case reopened,
    a deadline overdue (the SLA clock's alarm), and the unit's own moves (its colleagues' pages).

    Only the users the page admits (a department role or a responder, linked to an active member of
    a unit): anonymous 4401, anybody else 4403, accepted first so the browser sees the code. The
    socket listens to its sub-district's event stream and passes on its unit's events only, each
    once, as `{"type": "message", "message": {id, kind, incident, number, handover, at}}` (`id` the
    event's). On connect, and on a reconnect that names the last message seen (`?last_message=<id>`;
    malformed: 4400), it says `{"type": "caught_up", "last_message": <that id or null>}` and sends
    no backlog: the page reloads the unit's queue when the socket is live again. The client sends
    nothing: any frame answers an error frame and closes the socket with 4400. A message of the
    stream the channel layer dropped answers `{"type": "resync"}` (config.ws_frames.GroupSocket):
    the page's socket reconnects (m/live.js) and the queue reloads."""

    unit_id: int | None = None

    async def connect(self) -> None:
        admitted = await self.admit(socket_dept_unit)
        if admitted is None:
            return
        (self.unit_id, stream), after = admitted
        await self.group_join(stream)
        await self.send_json({"type": "caught_up", "last_message": after})

    async def receive_json(self, content, **kwargs) -> None:
        raise FrameRefused(_("This socket takes no frames."), code="unknown_type")

    async def deliver(self, message: dict) -> None:
        """The sub-district's stream carries every event and more (the members' positions, what the
        walls need): the events go to `incident_event`, the rest of the stream nowhere."""
        if message.get("type") == "incident.event":
            await self.incident_event(message)

    async def incident_event(self, message: dict) -> None:
        """One event of the sub-district (`wall.frames.event_message`): passed on when it
        is about the unit's part of a case. Only an event that does not name its units (an
        assignment form, a reopened case) reads the database, to see whether the unit holds a part."""
        if self.unit_id is None:
            return
        payload = json.loads(message["text"])["event"]
        news = unit_news(payload, self.unit_id)
        if news is None:
            return
        handover = news.handover
        if news.check:
            handover = await socket_db(unit_part_id)(payload["incident"], self.unit_id, news.check)
            if handover is None:
                return
        await self.send_json(unit_frame(payload, news, handover))
