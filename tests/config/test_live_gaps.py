"""No silent loss on the live pipeline, without Redis: the bookkeeping of a socket's sequence numbers
(config/live_gaps.py), the in-memory layer's numbering, and a wall socket whose handler is stuck while
more messages than its queue holds are sent to its group: it says `resync` afterwards, whether the
loss shows as a jump (a later message) or only at the tail (the periodic check).
The same over a real channels-redis: tests/config/test_channels_redis_loss.py."""

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from config import live
from config.channel_layers import InMemoryChannelLayer
from config.live_gaps import MAX_MISSING, Gaps
from config.roles import UserRole
from config.ws_frames import GroupSocket
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


# --- a wall socket that falls behind, on the in-memory layer -----------------------------------------

@pytest.fixture
def small_layer(settings, monkeypatch):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "config.channel_layers.InMemoryChannelLayer",
                                           "CONFIG": {"capacity": 3}}}
    monkeypatch.setattr(GroupSocket, "GAP_GRACE_S", 0.1)
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


async def overflow(communicator, gate, count: int) -> None:
    """Connect, send `count` positions batches (numbered by `member`) while the socket is stuck."""
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    assert (await communicator.receive_json_from(timeout=TIMEOUT))["type"] == "caught_up"  # joined
    layer = get_channel_layer()
    await layer.group_send(live.subdistrict_group("T1"), live.positions_message([{"member": 0}]))
    async with asyncio.timeout(TIMEOUT):
        while gate["held"] is None:
            await asyncio.sleep(0.01)
    for n in range(1, count):
        await layer.group_send(live.subdistrict_group("T1"), live.positions_message([{"member": n}]))
    gate["release"].set()


async def frames_until_resync(communicator) -> tuple[list[int], dict]:
    received = []
    while True:
        frame = await communicator.receive_json_from(timeout=TIMEOUT)
        if frame["type"] == "resync":
            return received, frame
        received.append(frame["positions"][0]["member"])


@pytest.mark.django_db(transaction=True)
def test_a_stuck_wall_socket_that_lost_messages_says_resync_at_the_next_message(small_layer, monkeypatch):
    monkeypatch.setattr(GroupSocket, "GAP_CHECK_INTERVAL_S", 600)  # the jump alone shows it
    make_world()
    gate = stuck_positions(monkeypatch)
    communicator = socket("/ws/wall/T1/?last_event=0", make_user("dispatcher", UserRole.DISPATCHER))

    async def scenario():
        await overflow(communicator, gate, 10)  # 0 held, 1-3 queued, 4-9 dropped
        received = [(await communicator.receive_json_from(timeout=TIMEOUT))["positions"][0]["member"]
                    for _ in range(4)]
        assert await communicator.receive_nothing(timeout=0.5)  # a loss at the tail: unseen so far
        await get_channel_layer().group_send(live.subdistrict_group("T1"), live.positions_message([{"member": 10}]))
        after, resync = await frames_until_resync(communicator)
        assert await communicator.receive_nothing(timeout=0.5)  # told once
        await communicator.disconnect()
        return received + after, resync

    received, resync = async_to_sync(scenario)()
    assert received == [0, 1, 2, 3, 10]
    newest = IncidentEvent.objects.filter(subdistrict__code="T1").order_by("-pk").values_list("pk", flat=True).first()
    assert resync == {"type": "resync", "last_event": newest or 0}


@pytest.mark.django_db(transaction=True)
def test_a_loss_at_the_tail_is_found_by_the_periodic_check(small_layer, monkeypatch):
    monkeypatch.setattr(GroupSocket, "GAP_CHECK_INTERVAL_S", 0.2)
    make_world()
    gate = stuck_positions(monkeypatch)
    communicator = socket("/ws/wall/T1/?last_event=0", make_user("dispatcher", UserRole.DISPATCHER))

    async def scenario():
        await overflow(communicator, gate, 10)
        received, resync = await frames_until_resync(communicator)
        await communicator.disconnect()
        return received, resync

    received, resync = async_to_sync(scenario)()
    assert received == [0, 1, 2, 3]
    assert resync["type"] == "resync"


@pytest.mark.django_db(transaction=True)
def test_a_socket_that_keeps_up_is_never_told_to_resync(small_layer, monkeypatch):
    monkeypatch.setattr(GroupSocket, "GAP_CHECK_INTERVAL_S", 0.1)
    make_world()
    communicator = socket("/ws/wall/T1/?last_event=0", make_user("dispatcher", UserRole.DISPATCHER))

    async def scenario():
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        assert (await communicator.receive_json_from(timeout=TIMEOUT))["type"] == "caught_up"
        layer = get_channel_layer()
        frames = []
        for n in range(10):
            await layer.group_send(live.subdistrict_group("T1"), live.positions_message([{"member": n}]))
            frames.append(json.loads((await communicator.receive_output(timeout=TIMEOUT))["text"]))
        assert await communicator.receive_nothing(timeout=0.6)  # several periodic checks: all seen
        await communicator.disconnect()
        return [frame["positions"][0]["member"] for frame in frames]

    assert async_to_sync(scenario)() == list(range(10))
