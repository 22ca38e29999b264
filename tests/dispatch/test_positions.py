"""Responders' positions: POST /api/v1/positions/ (roles, validation, GCJ-02, never back in time),
the ingest service, and the throttled fan-out to the wall map over a real channel layer and the
real ASGI websocket."""

import asyncio
import json
import logging
import threading
import time
from datetime import timedelta
from itertools import pairwise

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.gis.geos import Point
from django.db import OperationalError, connection, transaction
from django.db.models.signals import pre_delete
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config import live
from config.asgi import application
from config.errors import DomainError
from config.live import subdistrict_group as wall_group
from config.roles import UserRole
from dispatch import positions
from dispatch.gcj02 import wgs84_to_gcj02
from dispatch.models import Force, Member, MemberPosition, PositionFix, TravelMode
from dispatch.positions import Fix, positions_ingest
from tests.factories import make_user, make_world

URL = "/api/v1/positions/"
LON, LAT = 120.495, 30.495  # inside make_world's square
TIMEOUT = 3


@pytest.fixture(autouse=True)
def _fresh_fanout():
    positions.fanout.reset()
    yield
    positions.fanout.reset()


def sent(message: dict) -> list[dict]:
    """The positions a channel-layer message carries to the sockets (its encoded frame)."""
    return json.loads(message["text"])["positions"]


def second_member(world, code="M2", name="李娜"):
    return Member.objects.create(
        subdistrict=world["subdistrict"], unit=world["unit"], code=f"{world['subdistrict'].code}-{code}", name=name,
        force=Force.POLICE, phone="13800000002", travel_mode=TravelMode.CAR,
        home=Point(LON, LAT, srid=4326))


def fix(member, *, ago=60.0, lon=LON, lat=LAT, accuracy=8.0, datum="WGS84") -> dict:
    return {"member": member.pk, "at": (timezone.now() - timedelta(seconds=ago)).isoformat(),
            "lon": lon, "lat": lat, "accuracy_m": accuracy, "datum": datum}


def client_for(user, language="en") -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    client.force_authenticate(user)
    return client


def post(client, *items, subdistrict=None):
    url = URL if subdistrict is None else f"{URL}?subdistrict={subdistrict}"
    return client.post(url, {"positions": list(items)}, format="json")


def stored() -> tuple[int, int]:
    return PositionFix.objects.count(), MemberPosition.objects.count()


# --- the API --------------------------------------------------------------------------------------

def test_url_name():
    assert reverse("positions:position-batch") == URL


@pytest.mark.django_db
def test_responder_posts_their_own_positions():
    world = make_world()
    member = world["member"]
    responder = make_user("zhangwei", UserRole.RESPONDER, member=member)
    response = post(client_for(responder), fix(member, ago=120, accuracy=12.5),
                    fix(member, ago=30, lon=LON + 0.001), fix(member, ago=60))
    assert response.status_code == 201, response.content
    assert response.json() == {"stored": 3}
    assert PositionFix.objects.filter(member=member).count() == 3
    position = MemberPosition.objects.get(member=member)
    assert position.point.x == pytest.approx(LON + 0.001)  # the newest of the batch, not the last
    assert timezone.now() - position.recorded_at == pytest.approx(timedelta(seconds=30), abs=timedelta(seconds=5))
    received = set(PositionFix.objects.values_list("received_at", flat=True))
    assert len(received) == 1


@pytest.mark.django_db
def test_responder_posting_for_another_member_is_refused_whole():
    world = make_world()
    other = second_member(world)
    responder = make_user("zhangwei", UserRole.RESPONDER, member=world["member"])
    response = post(client_for(responder), fix(world["member"]), fix(other))
    assert response.status_code == 404
    assert stored() == (0, 0)
    # a responder without a member of their own posts for nobody
    lost = make_user("nobody", UserRole.RESPONDER)
    assert post(client_for(lost), fix(world["member"])).status_code == 404
    assert stored() == (0, 0)


@pytest.mark.django_db
def test_gateway_with_a_token_posts_for_any_member_of_the_subdistrict():
    world = make_world()
    other = second_member(world)
    gateway = make_user("gateway", UserRole.INTEGRATION)
    token = Token.objects.create(user=gateway)
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = post(client, fix(world["member"]), fix(other, lon=LON + 0.002), subdistrict="T1")
    assert response.status_code == 201, response.content
    assert stored() == (2, 2)
    assert MemberPosition.objects.get(member=other).point.x == pytest.approx(LON + 0.002)


@pytest.mark.django_db
def test_command_room_may_post_other_roles_may_not():
    world = make_world()
    assert post(client_for(make_user("command", UserRole.COMMAND_ROOM)), fix(world["member"])).status_code == 201
    assert post(client_for(make_user("dispatcher", UserRole.DISPATCHER)), fix(world["member"])).status_code == 403
    assert post(client_for(make_user("planner", UserRole.PLANNER)), fix(world["member"])).status_code == 403
    assert post(APIClient(), fix(world["member"])).status_code in (401, 403)
    assert stored() == (1, 1)


@pytest.mark.django_db
def test_a_member_of_another_subdistrict_is_unknown_to_the_gateway():
    world = make_world()
    elsewhere = make_world("T2")
    gateway = make_user("gateway", UserRole.INTEGRATION)
    response = post(client_for(gateway), fix(world["member"]), fix(elsewhere["member"]), subdistrict="T1")
    assert response.status_code == 400
    assert response.json()["positions"] == {"1": {"member": ["No such member in this sub-district."]}}
    assert stored() == (0, 0)


BAD = [
    ({"member": 999999}, "member", "No such member in this sub-district."),
    ({"member": "7"}, "member", "A member is given by their id (a number)."),
    ({"at": "2026-13-45T00:00:00+08:00"}, "at", "A time in ISO 8601 with its UTC offset"),
    ({"at": "2026-11-24T08:30:00"}, "at", "A time in ISO 8601 with its UTC offset"),
    ("ahead", "at", "seconds ahead of the server's clock"),
    ("old", "at", "hours ago"),
    ({"lon": 181.0}, "lon", "A longitude between -180 and 180 degrees."),
    ({"lon": "120.1"}, "lon", "A longitude between -180 and 180 degrees."),
    ({"lat": -90.5}, "lat", "A latitude between -90 and 90 degrees."),
    ({"lat": None}, "lat", "This field is required."),
    ({"accuracy_m": -1}, "accuracy_m", "The accuracy is a number of metres, not negative."),
    ({"datum": "BD09"}, "datum", "The datum is WGS84 or GCJ02."),
    ({"datum": None}, "datum", "This field is required."),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("change", "field", "message"), BAD, ids=[f"{b[1]}-{i}" for i, b in enumerate(BAD)])
def test_a_bad_fix_refuses_the_whole_batch(change, field, message):
    world = make_world()
    gateway = make_user("gateway", UserRole.INTEGRATION)
    bad = fix(world["member"])
    if change == "ahead":
        bad["at"] = (timezone.now() + timedelta(minutes=6)).isoformat()
    elif change == "old":
        bad["at"] = (timezone.now() - timedelta(hours=25)).isoformat()
    else:
        bad.update(change)
    response = post(client_for(gateway), fix(world["member"]), bad, fix(world["member"]))
    assert response.status_code == 400
    errors = response.json()["positions"]
    assert list(errors) == ["1"]
    assert message in errors["1"][field][0]
    assert stored() == (0, 0)


@pytest.mark.django_db
def test_messages_are_chinese_by_default():
    world = make_world()
    gateway = make_user("gateway", UserRole.INTEGRATION)
    response = post(client_for(gateway, language="zh-hans"), fix(world["member"], lat=None))
    assert response.status_code == 400
    assert response.json()["positions"]["0"]["lat"] == ["该字段是必填项。"]


@pytest.mark.django_db
def test_batch_shape_and_size(settings):
    world = make_world()
    client = client_for(make_user("gateway", UserRole.INTEGRATION))
    assert client.post(URL, {"fixes": []}, format="json").json() == {
        "positions": ["Send an object with a list “positions”."]}
    assert client.post(URL, [fix(world["member"])], format="json").status_code == 400
    assert client.post(URL, {"positions": "x"}).status_code == 415  # JSON only
    response = client.post(URL, {"positions": [fix(world["member"]), "x"]}, format="json")
    assert response.json()["positions"]["1"]["non_field_errors"]
    settings.POSITIONS_MAX_BATCH = 2
    response = post(client, *[fix(world["member"], ago=n) for n in range(3)])
    assert response.json() == {"positions": ["At most 2 positions in one batch."]}
    assert post(client).json() == {"stored": 0}
    assert stored() == (0, 0)


@pytest.mark.django_db
def test_an_older_fix_never_moves_the_member_back():
    world = make_world()
    member = world["member"]
    client = client_for(make_user("gateway", UserRole.INTEGRATION))
    assert post(client, fix(member, ago=10, lon=LON + 0.003)).status_code == 201
    assert post(client, fix(member, ago=600, lon=LON - 0.003)).status_code == 201  # a late batch
    position = MemberPosition.objects.get(member=member)
    assert position.point.x == pytest.approx(LON + 0.003)
    assert PositionFix.objects.filter(member=member).count() == 2  # the track keeps it
    # the same time again changes nothing either
    assert post(client, {**fix(member, lon=LON), "at": position.recorded_at.isoformat()}).status_code == 201
    assert MemberPosition.objects.get(member=member).point.x == pytest.approx(LON + 0.003)


@pytest.mark.django_db
def test_gcj02_is_converted_on_arrival():
    world = make_world()
    member = world["member"]
    gcj_lon, gcj_lat = wgs84_to_gcj02(LON, LAT)
    assert abs(gcj_lon - LON) > 0.003  # some 450 m off here
    client = client_for(make_user("gateway", UserRole.INTEGRATION))
    assert post(client, fix(member, lon=gcj_lon, lat=gcj_lat, datum="GCJ02")).status_code == 201
    position = MemberPosition.objects.get(member=member)
    assert (position.point.x, position.point.y) == pytest.approx((LON, LAT), abs=1e-7)
    track = PositionFix.objects.get(member=member)
    assert (track.point.x, track.point.y) == pytest.approx((LON, LAT), abs=1e-7)


@pytest.mark.django_db
def test_the_schema_documents_the_endpoint():
    response = client_for(make_user("planner", UserRole.PLANNER)).get("/api/schema/", {"format": "json"})
    operation = response.json()["paths"][URL]["post"]
    assert "201" in operation["responses"]
    assert operation["requestBody"]


@pytest.mark.django_db
def test_service_refuses_an_unknown_member_and_stores_nothing():
    world = make_world()
    from config.errors import DomainError
    with pytest.raises(DomainError):
        positions_ingest(fixes=[Fix(world["member"].pk, timezone.now(), LON, LAT),
                                Fix(987654, timezone.now(), LON, LAT)])
    assert stored() == (0, 0)


@pytest.mark.django_db
def test_service_refuses_a_deleted_member_and_stores_nothing():
    world = make_world()
    gone = second_member(world)
    positions_ingest(fixes=[Fix(gone.pk, timezone.now() - timedelta(minutes=1), LON, LAT)])
    gone_id = gone.pk
    gone.delete()
    from config.errors import DomainError
    with pytest.raises(DomainError) as refused:
        positions_ingest(fixes=[Fix(world["member"].pk, timezone.now(), LON, LAT), Fix(gone_id, timezone.now(), LON, LAT)])
    assert refused.value.code == "unknown_member"
    assert stored() == (0, 0)


@pytest.mark.django_db
def test_a_member_deleted_in_sql_takes_their_fixes_along():
    """The track has no foreign key in the database: the member table's trigger removes the fixes."""
    world = make_world()
    member, other = second_member(world), world["member"]
    now = timezone.now()
    positions_ingest(fixes=[Fix(member.pk, now - timedelta(seconds=s), LON, LAT) for s in range(3)]
                     + [Fix(other.pk, now, LON, LAT)])
    with connection.cursor() as cur:  # not Django's collector: the fixes are still there before the member goes
        cur.execute("DELETE FROM dispatch_memberposition WHERE member_id = %s", [member.pk])
        cur.execute("DELETE FROM dispatch_member WHERE id = %s", [member.pk])
    assert list(PositionFix.objects.values_list("member_id", flat=True)) == [other.pk]


@pytest.mark.django_db(transaction=True)
def test_a_member_is_not_deleted_while_a_batch_of_theirs_is_being_stored():
    """The ingest locks the batch's members (FOR KEY SHARE): deleting one waits for its commit, then
    takes the fixes it stored along."""
    world = make_world()
    member = second_member(world)
    stored_batch, release = threading.Event(), threading.Event()

    def ingest() -> None:
        try:
            with transaction.atomic():
                positions_ingest(fixes=[Fix(member.pk, timezone.now(), LON, LAT)])
                stored_batch.set()
                release.wait(10)
        finally:
            connection.close()

    worker = threading.Thread(target=ingest)
    worker.start()
    try:
        assert stored_batch.wait(10)
        with pytest.raises(OperationalError), transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL lock_timeout = '300ms'")
            Member.objects.filter(pk=member.pk).delete()
    finally:
        release.set()
        worker.join(10)
    assert PositionFix.objects.filter(member_id=member.pk).count() == 1
    Member.objects.filter(pk=member.pk).delete()
    assert not PositionFix.objects.filter(member_id=member.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_overlapping_batches_at_once_never_deadlock():
    """Two connections storing batches of the same members, one listing them forwards and the other
    backwards: the members are locked and their rows written in id order, so they only wait."""
    world = make_world()
    members = [world["member"]] + [second_member(world, code=f"M{k}", name=f"队员{k}") for k in range(2, 40)]
    start = timezone.now() - timedelta(minutes=30)
    errors: list[BaseException] = []

    def ingest(order: int) -> None:
        try:
            for n in range(25):
                at = start + timedelta(seconds=n, microseconds=order)
                positions_ingest(fixes=[Fix(m.pk, at, LON, LAT + n * 1e-4) for m in members[::order]])
        except BaseException as exc:  # a deadlock, reported below
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=ingest, args=(order,)) for order in (1, -1)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert errors == []
    assert PositionFix.objects.count() == 2 * 25 * len(members)
    newest = start + timedelta(seconds=24, microseconds=1)
    assert set(MemberPosition.objects.values_list("recorded_at", flat=True)) == {newest}


@pytest.mark.django_db
def test_a_member_who_did_not_move_keeps_the_stored_point_and_a_move_replaces_it():
    world = make_world()
    member = world["member"]
    now = timezone.now() - timedelta(minutes=5)

    def position() -> MemberPosition:
        return MemberPosition.objects.get(member=member)

    def hot_updates() -> int:
        with connection.cursor() as cur:  # this transaction's own counts
            cur.execute("SELECT n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'dispatch_memberposition'")
            return cur.fetchone()[0]

    positions_ingest(fixes=[Fix(member.pk, now, LON, LAT, 9.0)])
    before = hot_updates()
    # 0.5 m north: the point stays, the time and the accuracy move on (a HOT update: no index touched)
    positions_ingest(fixes=[Fix(member.pk, now + timedelta(seconds=10), LON, LAT + 4.5e-6, 4.0)])
    kept = position()
    assert (kept.point.x, kept.point.y) == (LON, LAT)
    assert kept.recorded_at == now + timedelta(seconds=10) and kept.accuracy_m == 4.0
    assert hot_updates() == before + 1
    # another 0.5 m and another: the steps add up (measured from the stored point) to a move
    positions_ingest(fixes=[Fix(member.pk, now + timedelta(seconds=20), LON, LAT + 9e-6)])
    assert position().point.y == LAT
    positions_ingest(fixes=[Fix(member.pk, now + timedelta(seconds=30), LON, LAT + 1.35e-5)])
    assert position().point.y == pytest.approx(LAT + 1.35e-5)
    # the track keeps every fix as it came
    assert sorted(PositionFix.objects.values_list("point", flat=True), key=lambda p: p.y)[1].y == LAT + 4.5e-6


@pytest.mark.django_db
def test_an_asynchronous_commit_is_never_imposed_on_the_callers_transaction(settings):
    settings.POSITIONS_SYNCHRONOUS_COMMIT = False
    world = make_world()
    with connection.cursor() as cur:
        cur.execute("SET LOCAL synchronous_commit = on")
    positions_ingest(fixes=[Fix(world["member"].pk, timezone.now(), LON, LAT)])  # inside the test's transaction
    with connection.cursor() as cur:
        cur.execute("SHOW synchronous_commit")
        assert cur.fetchone()[0] == "on"
    assert stored() == (1, 1)


@pytest.mark.django_db(transaction=True)
def test_a_batch_of_its_own_may_commit_asynchronously(settings):
    settings.POSITIONS_SYNCHRONOUS_COMMIT = False
    world = make_world()
    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit = on")
    try:
        assert positions_ingest(fixes=[Fix(world["member"].pk, timezone.now(), LON, LAT)]) == 1
        with connection.cursor() as cur:  # SET LOCAL: the session's setting is back after the batch
            cur.execute("SHOW synchronous_commit")
            assert cur.fetchone()[0] == "on"
        assert stored() == (1, 1)
    finally:
        with connection.cursor() as cur:
            cur.execute("RESET synchronous_commit")


# --- the fan-out over a real channel layer --------------------------------------------------------

async def _collect(layer, channel: str, seconds: float) -> list[tuple[float, dict]]:
    out, end = [], time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        try:
            message = await asyncio.wait_for(layer.receive(channel), timeout=left)
        except TimeoutError:
            break
        out.append((time.monotonic(), message))
    return out


@pytest.mark.django_db(transaction=True)
def test_many_ingests_within_an_interval_become_one_message_with_each_members_latest(settings):
    settings.WALL_POSITIONS_INTERVAL_S = 0.4
    world, elsewhere = make_world(), make_world("T2")
    a, b, c = world["member"], second_member(world), elsewhere["member"]
    layer = get_channel_layer()
    start = timezone.now() - timedelta(minutes=5)

    async def scenario():
        t1 = await layer.new_channel()
        t2 = await layer.new_channel()
        await layer.group_add(wall_group("T1"), t1)
        await layer.group_add(wall_group("T2"), t2)
        # listening while the batches arrive: the times below are when each message was sent
        collect1 = asyncio.create_task(_collect(layer, t1, 2.5))
        collect2 = asyncio.create_task(_collect(layer, t2, 2.5))
        began = time.monotonic()
        for n in range(10):  # ten batches, well within one interval
            at = start + timedelta(seconds=n)
            await database_sync_to_async(positions_ingest)(fixes=[
                Fix(a.pk, at, LON + n * 1e-4, LAT, 5.0), Fix(b.pk, at, LON, LAT + n * 1e-4),
                Fix(c.pk, at, LON, LAT)])
        took = time.monotonic() - began
        return began, took, await collect1, await collect2

    _began, took, got1, got2 = async_to_sync(scenario)()
    interval = 0.4
    # never two messages to a sub-district within one interval, each member at most once in each
    times = [t for t, _ in got1]
    assert all(later - earlier >= interval * 0.95 for earlier, later in pairwise(times))
    for _, message in got1 + got2:
        assert message["type"] == "positions.batch"
        members = [p["member"] for p in sent(message)]
        assert members == sorted(set(members))
    assert len(got1) <= 2 + int(took / interval)
    if took < interval:  # all within one interval: the first batch at once, the others in one trailing
        # message — or, on a busy machine where the first send ran after later batches were offered,
        # everything in that one message (never more than two)
        assert len(got1) in (1, 2)
        assert [p["member"] for p in sent(got1[0][1])] == sorted([a.pk, b.pk])
    # the trailing message carries each member's latest fix
    last = got1[-1][1]
    assert [p["member"] for p in sent(last)] == sorted([a.pk, b.pk])
    latest = {p["member"]: p for p in sent(last)}
    assert latest[a.pk]["lon"] == pytest.approx(LON + 9e-4)
    assert latest[a.pk]["accuracy_m"] == 5.0
    assert latest[b.pk]["lat"] == pytest.approx(LAT + 9e-4)
    assert latest[a.pk]["at"] == (start + timedelta(seconds=9)).isoformat()
    # the other sub-district has its own wall and its own throttle
    assert 1 <= len(got2) <= 2 + int(took / interval)
    assert [p["member"] for p in sent(got2[-1][1])] == [c.pk]


@pytest.mark.django_db(transaction=True)
def test_a_fix_that_moved_nobody_is_not_sent(settings):
    settings.WALL_POSITIONS_INTERVAL_S = 0.2
    world = make_world()
    member = world["member"]
    layer = get_channel_layer()
    now = timezone.now()

    async def scenario():
        channel = await layer.new_channel()
        await layer.group_add(wall_group("T1"), channel)
        await database_sync_to_async(positions_ingest)(fixes=[Fix(member.pk, now, LON, LAT)])
        await database_sync_to_async(positions_ingest)(fixes=[Fix(member.pk, now - timedelta(minutes=1), 0, 0)])
        return await _collect(layer, channel, 0.6)

    got = async_to_sync(scenario)()
    assert len(got) == 1
    assert sent(got[0][1])[0]["lon"] == LON


class BrokenLayer:
    async def group_send(self, group, message):
        raise ConnectionError("the channel layer is down")


@pytest.mark.django_db(transaction=True)
def test_a_failing_channel_layer_never_undoes_the_stored_positions(monkeypatch, caplog):
    world = make_world()
    monkeypatch.setattr(live, "get_channel_layer", lambda: BrokenLayer())
    client = client_for(make_user("gateway", UserRole.INTEGRATION))
    with caplog.at_level(logging.ERROR, logger="dispatch.positions"):
        response = post(client, fix(world["member"]))
        deadline = time.monotonic() + 3
        while not caplog.records and time.monotonic() < deadline:  # the send runs on its own loop
            time.sleep(0.02)
    assert response.status_code == 201
    assert stored() == (1, 1)
    assert "publishing 1 positions to the wall of T1 failed" in caplog.text


# --- the wall socket through the real ASGI app ----------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_a_wall_socket_receives_positions_posted_through_the_api(settings):
    settings.WALL_POSITIONS_INTERVAL_S = 0.2
    world = make_world()
    member = world["member"]
    dispatcher = make_user("dispatcher", UserRole.DISPATCHER)
    gateway = make_user("gateway", UserRole.INTEGRATION)
    session = Client()
    session.force_login(dispatcher)
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"), (b"cookie", f"sessionid={session.cookies['sessionid'].value}".encode())]
    communicator = WebsocketCommunicator(application, "/ws/wall/T1/", headers=headers)
    gcj_lon, gcj_lat = wgs84_to_gcj02(LON, LAT)

    def post_positions():
        return post(client_for(gateway), fix(member, ago=20, lon=LON + 0.01),
                    fix(member, ago=5, lon=gcj_lon, lat=gcj_lat, accuracy=4.0, datum="GCJ02"))

    async def scenario():
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        assert await communicator.receive_nothing(timeout=0.2)  # the consumer has joined its group
        response = await database_sync_to_async(post_positions)()
        message = await communicator.receive_json_from(timeout=TIMEOUT)
        await communicator.disconnect()
        return response, message

    response, message = async_to_sync(scenario)()
    assert response.status_code == 201
    assert message["type"] == "positions"
    assert len(message["positions"]) == 1
    position = message["positions"][0]
    assert position["member"] == member.pk
    assert (position["lon"], position["lat"]) == pytest.approx((LON, LAT), abs=1e-6)
    assert position["accuracy_m"] == 4.0
    assert set(position) == {"member", "lon", "lat", "at", "accuracy_m"}


@pytest.mark.django_db(transaction=True)
def test_a_member_being_deleted_holds_back_a_batch_of_theirs_which_then_finds_them_gone():
    """The delete locks the member before it deletes their last position (the pre_delete lock): a
    batch that comes meanwhile waits — it cannot lock the member, then wait for the position row the
    delete holds, while the delete waits for its lock (a deadlock) — and then is refused."""
    world = make_world()
    member = second_member(world)
    positions_ingest(fixes=[Fix(member.pk, timezone.now() - timedelta(minutes=1), LON, LAT)])  # a position to delete
    deleting, release = threading.Event(), threading.Event()

    def held(sender, instance, **kwargs):  # after the lock (connected later than the app's receiver)
        deleting.set()
        release.wait(10)

    def delete() -> None:
        try:
            Member.objects.filter(pk=member.pk).delete()
        finally:
            connection.close()

    pre_delete.connect(held, sender=Member, dispatch_uid="test.held")
    worker = threading.Thread(target=delete)
    worker.start()
    try:
        assert deleting.wait(10)
        threading.Timer(0.3, release.set).start()  # the batch below waits for the delete meanwhile
        with pytest.raises(DomainError) as refused:
            positions_ingest(fixes=[Fix(member.pk, timezone.now(), LON, LAT)])
    finally:
        release.set()
        worker.join(10)
        pre_delete.disconnect(sender=Member, dispatch_uid="test.held")
    assert refused.value.code == "unknown_member"
    assert not Member.objects.filter(pk=member.pk).exists()
    assert not PositionFix.objects.filter(member_id=member.pk).exists()
