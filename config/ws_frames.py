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
    1011  a live message could not be delivered: reconnect and resume (CLOSE_SERVER_ERROR)

A handshake from a foreign origin gets no socket at all (config/ws_origin.py): HTTP 403, which the
browser reports as 1006.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable

from channels import DEFAULT_CHANNEL_LAYER
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from config import live_hub
from config.errors import DomainError
from config.inputs import BIGINT_MAX, ascii_int, json_too_deep, refuse_constant, strings_clean

log = logging.getLogger(__name__)

CLOSE_BAD_REQUEST = 4400
CLOSE_ANONYMOUS = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_RATE_LIMITED = 4429
CLOSE_SERVER_ERROR = 1011  # a live message could not be delivered: reconnect and resume

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

    The group is joined through the process's hub (config/live_hub.py): one layer membership per
    process and group, whatever the number of its sockets there; the socket has no channel of its
    own (`channel_layer_alias = None`). The hub offers each group message (`offer`); the socket
    queues it in its inbox and its own task hands it to `deliver` (the consumer's handler by
    message type) in order, never beside the consumer's own handling of a client frame or of its
    connect (one turn at a time, as Channels runs a consumer's messages: a message published while a
    socket replays what it missed waits until the replay is sent).

    No silent loss: a message the layer dropped is seen by the hub (config/live_gaps.py), one the
    socket could not take — its inbox full, `capacity` messages behind (a stuck client) — by the
    socket; either way the socket tells its client `resync` (`resync()`: the wall reloads its
    snapshot, a phone reconnects and resumes after its last message), once it has sent what it
    holds. Handlers of a subclass: `deliver`, not `dispatch`."""

    channel_layer_alias = None  # no channel per socket: the hub's (see above)
    live_layer_alias = DEFAULT_CHANNEL_LAYER

    group: str | None = None
    _hub: live_hub.Hub | None = None
    _pump: asyncio.Task | None = None
    _overflowed = False
    _covered = 0  # the group's messages up to this number are in what the client has (see `lost`)
    COUNTER_TIMEOUT_S = 2.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._inbox: deque[dict] = deque()
        self._turn = asyncio.Lock()

    async def __call__(self, scope, receive, send):
        """The consumer's life; whichever way it ends (a handler that raised ends it without a
        `websocket.disconnect`), the socket leaves its hub."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._leave()

    async def _leave(self) -> None:
        self.closing = True
        self._inbox.clear()
        if self._pump is not None and self._pump is not asyncio.current_task():
            self._pump.cancel()
        if self._hub is not None:
            hub, self._hub = self._hub, None
            await live_hub.leave(self, hub)

    async def group_join(self, group: str) -> None:
        """Join before reading what the socket sends first: nothing falls between."""
        self.group = group
        layer = get_channel_layer(self.live_layer_alias)
        self._capacity = max(1, int(getattr(layer, "capacity", 100)))
        self._hub = await live_hub.join(self, group, alias=self.live_layer_alias)
        self._covered = self._hub.last_seq  # what came before is the connect's to read

    async def disconnect(self, code) -> None:
        await self._leave()

    async def dispatch(self, message) -> None:
        """The socket's own messages (connect, a client frame, disconnect), one turn at a time with
        the group's messages."""
        async with self._turn:
            await super().dispatch(message)

    async def deliver(self, message) -> None:
        await super().dispatch(message)

    def offer(self, message: dict) -> None:
        """A message of the group, from the hub: queued, sent on by the socket's task."""
        if self.closing:
            return
        if len(self._inbox) >= self._capacity:
            self._overflowed = True  # dropped: the client is told once what is queued is sent
            return
        self._inbox.append(message)
        self._wake()

    def lost(self, upto: int | None) -> None:
        """The hub saw the layer drop messages of the group numbered up to `upto` (None: any): tell
        the client after what is queued — unless they were sent before the socket joined or before
        it last told its client to resync (the client read the database after that)."""
        if self.closing or (upto is not None and upto <= self._covered):
            return
        self._overflowed = True
        self._wake()

    def _wake(self) -> None:
        if self._pump is None:
            self._pump = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._inbox or self._overflowed:
                if self.closing:
                    return
                if self._inbox:
                    message = self._inbox.popleft()
                    async with self._turn:
                        await self.deliver(message)
                    continue
                log.warning("%s (%s) missed messages of its group: resync", self.scope.get("path"), self.group)
                async with self._turn:
                    covered = await self._counter()
                    await self.resync()
                self._overflowed = False  # told: only now (a resync that failed is tried again)
                self._covered = max(self._covered, covered)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A message that could not be delivered (a handler's database read failed, the client
            # went away mid-send): the client cannot know what it missed, so the socket closes and
            # the client reconnects and resumes, as when a consumer fails.
            log.warning("delivering to %s failed: closing it", self.scope.get("path"), exc_info=True)
            self._pump = None
            if not self.closing:
                with contextlib.suppress(Exception):
                    await self.close(code=CLOSE_SERVER_ERROR)
        finally:
            self._pump = None

    async def _counter(self) -> int:
        """The group's counter for `_covered`: what the hub has seen if the layer does not answer soon."""
        if self._hub is None:
            return self._covered
        try:
            async with asyncio.timeout(self.COUNTER_TIMEOUT_S):
                return await self._hub.counter()
        except TimeoutError:
            return self._hub.last_seq

    async def resync(self) -> None:
        """Tell the client it missed messages: what it does then is its own (the frame's handling)."""
        await self.send_json({"type": "resync"})
