"""The member's websocket: `ws/member/` — a responder's (or leader's) own messages, live.

Only a logged-in user linked to an active member (`user.member`): an anonymous socket is closed
with 4401, a user who is not a member of the forces with 4403 (accepted first, so the browser sees
the code). On connect the socket joins the member's group (`dispatch.live.member_group`) and
receives the member's unread messages of the last 24 hours, oldest first; a client that
reconnects passes the last message id it saw (`?last_message=<id>`) and receives every message
after it instead (read or not; a malformed id closes with 4400). Then `{"type": "caught_up",
"last_message": <newest id sent, or the one asked for>}`. Each message is a frame

    {"type": "message", "message": {id, kind, title, body, incident, order, created_at, read_at}}

The client says it showed one with `{"type": "read", "message": <id>}` and gets
`{"type": "read", "message": <id>, "read_at": ...}` (the first read counts; again, the same
time); a message that is not the member's answers `{"type": "error", ...}` and changes nothing.
The consumer stays thin: the database through `dispatch.live` (reads) and `dispatch.notify`
(`message_read`)."""

import asyncio
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import timezone

from dispatch.live import member_group, member_inbox, socket_member_id
from dispatch.notify import message_read
from incidents import relay
from incidents.consumers import CLOSE_ANONYMOUS, CLOSE_BAD_REQUEST, CLOSE_FORBIDDEN, parse_event_id

log = logging.getLogger(__name__)



def _inbox(member_id: int, after: int | None) -> list[dict]:
    return member_inbox(member_id, now=timezone.now(), after=after)


def _read(member_id: int, message_id: int) -> str | None:
    """The message's read_at (ISO 8601) once marked, or None when it is not the member's."""
    message = message_read(member_id, message_id)
    return message.read_at.isoformat() if message is not None else None


class MemberConsumer(AsyncJsonWebsocketConsumer):
    member_id: int | None = None
    group: str | None = None
    sent_on_connect: set[int] | frozenset[int] = frozenset()
    _membership: asyncio.Task | None = None

    async def connect(self) -> None:
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_ANONYMOUS)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        after = None
        if "last_message" in query:
            after = parse_event_id(query["last_message"][-1])
            if after is None:
                await self.close(code=CLOSE_BAD_REQUEST)
                return
        member_id = await database_sync_to_async(socket_member_id)(user)
        if member_id is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.member_id, self.group = member_id, member_group(member_id)
        relay.ensure_listener(self.channel_layer)  # the SLA clock's messages without Redis (incidents.relay)
        await self.channel_layer.group_add(self.group, self.channel_name)  # before reading: nothing falls between
        self._membership = asyncio.get_running_loop().create_task(self._keep_membership())
        payloads = await database_sync_to_async(_inbox)(member_id, after)
        for payload in payloads:
            await self.send_json({"type": "message", "message": payload})
        # a live copy of these may already be queued behind this handler: don't send it twice
        self.sent_on_connect = {p["id"] for p in payloads}
        newest = payloads[-1]["id"] if payloads else after
        await self.send_json({"type": "caught_up", "last_message": newest})

    async def disconnect(self, code) -> None:
        if self._membership is not None:
            self._membership.cancel()
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def _keep_membership(self) -> None:
        """Join the group again well before the layer's `group_expiry` drops the socket from it
        (as the wall socket does: an app left open for days keeps receiving)."""
        interval = max(1.0, getattr(self.channel_layer, "group_expiry", 86400) / 4)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.channel_layer.group_add(self.group, self.channel_name)
            except Exception:  # the layer is down (Redis): try again next time, keep the socket
                log.exception("renewing the member group membership of %s failed", self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        if self.member_id is None or not isinstance(content, dict):
            return
        if content.get("type") != "read":
            await self.send_json({"type": "error", "detail": "unknown message type"})
            return
        message_id = parse_event_id(content.get("message"))
        if message_id is None:
            await self.send_json({"type": "error", "detail": "message must be a non-negative integer"})
            return
        read_at = await database_sync_to_async(_read)(self.member_id, message_id)
        if read_at is None:
            await self.send_json({"type": "error", "detail": "no such message", "message": message_id})
            return
        await self.send_json({"type": "read", "message": message_id, "read_at": read_at})

    async def member_message(self, message: dict) -> None:
        """A new message for this member (`dispatch.live.message_channel_message`), frame encoded."""
        if message["id"] in self.sent_on_connect:
            return
        await self.send(text_data=message["text"])
