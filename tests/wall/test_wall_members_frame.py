"""Staff's changes to responders reach the open walls as a `members` frame (wall/member_frames.py):
a shift added in the admin, a member's details, a member made inactive or moved to another
sub-district — the rows exactly as the snapshot has them, once per member and transaction, only
after the commit; from a worker process through PostgreSQL too (the registered builder)."""

import asyncio
import json
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config import live
from config.renderers import dumps
from config.roles import UserRole
from dispatch.models import DutyShift, Member
from tests.factories import add_member, make_user, make_world
from tests.wall.test_wall_relay import next_of_type, run_worker
from tests.wall.test_wall_socket import (  # noqa: F401 - _fresh_channel_layer: autouse, empties the layer
    TIMEOUT,
    _fresh_channel_layer,
    socket,
)
from wall import relay
from wall.member_frames import LIVE_KIND
from wall.selectors import wall_state, wall_subdistrict


def snapshot_member(code: str, member_id: int) -> dict | None:
    """The member's row in the wall snapshot of `code`, as the page receives it (JSON), or None."""
    state = json.loads(dumps(wall_state(subdistrict=wall_subdistrict(code=code))))
    return next((row for row in state["members"] if row["id"] == member_id), None)


def shift_from_now(member: Member, hours: float = 1, length: float = 2) -> DutyShift:
    starts = timezone.now().replace(microsecond=0) + timedelta(hours=hours)
    return DutyShift.objects.create(member=member, starts_at=starts, ends_at=starts + timedelta(hours=length))


def watch(path: str, change, *, frames: int = 1):
    """Connects a command room's wall socket to `path`, runs `change()` in a database thread, and
    returns the `members` frames received (then none more within a moment)."""
    user = User.objects.filter(username="command").first() or make_user("command", UserRole.COMMAND_ROOM)
    communicator = socket(path + "?last_event=0", user)

    async def scenario():
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        await next_of_type(communicator, "caught_up", timeout=TIMEOUT)  # joined: the socket is accepted first
        await database_sync_to_async(change)()
        received = [await next_of_type(communicator, "members", timeout=TIMEOUT) for _ in range(frames)]
        assert await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()
        return received

    return async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_a_shift_added_in_the_admin_reaches_the_wall_as_the_snapshots_row():
    world = make_world()
    member = world["member"]
    admin = make_user("admin", UserRole.COMMAND_ROOM)
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client = Client()
    client.force_login(admin)
    starts = timezone.localtime().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    ends = starts + timedelta(hours=3)

    def add_in_admin():
        answer = client.post(reverse("admin:dispatch_dutyshift_add"), {
            "member": member.pk, "starts_at_0": f"{starts:%Y-%m-%d}", "starts_at_1": f"{starts:%H:%M:%S}",
            "ends_at_0": f"{ends:%Y-%m-%d}", "ends_at_1": f"{ends:%H:%M:%S}", "post": ""})
        assert answer.status_code == 302, answer.content.decode()[:2000]

    [frame] = watch("/ws/wall/T1/", add_in_admin)
    assert frame["subdistrict"] == "T1" and frame["removed"] == []
    [row] = frame["members"]
    assert row == snapshot_member("T1", member.pk)
    assert row["status"] == "off_duty" and len(row["shifts"]) == 1
    assert row["shifts"][0]["starts_at"].startswith(starts.strftime("%Y-%m-%dT%H:00:00"))


@pytest.mark.django_db(transaction=True)
def test_a_member_and_its_shifts_saved_together_make_one_frame_after_the_commit():
    world = make_world()
    member = world["member"]

    def edit():
        with transaction.atomic():
            member.name = "张伟伟"
            member.save()
            shift_from_now(member, hours=1)
            shift_from_now(member, hours=4)

    [frame] = watch("/ws/wall/T1/", edit)
    [row] = frame["members"]
    assert row["name"] == "张伟伟" and len(row["shifts"]) == 2
    assert row == snapshot_member("T1", member.pk)


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_is_not_published_not_even_with_the_next_commit():
    world = make_world()
    other = add_member(world, "T1-M2", "李娜")

    def rolled_back():
        with pytest.raises(RuntimeError), transaction.atomic():
            shift_from_now(world["member"])
            raise RuntimeError

    with pytest.raises(asyncio.TimeoutError):
        watch("/ws/wall/T1/", rolled_back)

    def rolled_back_then_another():
        rolled_back()
        with transaction.atomic():
            shift_from_now(other)

    [frame] = watch("/ws/wall/T1/", rolled_back_then_another)
    assert [m["id"] for m in frame["members"]] == [other.pk]


@pytest.mark.django_db(transaction=True)
def test_a_member_made_inactive_or_deleted_leaves_the_wall():
    world = make_world()
    member = world["member"]

    def inactive():
        member.active = False
        member.save()

    [frame] = watch("/ws/wall/T1/", inactive)
    assert (frame["subdistrict"], frame["members"], frame["removed"]) == ("T1", [], [member.pk])
    pk = member.pk
    [frame] = watch("/ws/wall/T1/", member.delete)
    assert (frame["subdistrict"], frame["members"], frame["removed"]) == (None, [], [pk])


@pytest.mark.django_db(transaction=True)
def test_a_member_moved_to_another_subdistrict_is_told_to_both_walls():
    world, other = make_world("T1"), make_world("T2")
    member = world["member"]

    def move():
        member.subdistrict, member.unit = other["subdistrict"], other["unit"]
        member.save()

    # The wall it left hears of it (and takes the member off: the frame is of T2), as does T2's.
    [left] = watch("/ws/wall/T1/", move)
    assert left["subdistrict"] == "T2" and [m["id"] for m in left["members"]] == [member.pk]
    assert left["members"][0] == snapshot_member("T2", member.pk)
    assert snapshot_member("T1", member.pk) is None

    def back():
        member.subdistrict, member.unit = world["subdistrict"], world["unit"]
        member.save()

    [arrived] = watch("/ws/wall/T1/", back)
    assert arrived["subdistrict"] == "T1" and arrived["members"][0] == snapshot_member("T1", member.pk)


SHIFT = """
from datetime import timedelta
from django.utils import timezone
from dispatch.models import DutyShift
starts = timezone.now().replace(microsecond=0) + timedelta(hours=1)
DutyShift.objects.create(member_id={member}, starts_at=starts, ends_at=starts + timedelta(hours=2))
"""


@pytest.mark.django_db(transaction=True)
def test_a_shift_added_by_a_worker_process_reaches_the_wall_through_postgresql():
    """Without Redis a worker publishes the member's id; the server builds the frame with the
    builder the wall app registered (config.live.register), the same as in process."""
    world = make_world()
    member = world["member"]
    communicator = socket("/ws/wall/T1/", make_user("command", UserRole.COMMAND_ROOM))

    async def scenario():
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        await relay.wait_listening()
        await asyncio.get_running_loop().run_in_executor(None, run_worker, SHIFT.format(member=member.pk))
        frame = await next_of_type(communicator, "members")
        await communicator.disconnect()
        return frame

    frame = async_to_sync(scenario)()
    [row] = frame["members"]
    assert row == snapshot_member("T1", member.pk) and len(row["shifts"]) == 1
    [message] = live.build_messages(LIVE_KIND, [member.pk])
    assert message["type"] == "members.changed"
