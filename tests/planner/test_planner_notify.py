"""Publishing a grid version tells the members whose grids change (issue 13: planner/notify.py,
dispatch.notify.messages_for_grid_change): one `grid` message each, written in the publication's
transaction, delivered as every member message (in the app at once, outbound after the grace, at
once without an app login, not at all without a phone), published to the member's socket after
commit; and the responders' app API shows the grids a member serves now and from a version that
takes effect later."""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from config.errors import TransitionRefused
from config.roles import UserRole
from dispatch import selectors
from dispatch.models import Member, MemberMessage
from dispatch.notify import GridChange, GridRef, message_build, messages_for_grid_change
from geo.models import BoundaryVersion, Grid
from planner import services
from planner.notify import grid_changes
from tests.dispatch.test_member_app import work
from tests.dispatch.test_member_messages import member_socket, until_caught_up
from tests.factories import make_user
from tests.planner.test_planner_services import draft_of, grid, publish, split
from tests.planner_world import make_planner_world
from tests.wall.test_wall_relay import _fresh_channel_layer, run_worker  # noqa: F401 - the fixture is used
from tests.wall.test_wall_socket import TIMEOUT
from wall import relay

Kind = MemberMessage.Kind
WHO_MOVES = ("nw_west", "nw_east", "nw_leader", "ne", "se")


@pytest.fixture
def world(db):
    return make_planner_world()


def redraw(world) -> BoundaryVersion:
    """A draft that splits NW (NW-2 its west part: the west grid worker goes there, the others stay
    on the redrawn NW) and merges SE into NE; SW is kept as it was — the split only inserted its new
    corner into SW's border."""
    draft = draft_of(world)
    split(world, draft)
    draft.refresh_from_db()
    services.draft_merge(version_id=draft.pk, base_revision=draft.revision, actor=world["planner"],
                         grid_ids=[grid(draft, "NE").pk, grid(draft, "SE").pk])
    return draft


def grid_messages(**filters) -> list[MemberMessage]:
    return list(MemberMessage.objects.filter(kind=Kind.GRID, **filters).select_related("member").order_by("member_id"))


def said(msgid: str, **values) -> str:
    """A sentence of the message in the forces' language (whatever the catalogue holds)."""
    with translation.override(settings.LANGUAGE_CODE):
        return _(msgid) % values if values else _(msgid)


def test_publishing_tells_exactly_the_members_whose_grids_change_once_each(world):
    m = world["members"]
    draft = redraw(world)
    sw_before = Grid.objects.get(version=world["v1"], code="P1-SW").boundary
    when = timezone.now() + timedelta(hours=3)
    version = publish(world, draft, when)
    # The split gave SW a new vertex on its border, not a new shape: the same ground, no message.
    assert Grid.objects.get(version=version, code="P1-SW").boundary.wkb != sw_before.wkb
    messages = grid_messages()
    assert [msg.member_id for msg in messages] == sorted(m[k].pk for k in WHO_MOVES)
    assert {msg.version_id for msg in messages} == {version.pk}
    assert all((msg.incident_id, msg.order_id, msg.alarm_id, msg.step) == (None, None, None, 0) for msg in messages)
    assert not MemberMessage.objects.filter(member=m["sw"]).exists()  # kept unchanged: nothing

    by = {msg.member_id: msg for msg in messages}
    short = timezone.localtime(when).strftime("%m-%d %H:%M")
    long = timezone.localtime(when).strftime("%Y-%m-%d %H:%M")
    takes_effect = said("Grid version %(number)d takes effect at %(time)s.", number=2, time=long)
    # Moved to the new west part of the split.
    west = by[m["nw_west"].pk]
    assert west.title == said("Your grid from %(time)s: %(grids)s", time=short, grids="P1-NW-2 NW网格（2）")
    assert takes_effect in west.body and "P1-NW NW网格" in west.body
    assert "P1-NW-2 NW网格（2）" in west.body and "西社区" in west.body
    assert said("Before: %(grids)s.", grids="P1-NW NW网格") in west.body
    # Kept on NW, which was redrawn; the leader too (no post, the home in the east part).
    for key in ("nw_east", "nw_leader"):
        kept = by[m[key].pk]
        assert kept.title == said("Your grid from %(time)s: %(grids)s", time=short, grids="P1-NW NW网格")
        assert said("Boundary redrawn: %(grids)s.", grids="P1-NW") in kept.body
    # SE merged into NE: its worker now serves NE, in the east village; NE's worker keeps a larger NE.
    east = by[m["se"].pk]
    assert east.title == said("Your grid from %(time)s: %(grids)s", time=short, grids="P1-NE NE网格")
    assert said("Before: %(grids)s.", grids="P1-SE SE网格") in east.body and "东村" in east.body
    assert said("Boundary redrawn: %(grids)s.", grids="P1-NE") in by[m["ne"].pk].body

    # Published once: a second publication is refused, and the constraint is the last word.
    with pytest.raises(TransitionRefused):
        publish(world, draft, when)
    assert len(grid_messages()) == len(WHO_MOVES)
    with transaction.atomic():  # the hook called again skips whoever was told
        assert messages_for_grid_change(version, [GridChange(m["se"], [], [])], at=timezone.now()) == []
    with pytest.raises(IntegrityError), transaction.atomic():
        MemberMessage.objects.create(subdistrict=world["subdistrict"], member=m["se"], kind=Kind.GRID,
                                     version=version, title="x", body="x", created_at=timezone.now(),
                                     deliver_after=timezone.now(), next_attempt_at=timezone.now())


def test_from_now_a_member_newly_placed_and_one_left_with_no_grid_are_told(world):
    m = world["members"]
    newcomer = Member.objects.create(subdistrict=world["subdistrict"], unit=world["unit"], code="P1-M9",
                                     name="新网格员", force="grid_worker", phone="13800000009", travel_mode="ebike",
                                     home=m["sw"].home)
    draft = draft_of(world)
    for member, target in ((newcomer, grid(draft, "SW").pk), (m["se"], None)):
        services.draft_staff_move_set(version_id=draft.pk, member_id=member.pk, draft_grid_id=target,
                                      actor=world["planner"])
    version = publish(world, draft)  # from now
    (dropped, placed) = grid_messages()
    assert (placed.member, dropped.member) == (newcomer, m["se"])
    from_now = said("Grid version %(number)d is in force from now.", number=version.number)
    assert placed.title == said("Your grid from now: %(grids)s", grids="P1-SW SW网格")
    assert from_now in placed.body and said("Before: no grid.") in placed.body
    assert dropped.title == said("No grid for you from now")
    assert said("New: no grid.") in dropped.body and "P1-SE SE网格" in dropped.body
    # Nobody else: the other grids were kept as they were.
    assert len(grid_messages()) == 2


def test_delivery_follows_the_rules_of_every_member_message(world, settings):
    settings.NOTIFY_GRACE_SECONDS = 90
    m = world["members"]
    make_user("nw-east-phone", UserRole.RESPONDER, member=m["nw_east"])  # has the app
    Member.objects.filter(pk=m["ne"].pk).update(active=False)  # nobody to send to
    publish(world, redraw(world))
    by = {msg.member_id: msg for msg in grid_messages()}
    without_app = by[m["nw_west"].pk]
    assert without_app.state == MemberMessage.State.PENDING
    assert without_app.deliver_after == without_app.next_attempt_at == without_app.created_at  # outbound at once
    with_app = by[m["nw_east"].pk]
    assert with_app.state == MemberMessage.State.PENDING
    assert with_app.deliver_after - with_app.created_at == timedelta(seconds=90)
    assert by[m["ne"].pk].state == MemberMessage.State.SKIPPED_OFF
    # A member row always holds a phone (member_phone_format); one without (a blank) would be the app's only.
    nobody = Member(subdistrict=world["subdistrict"], phone=" ", active=True)
    built = message_build(member=nobody, kind=Kind.GRID, title="t", body="b", at=timezone.now())
    assert built.state == MemberMessage.State.SKIPPED_OFF and built.deliver_after == built.created_at


def test_the_changes_are_worked_out_in_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    draft = redraw(world)
    previous = world["v1"]
    moves = services.staff_moves(draft, previous=previous)
    version = publish(world, draft)
    with django_assert_max_num_queries(4):
        changes = grid_changes(version, previous, moves)
    assert sorted(c.member.code for c in changes) == sorted(world["members"][k].code for k in WHO_MOVES)
    west = next(c for c in changes if c.member == world["members"]["nw_west"])
    assert (west.old, west.new, west.redrawn) == (
        [GridRef("P1-NW", "NW网格")], [GridRef("P1-NW-2", "NW网格（2）", "西社区")], [])


# --- the member's socket ------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_the_message_reaches_the_members_socket_after_the_publication_commits():
    world = make_planner_world()
    member = world["members"]["se"]
    responder = make_user("p1-se", UserRole.RESPONDER, member=member)
    draft = redraw(world)
    communicator = member_socket(responder)

    async def scenario():
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        await until_caught_up(communicator)

        @database_sync_to_async
        def publish_and_peek():
            with transaction.atomic():
                publish(world, draft)
                assert MemberMessage.objects.filter(member=member, kind=Kind.GRID).exists()
                assert async_to_sync(communicator.receive_nothing)(timeout=0.2)  # not committed yet

        await publish_and_peek()
        frame = await communicator.receive_json_from(timeout=TIMEOUT)
        await communicator.disconnect()
        return frame

    frame = async_to_sync(scenario)()
    message = MemberMessage.objects.get(member=member)
    assert frame == {"type": "message", "message": {
        "id": message.pk, "kind": "grid", "title": message.title, "body": message.body, "incident": None,
        "order": None, "created_at": message.created_at.isoformat(), "read_at": None}}


PUBLISH = """
from django.contrib.auth.models import User
from django.utils import timezone
from planner.services import grid_version_publish
grid_version_publish(version_id={draft}, base_revision={revision}, effective_from=timezone.now(),
                     actor=User.objects.get(pk={planner}))
"""


@pytest.mark.django_db(transaction=True)
def test_published_from_a_worker_process_the_batch_reaches_the_sockets_through_postgresql():
    """A process without the server's sockets (`manage.py`, no Redis) hands the whole batch to the
    server through PostgreSQL (config.live.publish_many_on_commit: one statement of notifications, ids
    only); the server builds each member's frame from the committed row."""
    world = make_planner_world()
    members = [world["members"]["se"], world["members"]["nw_west"]]
    sockets = [member_socket(make_user(f"p1-{i}", UserRole.RESPONDER, member=m)) for i, m in enumerate(members)]
    draft = redraw(world)
    draft.refresh_from_db()
    code = PUBLISH.format(draft=draft.pk, revision=draft.revision, planner=world["planner"].pk)

    async def scenario():
        for communicator in sockets:
            connected, _ = await communicator.connect(timeout=TIMEOUT)
            assert connected
            await until_caught_up(communicator)
        await relay.wait_listening()
        await asyncio.get_running_loop().run_in_executor(None, run_worker, code)
        frames = [await communicator.receive_json_from(timeout=10) for communicator in sockets]
        for communicator in sockets:
            await communicator.disconnect()
        return frames

    frames = async_to_sync(scenario)()
    for member, frame in zip(members, frames, strict=True):
        message = MemberMessage.objects.get(member=member, kind=Kind.GRID)
        assert frame["message"]["id"] == message.pk and frame["message"]["title"] == message.title


# --- the app shows the member's grids --------------------------------------------------------------

def test_the_work_api_shows_the_grids_now_and_those_of_a_version_to_come(world, monkeypatch):
    m = world["members"]
    responder = make_user("p1-west", UserRole.RESPONDER, member=m["nw_west"])
    assert [(g["code"], g["upcoming"]) for g in work(responder)["member"]["grids"]] == [("P1-NW", False)]
    when = timezone.now() + timedelta(hours=3)
    publish(world, redraw(world), when)
    grids = work(responder)["member"]["grids"]
    assert grids == [
        {"code": "P1-NW", "name": "NW网格", "community": "西社区",
         "effective_from": timezone.localtime(world["v1"].effective_from).isoformat(), "upcoming": False},
        {"code": "P1-NW-2", "name": "NW网格（2）", "community": "西社区",
         "effective_from": timezone.localtime(when).isoformat(), "upcoming": True}]
    # Once version 2 is in force, its grid is the one served now.
    later = timezone.now() + timedelta(hours=4)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert [(g["code"], g["upcoming"]) for g in work(responder)["member"]["grids"]] == [("P1-NW-2", False)]
    assert [g.code for g in selectors.member_grids(member=m["nw_west"], at=later)] == ["P1-NW-2"]


def test_the_grids_are_read_in_one_query(world, django_assert_num_queries):
    publish(world, redraw(world), timezone.now() + timedelta(hours=3))
    member = Member.objects.get(pk=world["members"]["nw_east"].pk)
    with django_assert_num_queries(1):
        grids = selectors.member_grids(member=member)
    assert [(g.code, g.upcoming, g.community.name) for g in grids] == [("P1-NW", False, "西社区"),
                                                                       ("P1-NW", True, "西社区")]
