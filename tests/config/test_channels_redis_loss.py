"""No silent loss on channels-redis (a real `redis-server`, as in tests/config/test_channels_redis.py):
a socket whose consumer is stuck while more messages than the layer's `capacity` are sent to its group
loses some — channels-redis drops them at `group_send` and only logs it — and afterwards the socket
says `resync`; the wall's resume then gives the events it missed, the phone reconnects after its last
message. The sockets run in this process on a layer of capacity 5 (config.channel_layers.RedisChannelLayer,
as settings make it with REDIS_URL)."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.contrib.gis.geos import Point

from config import live, live_hub
from config.channel_layers import RedisChannelLayer
from config.roles import UserRole
from dispatch.consumers import MemberConsumer
from incidents.models import IncidentEvent
from incidents.services import incident_intake
from tests.config.test_channels_redis import _redis_server_installed, redis_url  # noqa: F401 - fixtures
from tests.factories import make_channels, make_user, make_world
from tests.wall.test_wall_socket import socket
from wall.consumers import WallConsumer

TIMEOUT = 10
CAPACITY = 5
P = Point(120.495, 30.495, srid=4326)  # inside make_world's west grid


@pytest.fixture
def small_redis_layer(redis_url, settings, monkeypatch):  # noqa: F811 - the imported fixture
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "config.channel_layers.RedisChannelLayer",
                                           "CONFIG": {"hosts": [{"address": redis_url, "socket_timeout": 30}],
                                                      "capacity": CAPACITY}}}
    monkeypatch.setattr(live_hub, "GAP_GRACE_S", 0.2)
    monkeypatch.setattr(live_hub, "GAP_CHECK_INTERVAL_S", 0.5)


def hold_first(monkeypatch, consumer, handler: str) -> dict:
    """`consumer.handler` stuck at its first message until `gate["release"]` is set."""
    gate: dict = {"held": None, "release": None}
    original = getattr(consumer, handler)

    async def held(self, message):
        if gate["held"] is None:
            gate["held"], gate["release"] = asyncio.Event(), asyncio.Event()
            gate["held"].set()
            await gate["release"].wait()
        await original(self, message)

    monkeypatch.setattr(consumer, handler, held)
    return gate


async def until(communicator, kind: str) -> tuple[list[dict], dict]:
    before = []
    while True:
        frame = await communicator.receive_json_from(timeout=TIMEOUT)
        if frame["type"] == kind:
            return before, frame
        before.append(frame)


async def wait_held(gate) -> None:
    async with asyncio.timeout(TIMEOUT):
        while gate["held"] is None:
            await asyncio.sleep(0.01)


@pytest.mark.django_db(transaction=True)
def test_a_stuck_wall_socket_is_told_to_resync_and_its_resume_gives_the_missed_events(small_redis_layer,
                                                                                        monkeypatch):
    world, channels = make_world(), make_channels()
    calltaker = make_user("calltaker", UserRole.CALL_TAKER)
    gate = hold_first(monkeypatch, WallConsumer, "incident_event")
    communicator = socket("/ws/wall/T1/?last_event=0", make_user("dispatcher", UserRole.DISPATCHER))

    def intake(n: int) -> None:
        incident_intake(channel=channels["hotline"], category=world["category"], description=f"第{n}起",
                        actor=calltaker, location=P)

    async def scenario():
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        assert (await communicator.receive_json_from(timeout=TIMEOUT))["type"] == "caught_up"
        await database_sync_to_async(intake)(0)
        await wait_held(gate)
        for n in range(1, 3 * CAPACITY):  # published while the socket is stuck: more than its channel holds
            await database_sync_to_async(intake)(n)
        gate["release"].set()
        live_frames, resync = await until(communicator, "resync")
        seen = [frame["event"]["id"] for frame in live_frames]
        await communicator.send_json_to({"type": "resume", "last_event": max(seen)})
        replayed, caught_up = await until(communicator, "caught_up")
        await communicator.disconnect()
        await get_channel_layer().flush()
        return seen, resync, [frame["event"]["id"] for frame in replayed], caught_up

    seen, resync, replayed, caught_up = async_to_sync(scenario)()
    events = list(IncidentEvent.objects.filter(subdistrict__code="T1").order_by("pk").values_list("pk", flat=True))
    assert len(seen) <= CAPACITY + 1 < len(events)  # some were dropped by channels-redis ...
    assert seen == events[:len(seen)]
    assert resync == {"type": "resync", "last_event": events[-1]}  # ... and the socket said so
    # the resume gives every one it missed (a live copy still on its way may come among them)
    assert sorted(set(replayed)) == events[len(seen):]
    assert caught_up["last_event"] == events[-1]


@pytest.mark.django_db(transaction=True)
def test_a_stuck_member_socket_is_told_to_resync_after_its_last_message(small_redis_layer, monkeypatch):
    world = make_world()
    responder = make_user("resp", UserRole.RESPONDER, member=world["member"])
    gate = hold_first(monkeypatch, MemberConsumer, "member_message")
    communicator = socket("/ws/member/", responder)
    group = live.member_group(world["member"].pk)

    def message(message_id: int) -> dict:
        return live.channel_message("member.message", {"type": "message", "message": {"id": message_id}},
                                    id=message_id)

    async def scenario():
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        await until(communicator, "caught_up")
        layer = get_channel_layer()
        await layer.group_send(group, message(1000))
        await wait_held(gate)
        for message_id in range(1001, 1000 + 3 * CAPACITY):
            await layer.group_send(group, message(message_id))
        gate["release"].set()
        frames, resync = await until(communicator, "resync")
        later = []  # a message that was still on its way may follow; another resync may not
        while not await communicator.receive_nothing(timeout=1.5):
            later.append(await communicator.receive_json_from(timeout=TIMEOUT))
        assert [frame["type"] for frame in later if frame["type"] != "message"] == []  # told once
        await communicator.disconnect()
        await layer.flush()
        return [frame["message"]["id"] for frame in frames], resync

    seen, resync = async_to_sync(scenario)()
    assert len(seen) <= CAPACITY + 1 < 3 * CAPACITY
    assert seen == list(range(1000, 1000 + len(seen)))
    assert resync == {"type": "resync", "last_message": seen[-1]}


@pytest.mark.django_db(transaction=True)
def test_a_groups_counter_expires_and_after_redis_restarted_empty_the_wall_resyncs_and_receives_again(
        small_redis_layer):
    make_world()
    communicator = socket("/ws/wall/T1/?last_event=0", make_user("dispatcher", UserRole.DISPATCHER))
    group = live.subdistrict_group("T1")

    async def scenario():
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        await until(communicator, "caught_up")
        layer = get_channel_layer()
        await layer.group_send(group, live.positions_message([{"member": 1}]))
        first = await communicator.receive_json_from(timeout=TIMEOUT)
        redis = layer.connection(layer.consistent_hash(group))
        ttl = await redis.ttl(layer._seq_key(group))
        await redis.flushall()  # Redis restarted empty: the group's members and counter are gone
        _, resync = await until(communicator, "resync")
        await layer.group_send(group, live.positions_message([{"member": 2}]))  # the hub joined again
        after = await communicator.receive_json_from(timeout=TIMEOUT)
        await communicator.disconnect()
        await layer.flush()
        return first, ttl, resync, after

    first, ttl, resync, after = async_to_sync(scenario)()
    assert first["positions"] == [{"member": 1}]
    assert 0 < ttl <= RedisChannelLayer.SEQ_EXPIRY_S
    assert resync["type"] == "resync"
    assert after["positions"] == [{"member": 2}]
