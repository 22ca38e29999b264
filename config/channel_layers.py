"""The channel layer of a single server process (no REDIS_URL): Channels' in-memory layer, made to
scale with the number of open sockets.

Channels' `InMemoryChannelLayer` sweeps every queue of every channel for expired messages on each
`receive` and `group_send`: with a thousand wall maps open, one event delivered to each costs a
million queue checks (the largest item in a profile of the fan-out, a quarter of the server's time;
tests/bench/bench_wall.py --profile). Here the sweep runs at most once per CLEAN_INTERVAL_S — expiry
is 60 s, so a message may outlive it by that interval at most — and `group_send` puts the message
on each member's queue directly instead of through a task per member. Delivery is unchanged: each
member gets its own copy, a full queue drops the message for that member only (as Channels does).

Both layers here (this one, and channels-redis's with REDIS_URL: `RedisChannelLayer`) number the
messages of each group at `group_send`: the message goes out with `seq`, one more than the group's
last, so that a socket sees a message its layer dropped (config/live_gaps.py). In memory the counter
is the process's (exact: one process holds every socket of its layer); with channels-redis it is a
Redis key per group (`INCR`, one round trip, shared by every process that publishes).
"""

import asyncio
import time
from copy import deepcopy

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer
from channels_redis.core import RedisChannelLayer as ChannelsRedisChannelLayer

from config.live_gaps import SEQ


class InMemoryChannelLayer(ChannelsInMemoryChannelLayer):
    CLEAN_INTERVAL_S = 1.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._cleaned_at = 0.0
        self._seqs: dict[str, int] = {}

    async def group_seq(self, group: str) -> int:
        """The number of the group's last message (0: none yet)."""
        return self._seqs.get(group, 0)

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
        seq = self._seqs[group] = self._seqs.get(group, 0) + 1
        message = {**message, SEQ: seq}
        for channel in list(self.groups.get(group, ())):
            try:
                await self.send(channel, message)  # no await inside: one queue put each
            except ChannelFull:
                pass


class RedisChannelLayer(ChannelsRedisChannelLayer):
    """channels-redis, its group messages numbered by a counter per group in Redis (on the group's
    own connection: the same shard as its members). A counter expires SEQ_EXPIRY_S after the group's
    last message (set in the same round trip as the INCR): a member who left, a sub-district gone,
    leave nothing behind. A group silent that long starts again at 1, which a socket open all that
    time takes for a restart of Redis: one needless resync a week at most."""

    SEQ_EXPIRY_S = 7 * 86400

    def _seq_key(self, group: str) -> str:
        return f"{self.prefix}:seq:{group}"

    async def group_seq(self, group: str) -> int:
        """The number of the group's last message (0: none yet)."""
        value = await self.connection(self.consistent_hash(group)).get(self._seq_key(group))
        return int(value or 0)

    async def group_send(self, group: str, message: dict) -> None:
        assert self.require_valid_group_name(group), "Group name not valid"  # noqa: S101 - Channels' own contract
        key = self._seq_key(group)
        async with self.connection(self.consistent_hash(group)).pipeline(transaction=True) as pipe:
            seq, _ = await pipe.incr(key).expire(key, self.SEQ_EXPIRY_S).execute()
        await super().group_send(group, {**message, SEQ: seq})
