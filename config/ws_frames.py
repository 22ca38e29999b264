"""What our websockets take from a client, and how they refuse the rest.

Every consumer of ours (the wall map's, the member's, the department queue's) derives from
`GuardedJsonConsumer`, whose receive path runs before the consumer's `receive_json` sees anything:

- a frame must be text (binary is refused), at most WS_MAX_FRAME_BYTES of UTF-8, valid JSON without
  NaN or Infinity, nested at most MAX_DEPTH deep, an object whose "type" is a string, and hold no
  NUL character and no lone surrogate in any string;
- ids in a frame are integers (`frame_id`: not a boolean, not a float) within PostgreSQL's bigint;
- a socket takes at most WS_FRAMES_PER_MINUTE frames and WS_RESUME_PER_MINUTE resumes (a replay of
  missed events from the database: the costly request) — token buckets per socket, a burst of the
  full minute's worth, refilled evenly.

A frame refused here, or by the consumer with `FrameRefused`, gets one error frame, built from the
domain error (config/errors.py) as every error frame is, `{"type": "error", "code": <code>,
"detail": <translated message>}`, and the socket closes with the error's close code; frames that
arrive after that are ignored, and nothing is logged as an error: a refusal is not a server fault.
One bad frame closes the socket: our own clients never send one (the wall and department pages send
nothing, the member's app only `read`), so a bad frame is a broken or hostile client, and a fresh
connection is the cheapest way back to a known state.

The close codes of our sockets, one table for the consumers, the pages and their tests (the
browser sees them in `CloseEvent.code`):

    4400  a malformed frame or query (CLOSE_BAD_REQUEST)
    4401  not logged in (CLOSE_ANONYMOUS)
    4403  the user's role does not admit them (CLOSE_FORBIDDEN)
    4404  no such sub-district (CLOSE_NOT_FOUND)
    4429  too many frames or resumes on this socket (CLOSE_RATE_LIMITED)

A handshake from a foreign origin gets no socket at all (config/ws_origin.py): HTTP 403, which the
browser reports as 1006.
"""

import asyncio
import json
import logging
import time
from collections.abc import Callable

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from config.errors import DomainError
from config.inputs import BIGINT_MAX, ascii_int, json_too_deep, refuse_constant, strings_clean
from config.live_gaps import GAP_CHECK, SEQ, Gaps

log = logging.getLogger(__name__)

CLOSE_BAD_REQUEST = 4400
CLOSE_ANONYMOUS = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_RATE_LIMITED = 4429

MAX_DEPTH = 8  # our frames are flat objects; a little room, never a recursion hazard


class FrameRefused(DomainError):
    """A frame the socket does not take: one error frame, then the socket closes with `close_code`."""

    close_code = CLOSE_BAD_REQUEST

    def __init__(self, message, *, code: str = "bad_frame", close_code: int | None = None):
        super().__init__(message, code=code)
        if close_code is not None:
            self.close_code = close_code


class RateLimited(FrameRefused):
    """More frames or resumes than the socket's budget: HTTP's 429, close 4429."""

    http_status = 429
    close_code = CLOSE_RATE_LIMITED

    def __init__(self, message, *, code: str = "rate_limited", close_code: int | None = None):
        super().__init__(message, code=code, close_code=close_code)


def error_frame(error: DomainError, **extra) -> dict:
    """The error frame of a domain error: the code for programs, the message for people."""
    return {"type": "error", "code": error.code, "detail": str(error.message), **extra}


def parse_event_id(value, *, minimum: int = 0) -> int | None:
    """An id from a query string or a frame: an int (not a bool) or a string of ASCII digits, from
    `minimum` up to BIGINT_MAX; None for anything else."""
    return ascii_int(value, minimum=minimum, maximum=BIGINT_MAX)


def frame_id(content: dict, key: str, *, minimum: int = 1) -> int:
    """The id under `key` of a decoded frame: an integer from `minimum` up to BIGINT_MAX (strings
    of digits are not ids in a frame), else FrameRefused."""
    value = content.get(key)
    number = parse_event_id(value, minimum=minimum) if isinstance(value, int) else None
    if number is None:
        raise FrameRefused(_("“%(key)s” must be an integer from %(minimum)s to %(maximum)s.")
                           % {"key": key, "minimum": minimum, "maximum": BIGINT_MAX}, code="bad_id")
    return number


def decode_frame(text_data: str | None, bytes_data: bytes | None, *, max_bytes: int) -> dict:
    """A client's frame as a JSON object with a string "type", or FrameRefused."""
    if text_data is None:
        raise FrameRefused(_("This socket takes text frames only."), code="binary_frame")
    if len(text_data) > max_bytes or len(text_data.encode("utf-8", "surrogatepass")) > max_bytes:
        raise FrameRefused(_("The frame is too large."), code="frame_too_large")
    if "\x00" in text_data:
        raise FrameRefused(_("The frame contains a NUL character."), code="nul_character")
    if json_too_deep(text_data, MAX_DEPTH):
        raise FrameRefused(_("The frame is nested too deeply."), code="too_deep")
    try:
        content = json.loads(text_data, parse_constant=refuse_constant)
    except (ValueError, RecursionError):
        raise FrameRefused(_("The frame is not valid JSON."), code="not_json") from None
    if not strings_clean(content):
        raise FrameRefused(_("The frame contains a NUL character or invalid text."), code="nul_character")
    if not isinstance(content, dict) or not isinstance(content.get("type"), str):
        raise FrameRefused(_("A frame is a JSON object with a “type”."), code="bad_frame")
    return content


class TokenBucket:
    """At most `per_minute` takes in a burst, refilled evenly over the minute."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic):
        self.capacity = float(max(1, per_minute))
        self.rate = self.capacity / 60.0
        self.tokens = self.capacity
        self.clock = clock
        self.at = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


class GuardedJsonConsumer(AsyncJsonWebsocketConsumer):
    """A JSON websocket whose frames are checked (above) before `receive_json` sees them; a
    `FrameRefused` raised by `receive_json` is answered the same way. `spend_resume()` before each
    replay of missed events."""

    closing = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.frame_budget = TokenBucket(settings.WS_FRAMES_PER_MINUTE)
        self.resume_budget = TokenBucket(settings.WS_RESUME_PER_MINUTE)

    async def dispatch(self, message) -> None:
        """A message straight to its handler, without Channels' hop to the process's one shared
        sync thread to close stale database connections first: our consumers reach the database only
        through `config.socket_db.socket_db`, which closes them before and after each call."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_receive(self, message) -> None:
        await self.receive(text_data=message.get("text"), bytes_data=message.get("bytes"))

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        if self.closing:
            return
        try:
            if not self.frame_budget.take():
                raise RateLimited(_("Too many frames on this socket: slow down."))
            content = decode_frame(text_data, bytes_data, max_bytes=settings.WS_MAX_FRAME_BYTES)
            await self.receive_json(content, **kwargs)
        except FrameRefused as error:
            await self.refuse(error)

    def spend_resume(self) -> None:
        """Count one replay of missed events against the socket's budget, or RateLimited."""
        if not self.resume_budget.take():
            raise RateLimited(_("Too many resume requests on this socket: wait a minute."), code="resume_rate_limited")

    async def refuse(self, error: FrameRefused) -> None:
        """One error frame, then close with the error's code."""
        log.info("websocket frame refused on %s: %s", self.scope.get("path"), error.code)
        await self.send_json(error_frame(error))
        await self.close(code=error.close_code)

    async def close(self, code=None, reason=None) -> None:
        self.closing = True  # whatever the client sends after this is not read
        await super().close(code=code, reason=reason)


class NoSuchSocket(GuardedJsonConsumer):
    """Any websocket path that no app routes (the last route of config.routing): accepted, then
    closed with 4404. Without it Channels' router raises, and the server logs a traceback."""

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=CLOSE_NOT_FOUND)


class GroupSocket(GuardedJsonConsumer):
    """A socket that holds one channel-layer group for as long as it is open (the wall's, a
    member's, a unit's): `group_join` once admitted; left on disconnect.

    No silent loss: the layer numbers each group's messages (`seq`, config/channel_layers.py) and the
    socket keeps count (config/live_gaps.py). A jump, or the group's counter ahead of what the socket
    saw (asked every GAP_CHECK_INTERVAL_S: a loss at the tail shows no jump), is checked GAP_GRACE_S
    later by a `live.check` message through the socket's own channel — behind whatever is queued for
    it, so a slow socket is not taken for a lossy one; what did not come by then was dropped by the
    layer, and the client is told `resync` (`resync()`: the wall reloads its snapshot, a phone
    reconnects and resumes after its last message). Handlers of a subclass: `deliver`, not
    `dispatch`."""

    GAP_GRACE_S = 1.0
    GAP_CHECK_INTERVAL_S = 30.0

    group: str | None = None
    gaps: Gaps | None = None
    _membership: asyncio.Task | None = None
    _watch: asyncio.Task | None = None
    _check: asyncio.Task | None = None

    async def group_join(self, group: str) -> None:
        """Join before reading what the socket sends first: nothing falls between."""
        self.group = group
        await self.channel_layer.group_add(group, self.channel_name)
        loop = asyncio.get_running_loop()
        self._membership = loop.create_task(self._keep_membership())
        if hasattr(self.channel_layer, "group_seq"):  # our layers (not a test's plain one)
            try:
                self.gaps = Gaps(await self.channel_layer.group_seq(group))  # after joining: see Gaps
            except Exception:
                log.exception("reading the message count of %s failed", group)
                self.gaps = Gaps(None)
            self._watch = loop.create_task(self._watch_gaps())

    async def disconnect(self, code) -> None:
        for task in (self._membership, self._watch, self._check):
            if task is not None:
                task.cancel()
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def dispatch(self, message) -> None:
        """The group's messages counted, then handed to `deliver`; the socket's own check handled."""
        if message.get("type") == GAP_CHECK:
            if self.gaps is not None and self.gaps.check(message["upto"]):
                await self._lost()
            return
        seq = message.get(SEQ)
        if seq is None or self.gaps is None:
            await self.deliver(message)
            return
        lost = self.gaps.see(seq)
        await self.deliver(message)
        if lost:
            await self._lost()
        elif self.gaps.missing:
            self.schedule_gap_check()

    async def deliver(self, message) -> None:
        await super().dispatch(message)

    async def resync(self) -> None:
        """Tell the client it missed messages: what it does then is its own (the frame's handling)."""
        await self.send_json({"type": "resync"})

    async def _lost(self) -> None:
        log.warning("%s missed messages of %s (the channel layer dropped them): resync", self.channel_name, self.group)
        if not self.closing:
            await self.resync()

    def schedule_gap_check(self) -> None:
        if self._check is None or self._check.done():
            self._check = asyncio.get_running_loop().create_task(self._send_gap_check())

    async def _send_gap_check(self) -> None:
        try:
            upto = await self.channel_layer.group_seq(self.group)
            if self.gaps is None or not self.gaps.outstanding(upto):
                return
            await asyncio.sleep(self.GAP_GRACE_S)  # a publisher between its number and its send
            if self.gaps.outstanding(upto):
                await self.channel_layer.send(self.channel_name, {"type": GAP_CHECK, "upto": upto})
        except asyncio.CancelledError:
            raise
        except Exception:  # the channel full (the next check comes) or the layer down
            log.warning("checking %s for lost messages of %s failed", self.channel_name, self.group, exc_info=True)

    async def _watch_gaps(self) -> None:
        while True:
            await asyncio.sleep(self.GAP_CHECK_INTERVAL_S)
            self.schedule_gap_check()

    async def _keep_membership(self) -> None:
        """Channel layers drop a group member `group_expiry` seconds after it joined (a day, by
        default, in both the in-memory layer and channels-redis), silently: a wall map or an app
        left open longer would stop receiving. Join again well before that."""
        interval = max(1.0, getattr(self.channel_layer, "group_expiry", 86400) / 4)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.channel_layer.group_add(self.group, self.channel_name)
            except Exception:  # the layer is down (Redis): try again next time, keep the socket
                log.exception("renewing the group membership of %s in %s failed", self.channel_name, self.group)
