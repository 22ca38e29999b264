"""No silent loss on the live pipeline, without Redis: the bookkeeping of a group's sequence numbers
(config/live_gaps.py), the in-memory layer's numbering, the process's hub of a group
(config/live_hub.py: one membership for its sockets; a message the layer dropped seen as a jump or
at the tail by the periodic check; the layer restarted empty), and a wall socket whose handler is
stuck while more messages than its inbox holds come: it says `resync` once it has sent what it kept.
The same over a real channels-redis: tests/config/test_channels_redis_loss.py."""

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from config import live, live_hub
from config.channel_layers import InMemoryChannelLayer
from config.live_gaps import MAX_MISSING, Gaps
from config.roles import UserRole
from incidents.models import IncidentEvent
from tests.factories import make_user, make_world, run_async
from tests.wall.test_wall_socket import socket
from wall.consumers import WallConsumer

TIMEOUT = 5


# --- the bookkeeping ------------------------------------------------------------------------------

def test_consecutive_numbers_leave_nothing_missing():
    gaps = Gaps(3)
    assert [gaps.see(seq) for seq in (4, 5, 6)] == [False, False, False]
    assert gaps.missing == set() and not gaps.outstanding(6) and not gaps.check(6)


def test_a_jump_is_not_a_loss_until_a_check_behind_it_finds_the_numbers_still_missing():
    gaps = Gaps(0)
    assert gaps.see(3) is False  # 1 and 2 may still come (another publisher's, a moment later)
    assert gaps.missing == {1, 2} and gaps.outstanding(3)
    assert gaps.see(1) is False  # late, not lost
    assert gaps.check(3) is True  # 2 never came
    assert gaps.missing == set() and not gaps.check(3)  # told once


def test_numbers_out_of_order_before_the_check_are_no_loss():
    gaps = Gaps(10)
    for seq in (12, 14, 11, 13):
        assert gaps.see(seq) is False
    assert gaps.missing == set() and gaps.check(14) is False


def test_a_loss_at_the_tail_shows_only_against_the_groups_counter():
    gaps = Gaps(0)
    gaps.see(1)
    assert gaps.outstanding(4) and gaps.check(4) is True  # 2-4 were sent, never came
    assert gaps.last == 4 and gaps.check(4) is False


def test_a_check_only_counts_numbers_up_to_its_own():
    gaps = Gaps(0)
    gaps.see(5)  # 1-4 missing
    assert gaps.check(0) is False
    gaps.see(1), gaps.see(2), gaps.see(3), gaps.see(4)
    gaps.see(9)  # 6-8 missing, sent after the check's count of 5
    assert gaps.check(5) is False and gaps.missing == {6, 7, 8}


def test_a_wide_jump_or_a_counter_started_again_is_a_loss_at_once():
    gaps = Gaps(0)
    assert gaps.see(MAX_MISSING + 2) is True and gaps.missing == set()
    assert gaps.see(1) is True  # Redis restarted empty
    assert gaps.see(2) is False


def test_a_counter_read_behind_the_last_number_seen_is_a_restart_and_the_new_baseline():
    gaps = Gaps(5)
    assert gaps.restarted(5) is False and gaps.restarted(9) is False
    assert gaps.restarted(0) is True  # Redis restarted empty
    assert gaps.see(1) is False  # counting again from the new baseline
    assert Gaps(None).restarted(0) is False


def test_a_number_from_before_the_baseline_is_no_loss_and_no_baseline_takes_the_first():
    gaps = Gaps(7)
    assert gaps.see(6) is False and gaps.last == 7  # numbered before the socket joined, sent after
    fresh = Gaps(None)
    assert fresh.see(40) is False and fresh.last == 40 and fresh.missing == set()


def test_the_in_memory_layer_numbers_each_groups_messages():
    async def scenario():
        layer = InMemoryChannelLayer()
        await layer.group_add("wall.T1", "specific.a!1")
        await layer.group_add("wall.T2", "specific.a!2")
        for group in ("wall.T1", "wall.T1", "wall.T2"):
            await layer.group_send(group, {"type": "positions.batch", "text": "{}"})
        t1 = [(await layer.receive("specific.a!1"))["seq"] for _ in range(2)]
        t2 = (await layer.receive("specific.a!2"))["seq"]
        return t1, t2, await layer.group_seq("wall.T1"), await layer.group_seq("wall.T9")

    assert run_async(scenario) == ([1, 2], 1, 2, 0)


# --- the process's hub and its sockets, on the in-memory layer ---------------------------------------

@pytest.fixture
def small_layer(settings, monkeypatch):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "config.channel_layers.InMemoryChannelLayer",
                                           "CONFIG": {"capacity": 3}}}
    monkeypatch.setattr(live_hub, "GAP_GRACE_S", 0.1)
    yield
    run_async(get_channel_layer().flush)


def stuck_positions(monkeypatch) -> dict:
    """WallConsumer.positions_batch held at its first message until `gate["release"]` is set."""
    gate: dict = {"held": None, "release": None}
    original = WallConsumer.positions_batch

    async def positions_batch(self, message):
        if gate["held"] is None:
            gate["held"] = asyncio.Event()
            gate["release"] = asyncio.Event()
            gate["held"].set()
            await gate["release"].wait()
        await original(self, message)

    monkeypatch.setattr(WallConsumer, "positions_batch", positions_batch)
    return gate


async def joined(communicator) -> None:
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    assert (await communicator.receive_json_from(timeout=TIMEOUT))["type"] == "caught_up"  # joined


async def publish(n: int) -> None:
    await get_channel_layer().group_send(live.subdistrict_group("T1"), live.positions_message([{"member": n}]))


async def frames_until_resync(communicator) -> tuple[list[int], dict]:
    received = []
    while True:
        frame = await communicator.receive_json_from(timeout=TIMEOUT)
        if frame["type"] == "resync":
            return received, frame
        received.append(frame["positions"][0]["member"])


def newest_event() -> int:
    newest = IncidentEvent.objects.filter(subdistrict__code="T1").order_by("-pk").values_list("pk", flat=True).first()
    return newest or 0


@pytest.mark.django_db(transaction=True)
def test_a_stuck_wall_socket_keeps_what_its_inbox_holds_then_says_resync_once(small_layer, monkeypatch):
    make_world()
    gate = stuck_positions(monkeypatch)
    communicator = socket("/ws/wall/T1/?last_event=0", make_user("dispatcher", UserRole.DISPATCHER))

    async def scenario():
        await joined(communicator)
        await publish(0)
        async with asyncio.timeout(TIMEOUT):
            while gate["held"] is None:
                await asyncio.sleep(0.01)
        for n in range(1, 10):  # 0 held, 1-3 in the inbox (the layer's capacity), 4-9 dropped
            await publish(n)
            await asyncio.sleep(0.01)  # the hub takes each (its own channel holds 3 too)
        gate["release"].set()
        received, resync = await frames_until_resync(communicator)
        assert await communicator.receive_nothing(timeout=0.5)  # told once
        await publish(10)  # and the socket goes on
        after = json.loads((await communicator.receive_output(timeout=TIMEOUT))["text"])
        await communicator.disconnect()
        return received, resync, after["positions"][0]["member"]

    received, resync, after = async_to_sync(scenario)()
    assert received == [0, 1, 2, 3]
    assert resync == {"type": "resync", "last_event": newest_event()}
    assert after == 10


@pytest.mark.django_db(transaction=True)
def test_two_sockets_of_a_process_share_one_membership_and_the_last_out_leaves_the_group(small_layer):
    make_world()
    user = make_user("dispatcher", UserRole.DISPATCHER)
    first, second = socket("/ws/wall/T1/?last_event=0", user), socket("/ws/wall/T1/?last_event=0", user)

    async def scenario():
        layer = get_channel_layer()
        group = live.subdistrict_group("T1")
        await joined(first)
        await joined(second)
        members = list(layer.groups[group])
        await publish(1)
        got = [json.loads((await c.receive_output(timeout=TIMEOUT))["text"])["positions"] for c in (first, second)]
        await first.disconnect()
        still = list(layer.groups.get(group, ()))
        await second.disconnect()
        return members, got, still, list(layer.groups.get(group, ()))

    members, got, still, after = async_to_sync(scenario)()
    assert len(members) == 1 and members[0].startswith("hub")  # one channel for both sockets
    assert got == [[{"member": 1}], [{"member": 1}]]
    assert still == members
    assert after == []


def lose_number(layer: InMemoryChannelLayer) -> None:
    """A message the layer took a number for and never delivered (as channels-redis drops one)."""
    group = live.subdistrict_group("T1")
    layer._seqs[group] = layer._seqs.get(group, 0) + 1


@pytest.mark.django_db(transaction=True)
def test_a_message_the_layer_dropped_is_seen_at_the_next_one_and_every_socket_resyncs(small_layer, monkeypatch):
    monkeypatch.setattr(live_hub, "GAP_CHECK_INTERVAL_S", 600)  # the jump alone shows it
    make_world()
    user = make_user("dispatcher", UserRole.DISPATCHER)
    sockets = [socket("/ws/wall/T1/?last_event=0", user), socket("/ws/wall/T1/?last_event=0", user)]

    async def scenario():
        for communicator in sockets:
            await joined(communicator)
        await publish(1)
        lose_number(get_channel_layer())
        await publish(3)
        told = [await frames_until_resync(communicator) for communicator in sockets]
        for communicator in sockets:
            assert await communicator.receive_nothing(timeout=0.3)
            await communicator.disconnect()
        return told

    for received, resync in async_to_sync(scenario)():
        assert received == [1, 3]
        assert resync["type"] == "resync"


@pytest.mark.django_db(transaction=True)
def test_a_loss_at_the_tail_is_found_by_the_periodic_check(small_layer, monkeypatch):
    monkeypatch.setattr(live_hub, "GAP_CHECK_INTERVAL_S", 0.2)
    make_world()
    communicator = socket("/ws/wall/T1/?last_event=0", make_user("dispatcher", UserRole.DISPATCHER))

    async def scenario():
        await joined(communicator)
        await publish(1)
        lose_number(get_channel_layer())  # and nothing after it
        told = await frames_until_resync(communicator)
        await communicator.disconnect()
        return told

    received, resync = async_to_sync(scenario)()
    assert received == [1]
    assert resync["type"] == "resync"


@pytest.mark.django_db(transaction=True)
def test_after_the_layer_restarted_empty_the_hub_joins_again_and_its_sockets_resync(small_layer, monkeypatch):
    monkeypatch.setattr(live_hub, "GAP_CHECK_INTERVAL_S", 0.2)
    make_world()
    communicator = socket("/ws/wall/T1/?last_event=0", make_user("dispatcher", UserRole.DISPATCHER))

    async def scenario():
        await joined(communicator)
        await publish(1)
        await publish(2)
        first = [json.loads((await communicator.receive_output(timeout=TIMEOUT))["text"]) for _ in range(2)]
        layer = get_channel_layer()
        layer.groups.clear()  # Redis restarted empty: no members, the counters gone
        layer._seqs.clear()
        _, resync = await frames_until_resync(communicator)
        await publish(3)  # the membership is back
        after = json.loads((await communicator.receive_output(timeout=TIMEOUT))["text"])
        await communicator.disconnect()
        return first, resync, after

    first, resync, after = async_to_sync(scenario)()
    assert [frame["positions"][0]["member"] for frame in first] == [1, 2]
    assert resync["type"] == "resync"
    assert after["positions"] == [{"member": 3}]


@pytest.mark.django_db(transaction=True)
def test_a_socket_that_keeps_up_is_never_told_to_resync(small_layer, monkeypatch):
    monkeypatch.setattr(live_hub, "GAP_CHECK_INTERVAL_S", 0.1)
    make_world()
    communicator = socket("/ws/wall/T1/?last_event=0", make_user("dispatcher", UserRole.DISPATCHER))

    async def scenario():
        await joined(communicator)
        frames = []
        for n in range(10):
            await publish(n)
            frames.append(json.loads((await communicator.receive_output(timeout=TIMEOUT))["text"]))
        assert await communicator.receive_nothing(timeout=0.6)  # several periodic checks: all seen
        await communicator.disconnect()
        return [frame["positions"][0]["member"] for frame in frames]

    assert async_to_sync(scenario)() == list(range(10))


def hubs_of_this_loop() -> dict:
    return live_hub._hubs.get(asyncio.get_running_loop(), {})


@pytest.mark.django_db(transaction=True)
def test_a_consumer_that_failed_after_joining_leaves_its_hub_and_the_group(small_layer, monkeypatch):
    make_world()

    async def failing_resume(self, last_event):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(WallConsumer, "_resume", failing_resume)
    communicator = socket("/ws/wall/T1/?last_event=0", make_user("dispatcher", UserRole.DISPATCHER))

    async def scenario():
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        with pytest.raises(RuntimeError):
            await communicator.wait(timeout=TIMEOUT)  # the consumer's failure, no websocket.disconnect
        return dict(hubs_of_this_loop()), list(get_channel_layer().groups.get(live.subdistrict_group("T1"), ()))

    hubs, members = async_to_sync(scenario)()
    assert hubs == {} and members == []


@pytest.mark.django_db(transaction=True)
def test_a_message_that_cannot_be_delivered_closes_the_socket_for_the_client_to_resume(small_layer, monkeypatch):
    make_world()

    async def failing(self, message):
        raise RuntimeError("a handler's database read failed")

    monkeypatch.setattr(WallConsumer, "positions_batch", failing)
    communicator = socket("/ws/wall/T1/?last_event=0", make_user("dispatcher", UserRole.DISPATCHER))

    async def scenario():
        await joined(communicator)
        await publish(1)
        closed = await communicator.receive_output(timeout=TIMEOUT)
        await communicator.wait(timeout=TIMEOUT)
        return closed

    assert async_to_sync(scenario)() == {"type": "websocket.close", "code": 1011}
