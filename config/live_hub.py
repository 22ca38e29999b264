"""One channel-layer membership per process and group, shared by the process's sockets of that group.

A wall map's socket used to join its sub-district's group itself: one channel-layer channel per
socket, so one event published to a sub-district watched by 2,500 wall maps on a server process was
2,500 messages through the layer (2,500 Redis writes and reads with channels-redis, a deep copy each
in memory) and 2,500 wake-ups of Channels' consumer loop — about 0.2 ms of the server's time per
socket per event (tests/bench/bench_wall.py). Here a process joins each group once, with a channel
of its own (`Hub`): the layer carries one message per process, and the hub hands it to each of the
process's sockets of the group (`LiveSocket.offer`, config/ws_frames.GroupSocket): an append to the
socket's inbox, sent on by the socket's own task in order.

What the layer may still lose, the hub sees (the messages' `seq`, config/live_gaps.py): a jump
checked `GAP_GRACE_S` later by a check that travels through the hub's channel behind whatever is
queued there; every `GAP_CHECK_INTERVAL_S` the group's counter read (a loss at the tail shows no
jump; a counter gone back means Redis restarted empty, and the group's members are gone with it). A
loss reaches every socket of the hub as `lost()` (the socket tells its client to resync) and makes
the hub join its group again at once: after a Redis restart a hub is a member again within that
interval. The membership is renewed besides every quarter of the layer's `group_expiry`. A socket that
cannot keep up loses on its own: its inbox holds at most the layer's `capacity` messages, and the
socket is told once it has sent what it holds.

A hub belongs to one event loop (a server process has one; each test's loop gets its own) and
lives while it has sockets: the last one to leave makes it leave the group.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Protocol

from channels.layers import get_channel_layer

from config.live_gaps import GAP_CHECK, SEQ, Gaps

log = logging.getLogger(__name__)

GAP_GRACE_S = 1.0  # a publisher between taking its number and its send
GAP_CHECK_INTERVAL_S = 30.0  # the group's counter compared, the membership renewed
RECEIVE_RETRY_S = 1.0  # the layer down (Redis): try again after


class LiveSocket(Protocol):
    def offer(self, message: dict) -> None: ...
    def lost(self, upto: int | None) -> None: ...


class Hub:
    """The process's membership of `group` on `layer`, for the sockets that joined it (`join`).
    Made inside the event loop it belongs to: it starts joining at once (`started`)."""

    def __init__(self, layer, group: str, alias: str = "default") -> None:
        self.layer = layer
        self.group = group
        self.alias = alias
        self.sockets: dict[LiveSocket, None] = {}  # insertion-ordered set: delivery in join order
        self.channel: str | None = None
        self.gaps: Gaps | None = None
        self._tasks: list[asyncio.Task] = []
        self._check: asyncio.Task | None = None
        self._rejoin: asyncio.Task | None = None
        self.started: asyncio.Task = asyncio.get_running_loop().create_task(self.start())

    async def start(self) -> None:
        """Join the group on the layer, then read the group's counter (after joining: see Gaps)."""
        self.channel = await self.layer.new_channel(prefix="hub")
        await self.layer.group_add(self.group, self.channel)
        if hasattr(self.layer, "group_seq"):  # our layers (not a test's plain one)
            try:
                self.gaps = Gaps(await self.layer.group_seq(self.group))
            except Exception:
                log.exception("reading the message count of %s failed", self.group)
                self.gaps = Gaps(None)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._read()), loop.create_task(self._watch())]

    async def stop(self) -> None:
        for task in (*self._tasks, self._check, self._rejoin):
            if task is not None:
                task.cancel()
        if self.channel is not None:
            try:
                await self.layer.group_discard(self.group, self.channel)
            except Exception:  # the layer down: the membership expires on its own
                log.warning("leaving %s failed", self.group, exc_info=True)

    @property
    def last_seq(self) -> int:
        """The number of the group's last message this hub has seen (0: none, or not numbered)."""
        return (self.gaps.last or 0) if self.gaps is not None else 0

    async def counter(self) -> int:
        """The group's counter now (every message numbered up to it has been sent); what the hub has
        seen when the layer cannot say."""
        if self.gaps is not None:
            try:
                return max(self.last_seq, int(await self.layer.group_seq(self.group)))
            except Exception:
                log.warning("reading the message count of %s failed", self.group, exc_info=True)
        return self.last_seq

    def lost(self, upto: int | None) -> None:
        """Messages of the group numbered up to `upto` (None: any) were lost: every socket is told,
        unless it resynced after they were sent (see GroupSocket.lost)."""
        log.warning("the channel layer dropped messages of %s (up to %s): its sockets resync", self.group, upto)
        for socket in list(self.sockets):
            socket.lost(upto)
        # the membership may be what was lost (Redis restarted empty): made again at once
        self._rejoin = asyncio.get_running_loop().create_task(self._join_again())

    async def _join_again(self) -> bool:
        try:
            await self.layer.group_add(self.group, self.channel)
            return True
        except asyncio.CancelledError:
            raise
        except Exception:  # the layer is down (Redis): the watch tries again
            log.warning("joining %s again failed", self.group, exc_info=True)
            return False

    async def _read(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("receiving %s failed: trying again", self.group, exc_info=True)
                await asyncio.sleep(RECEIVE_RETRY_S)
                continue
            try:
                self.handle(message)
            except Exception:  # a bug of ours: the group must not go dark, its sockets resync
                log.exception("handling a message of %s failed", self.group)
                self.lost(None)

    def handle(self, message: dict) -> None:
        """A message of the hub's channel: a group message to every socket, or the hub's own check."""
        if message.get("type") == GAP_CHECK:
            if self.gaps is not None and self.gaps.check(message["upto"]):
                self.lost(message["upto"])
            return
        seq = message.get(SEQ)
        lost = self.gaps.see(seq) if seq is not None and self.gaps is not None else False
        for socket in list(self.sockets):
            socket.offer(message)
        if lost:
            self.lost(None if seq == 1 else seq)
        elif self.gaps is not None and self.gaps.missing:
            self._schedule_check()

    def _schedule_check(self) -> None:
        if self._check is None or self._check.done():
            self._check = asyncio.get_running_loop().create_task(self._send_check())

    async def _send_check(self) -> None:
        try:
            upto = await self.layer.group_seq(self.group)
            if self.gaps is None:
                return
            if self.gaps.restarted(upto):  # the counter went back: Redis restarted empty
                self.lost(None)
                return
            if not self.gaps.outstanding(upto):
                return
            await asyncio.sleep(GAP_GRACE_S)
            if self.gaps.outstanding(upto):
                await self.layer.send(self.channel, {"type": GAP_CHECK, "upto": upto})
        except asyncio.CancelledError:
            raise
        except Exception:  # the channel full (the next check comes) or the layer down
            log.warning("checking %s for lost messages failed", self.group, exc_info=True)

    async def _watch(self) -> None:
        """Every GAP_CHECK_INTERVAL_S the group's counter compared with what came (a loss at the
        tail; a counter gone back: Redis restarted empty, and the membership with it — a loss makes
        the hub join again at once). Every quarter of the layer's `group_expiry` the membership made
        again: channel layers drop a member that long after it joined, silently. The first wait is
        drawn at random, so that hubs made together (a worker's sockets reconnecting after a
        restart) do not all ask at once."""
        check_every = GAP_CHECK_INTERVAL_S
        renew_every = max(0.5, getattr(self.layer, "group_expiry", 86400) / 4)
        now = asyncio.get_running_loop().time
        next_check = now() + random.uniform(0.5, 1.0) * check_every  # noqa: S311 - not for secrets
        next_renewal = now() + renew_every
        while True:
            await asyncio.sleep(max(0.0, min(next_check, next_renewal) - now()))
            if now() >= next_renewal:
                next_renewal = now() + (renew_every if await self._join_again() else min(renew_every, check_every))
            if now() >= next_check:
                next_check = now() + check_every
                if self.gaps is not None:
                    self._schedule_check()


_hubs: dict[asyncio.AbstractEventLoop, dict[tuple[str, str], Hub]] = {}  # the hubs of each event loop


async def join(socket: LiveSocket, group: str, *, alias: str = "default") -> Hub:
    """Add `socket` to the process's hub of `group` on layer `alias` (made and joined to the group
    on the layer first if need be); from then on the socket is offered every message of the group."""
    loop = asyncio.get_running_loop()
    hubs = _hubs.get(loop)
    if hubs is None:
        for stale in [other for other in _hubs if other.is_closed()]:  # loops gone (tests)
            del _hubs[stale]
        hubs = _hubs[loop] = {}
    key = (alias, group)
    hub = hubs.get(key)
    if hub is None:
        hub = hubs[key] = Hub(get_channel_layer(alias), group, alias)
    hub.sockets[socket] = None
    try:
        await asyncio.shield(hub.started)
    except BaseException:
        hub.sockets.pop(socket, None)
        if not hub.sockets and hubs.get(key) is hub:  # a failed start, or its only joiner gone
            del hubs[key]
            loop.create_task(_stop_when_started(hub))
        raise
    return hub


async def _stop_when_started(hub: Hub) -> None:
    try:
        await hub.started
    except BaseException:  # noqa: S110 - a start that failed has nothing to stop but its tasks
        pass
    await hub.stop()


async def leave(socket: LiveSocket, hub: Hub) -> None:
    """Take `socket` out of its hub; the last one out makes the hub leave the group."""
    hub.sockets.pop(socket, None)
    if hub.sockets:
        return
    hubs = _hubs.get(asyncio.get_running_loop(), {})
    key = (hub.alias, hub.group)
    if hubs.get(key) is hub:
        del hubs[key]
        await hub.stop()
