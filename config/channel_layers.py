"""The channel layer of a single server process (no REDIS_URL): Channels' in-memory layer, made to
scale with the number of open sockets.

Channels' `InMemoryChannelLayer` sweeps every queue of every channel for expired messages on each
`receive` and `group_send`: with a thousand wall maps open, one event delivered to each costs a
million queue checks (the largest item in a profile of the fan-out, a quarter of the server's time;
tests/bench/bench_wall.py --profile). Here the sweep runs at most once per CLEAN_INTERVAL_S — expiry
is 60 s, so a message may outlive it by that interval at most — and `group_send` puts the message
on each member's queue directly instead of through a task per member. Delivery is unchanged: each
member gets its own copy, a full queue drops the message for that member only (as Channels does).
"""

import asyncio
import time
from copy import deepcopy

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer


class InMemoryChannelLayer(ChannelsInMemoryChannelLayer):
    CLEAN_INTERVAL_S = 1.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._cleaned_at = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._cleaned_at < self.CLEAN_INTERVAL_S:
            return
        self._cleaned_at = now
        super()._clean_expired()

    def _queue(self, channel: str) -> asyncio.Queue:
        queue = self.channels.get(channel)
        if queue is None:  # (Channels builds a throwaway queue on every call)
            queue = self.channels[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
        return queue

    async def send(self, channel: str, message: dict) -> None:
        assert isinstance(message, dict), "message is not a dict"  # noqa: S101 - Channels' own contract
        assert "__asgi_channel__" not in message  # noqa: S101
        self.require_valid_channel_name(channel)
        try:
            self._queue(channel).put_nowait((time.time() + self.expiry, deepcopy(message)))
        except asyncio.QueueFull:
            raise ChannelFull(channel) from None

    async def receive(self, channel: str) -> dict:
        self.require_valid_channel_name(channel)
        self._clean_expired()
        queue = self._queue(channel)
        try:
            _, message = await queue.get()
        finally:
            if queue.empty():
                self.channels.pop(channel, None)
        return message

    async def group_send(self, group: str, message: dict) -> None:
        assert isinstance(message, dict), "Message is not a dict"  # noqa: S101 - Channels' own contract
        self.require_valid_group_name(group)
        self._clean_expired()
        for channel in list(self.groups.get(group, ())):
            try:
                await self.send(channel, message)  # no await inside: one queue put each
            except ChannelFull:
                pass
