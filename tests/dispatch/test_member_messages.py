"""Reaching a person: a new order, a stand-down, an overdue alarm and a major-incident call each
write one message per recipient in the transaction that decided it (dispatch/notify.py), published
after commit to the member's own socket `ws/member/` (dispatch/live.py, dispatch/consumers.py) —
from the server process itself, and from the SLA clock's own process through PostgreSQL."""

import asyncio
import threading
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.utils import timezone

from config.errors import DomainError
from config.live import member_group
from config.roles import UserRole
from dispatch import consumers
from dispatch.models import Alarm, DispatchOrder, Member, MemberMessage, MemberPosition, PositionFix
from dispatch.notify import messages_for_alarm, messages_for_order_dispatched
from dispatch.services import incident_transition, order_stand_down
from dispatch.sla import sla_tick
from incidents.models import Handover, Status
from tests.dispatch.test_sla_clock import add_member, build_world, make_incident, make_order, on_duty
from tests.factories import make_user, own_connection
from tests.wall.test_wall_relay import _fresh_channel_layer, run_command  # noqa: F401 - the fixture is used
from tests.wall.test_wall_socket import TIMEOUT, closed_with, socket
from wall import relay

Kind = MemberMessage.Kind


def dispatch(world, incident, *members, **kw) -> None:
    incident_transition(incident_id=incident.pk, action="dispatch", actor=world["dispatcher"], members=list(members),
                        method=DispatchOrder.Method.APP, **kw)


def messages(**filters) -> list[MemberMessage]:
    return list(MemberMessage.objects.filter(**filters).order_by("id"))


def small_world() -> dict:
    """tests/dispatch/test_sla_clock.py's world: the late member on duty, a dispatcher."""
    world = build_world()
    on_duty(world["member"])
    world["dispatcher"] = make_user("disp", UserRole.DISPATCHER)
    return world


@pytest.fixture
def world(db):
    return small_world()


# --- written with the decision, once ---------------------------------------------------------------

def test_dispatching_a_member_writes_one_order_message(world):
    incident = make_incident(world, status=Status.NEW, address_text="文一西路100号")
    dispatch(world, incident, world["member"])
    order = DispatchOrder.objects.get(incident=incident)
    (message,) = messages()
    assert (message.member, message.kind, message.incident, message.order, message.alarm) == (
        world["member"], Kind.ORDER, incident, order, None)
    assert message.subdistrict_id == incident.subdistrict_id and message.created_at == order.dispatched_at
    # In the forces' language, whoever dispatched: case number, category, scene, deadline.
    assert message.title == f"新指令 {incident.number}：测试纠纷"
    deadline = timezone.localtime(order.arrive_by).strftime("%H:%M")
    assert "地点：文一西路100号。" in message.body and "测试警情" in message.body
    assert f"请于 {deadline} 前到达" in message.body
    # Pending outbound; the member has no app login, so no grace: due at once.
    assert message.state == MemberMessage.State.PENDING and message.read_at is None
    assert message.deliver_after == message.next_attempt_at == message.created_at
    # A second dispatcher's click sends nobody again, and writes nothing again.
    dispatch(world, incident, world["member"])
    assert len(messages()) == 1
    # The unique constraint is the last word: the hook called twice writes one message.
    with transaction.atomic():
        assert messages_for_order_dispatched(order) == []
    assert len(messages()) == 1


def test_a_member_with_the_app_has_the_grace_to_read_it_first(world, settings):
    settings.NOTIFY_GRACE_SECONDS = 90
    make_user("resp", UserRole.RESPONDER, member=world["member"])
    world["member"].refresh_from_db()
    dispatch(world, make_incident(world, status=Status.NEW), world["member"])
    (message,) = messages()
    assert message.deliver_after - message.created_at == timedelta(seconds=90)
    assert message.next_attempt_at == message.deliver_after


def test_a_refused_dispatch_writes_no_message(world):
    resting = add_member(world, "T1-REST", "休息队员")  # off duty, not ticked
    with pytest.raises(DomainError):
        dispatch(world, make_incident(world, status=Status.NEW), world["member"], resting)
    assert messages() == []
    # Chosen although off duty: dispatched, and told.
    incident = make_incident(world, status=Status.NEW)
    dispatch(world, incident, resting, off_duty_override=[resting])
    assert [(m.member, m.kind) for m in messages()] == [(resting, Kind.ORDER)]


def test_standing_down_writes_one_message_per_member(world):
    other = add_member(world, "T1-M2", "队员二")
    on_duty(other)
    incident = make_incident(world, status=Status.NEW)
    dispatch(world, incident, world["member"], other)
    order = DispatchOrder.objects.get(incident=incident, member=world["member"])
    order_stand_down(order_id=order.pk, actor=world["dispatcher"], reason="已有其他队员到场")
    (down,) = messages(kind=Kind.STAND_DOWN)
    assert (down.member, down.order, down.incident) == (world["member"], order, incident)
    assert down.title == f"撤回指令 {incident.number}" and "已有其他队员到场" in down.body
    # The case closed as invalid stands down the other member: their message too, once.
    incident_transition(incident_id=incident.pk, action="cancel", actor=world["dispatcher"], text="误报")
    assert [(m.member, m.kind) for m in messages()] == [
        (world["member"], Kind.ORDER), (other, Kind.ORDER), (world["member"], Kind.STAND_DOWN),
        (other, Kind.STAND_DOWN)]


def test_an_overdue_alarm_tells_the_unit_leader_and_reminds_the_late_member(world):
    incident = make_incident(world, address_text="古墩路8号")
    order = make_order(world, incident, world["member"], arrive_by=timezone.now() - timedelta(minutes=1))
    assert sla_tick() == 1
    alarm = Alarm.objects.get()
    assert alarm.notified == [world["leader_on"].pk, world["member"].pk]
    to_leader, reminder = messages()
    assert (to_leader.member, to_leader.kind, to_leader.alarm, to_leader.order) == (
        world["leader_on"], Kind.ALARM, alarm, order)
    assert to_leader.title == f"告警 {incident.number}"
    assert "张伟(网格中队)尚未到场" in to_leader.body and "古墩路8号" in to_leader.body
    assert (reminder.member, reminder.kind, reminder.alarm, reminder.order) == (
        world["member"], Kind.REMINDER, alarm, order)
    assert "已超时" in reminder.body
    # The unit leader off duty is told nothing, by no channel; the next look writes nothing more.
    assert not MemberMessage.objects.filter(member=world["leader_off"]).exists()
    assert sla_tick() == 0 and len(messages()) == 2
    with transaction.atomic():  # the unique constraint is the last word
        assert messages_for_alarm(alarm, [world["leader_on"], world["member"]]) == []
    assert len(messages()) == 2


def test_a_major_incident_calls_each_leader_once_whatever_their_shift(world):
    incident = make_incident(world, major=True, status=Status.NEW)
    assert sla_tick() == 1
    calls = messages()
    assert sorted(m.member_id for m in calls) == sorted([world["principal"].pk, world["responsible"].pk])
    assert {m.kind for m in calls} == {Kind.MAJOR} and {m.alarm.kind for m in calls} == {"major_incident"}
    assert all(m.title == f"重大警情 {incident.number}：测试纠纷" and "第一时间到达现场" in m.body for m in calls)
    assert sla_tick() == 0 and len(messages()) == 2


def test_an_overdue_hand_over_tells_the_receiving_units_leader(world):
    now = timezone.now()
    incident = make_incident(world, status=Status.IN_PROGRESS)
    Handover.objects.create(incident=incident, unit=world["unit"], kind=Handover.Kind.TRANSFER, reason="移交",
                            accept_by=now - timedelta(hours=1), deadline=now + timedelta(days=1),
                            created_at=now - timedelta(hours=2))
    sla_tick()
    (message,) = messages()
    assert (message.member, message.kind, message.order) == (world["leader_on"], Kind.ALARM, None)
    assert "网格中队未在时限内接收或退回该警情" in message.body


# --- the member's socket ------------------------------------------------------------------------------

def member_socket(user, query: str = ""):
    return socket(f"/ws/member/{query}", user)


async def until_caught_up(communicator) -> list[dict]:
    frames = []
    while True:
        frame = await communicator.receive_json_from(timeout=TIMEOUT)
        frames.append(frame)
        if frame["type"] == "caught_up":
            return frames


@pytest.fixture
def live(transactional_db):
    world = small_world()
    other = add_member(world, "T1-M2", "队员二")
    on_duty(other)
    world.update(other=other, responder=make_user("resp", UserRole.RESPONDER, member=world["member"]),
                 other_responder=make_user("resp2", UserRole.RESPONDER, member=other))
    return world


@pytest.mark.django_db(transaction=True)
def test_an_anonymous_socket_and_a_user_who_is_not_a_member_are_refused():
    world = build_world()
    assert async_to_sync(closed_with)(member_socket(None)) == consumers.CLOSE_ANONYMOUS
    dispatcher = make_user("disp", UserRole.DISPATCHER)
    assert async_to_sync(closed_with)(member_socket(dispatcher)) == consumers.CLOSE_FORBIDDEN
    gone = make_user("gone", UserRole.RESPONDER, member=world["leader_off"])
    Member.objects.filter(pk=world["leader_off"].pk).update(active=False)
    assert async_to_sync(closed_with)(member_socket(gone)) == consumers.CLOSE_FORBIDDEN
    me = make_user("me", UserRole.RESPONDER, member=world["member"])
    assert async_to_sync(closed_with)(member_socket(me, "?last_message=abc")) == consumers.CLOSE_BAD_REQUEST
    # The session's user as the HTTP requests read it (config.socket_db.SocketAuthMiddleware): a
    # password changed since the login ends the session, and so does a user made inactive.
    changed, left = member_socket(me), member_socket(make_user("left", UserRole.RESPONDER, member=world["member"]))
    me.set_password("a new one, 2026!")
    me.save(update_fields=["password"])
    type(me).objects.filter(username="left").update(is_active=False)
    assert async_to_sync(closed_with)(changed) == consumers.CLOSE_ANONYMOUS
    assert async_to_sync(closed_with)(left) == consumers.CLOSE_ANONYMOUS


def test_a_connected_member_receives_the_order_after_the_dispatch_commits_and_reads_it_once(live):
    mine, theirs = member_socket(live["responder"]), member_socket(live["other_responder"])
    incident = make_incident(live, status=Status.NEW)

    async def scenario():
        for communicator in (mine, theirs):
            connected, _ = await communicator.connect(timeout=TIMEOUT)
            assert connected
            assert await until_caught_up(communicator) == [{"type": "caught_up", "last_message": None}]

        @database_sync_to_async
        def dispatch_and_peek():
            with transaction.atomic():
                dispatch(live, incident, live["member"])
                # written, not committed: nothing was published yet
                written = MemberMessage.objects.get().pk
                assert async_to_sync(mine.receive_nothing)(timeout=0.2)
            return written

        written = await dispatch_and_peek()
        frame = await mine.receive_json_from(timeout=TIMEOUT)
        assert await theirs.receive_nothing(timeout=0.3)  # another member's group: nothing
        # another member may not mark it read
        await theirs.send_json_to({"type": "read", "message": written})
        refused = await theirs.receive_json_from(timeout=TIMEOUT)
        await mine.send_json_to({"type": "read", "message": written})
        first = await mine.receive_json_from(timeout=TIMEOUT)
        await mine.send_json_to({"type": "read", "message": written})
        again = await mine.receive_json_from(timeout=TIMEOUT)
        await mine.send_json_to({"type": "read", "message": "x"})
        bad = await mine.receive_json_from(timeout=TIMEOUT)
        for communicator in (mine, theirs):
            await communicator.disconnect()
        return written, frame, refused, first, again, bad

    written, frame, refused, first, again, bad = async_to_sync(scenario)()
    message = MemberMessage.objects.get()
    assert message.pk == written
    assert frame["type"] == "message"
    assert frame["message"] == {
        "id": message.pk, "kind": "order", "title": message.title, "body": message.body,
        "incident": incident.pk, "order": message.order_id, "created_at": message.created_at.isoformat(),
        "read_at": None}
    assert (refused["type"], refused["code"], refused["message"]) == ("error", "not_found", written)
    assert first == {"type": "read", "message": written, "read_at": message.read_at.isoformat()}
    assert again == first  # read once: the first time stays
    assert bad["type"] == "error"


def test_on_connect_the_unread_messages_and_on_resume_everything_after_the_last_seen(live):
    incidents = [make_incident(live, status=Status.NEW) for _ in range(3)]
    for incident in incidents:
        dispatch(live, incident, live["member"])
    dispatch(live, make_incident(live, status=Status.NEW), live["other"])
    first, second, third = messages(member=live["member"])
    MemberMessage.objects.filter(pk=first.pk).update(read_at=timezone.now())
    old = make_incident(live, status=Status.NEW)
    dispatch(live, old, live["member"])
    MemberMessage.objects.filter(incident=old).update(created_at=timezone.now() - timedelta(hours=25))

    async def received(communicator) -> list[dict]:
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        frames = await until_caught_up(communicator)
        await communicator.disconnect()
        return frames

    def frames(query: str) -> list[dict]:
        return async_to_sync(received)(member_socket(live["responder"], query))

    on_connect = frames("")
    assert [f["message"]["id"] for f in on_connect[:-1]] == [second.pk, third.pk]  # unread, last 24 h, mine
    assert on_connect[-1] == {"type": "caught_up", "last_message": third.pk}
    resumed = frames(f"?last_message={first.pk - 1}")
    assert [f["message"]["id"] for f in resumed[:-1]] == [first.pk, second.pk, third.pk]  # read or not
    assert resumed[0]["message"]["read_at"] is not None
    assert frames(f"?last_message={third.pk}") == [{"type": "caught_up", "last_message": third.pk}]


def test_the_sla_clocks_own_process_reaches_the_late_members_socket_through_postgresql(live):
    """`run_sla_clock` holds no sockets: without Redis its reminder travels by id through the relay
    (config.live, kind `member_message`) and the server builds the frame from the row."""
    incident = make_incident(live)
    make_order(live, incident, live["member"], arrive_by=timezone.now() - timedelta(minutes=2))
    communicator = member_socket(live["responder"])

    async def scenario():
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        await until_caught_up(communicator)
        await relay.wait_listening()
        await asyncio.get_running_loop().run_in_executor(None, run_command, ["run_sla_clock", "--once"])
        frame = await communicator.receive_json_from(timeout=10)
        await communicator.disconnect()
        return frame

    frame = async_to_sync(scenario)()
    reminder = MemberMessage.objects.get(member=live["member"])
    assert reminder.kind == Kind.REMINDER
    assert frame == {"type": "message", "message": {
        "id": reminder.pk, "kind": "reminder", "title": reminder.title, "body": reminder.body,
        "incident": incident.pk, "order": reminder.order_id, "created_at": reminder.created_at.isoformat(),
        "read_at": None}}
    assert member_group(live["member"].pk) == f"member-{live['member'].pk}"


def test_a_phone_sends_its_own_positions_over_its_socket(live):
    """The batch the phone would POST, over the socket: stored and answered by id; a bad fix or
    another member's refuses the whole batch with an error frame of the same id, and the socket
    stays open."""
    mine = member_socket(live["responder"])
    me, other = live["member"].pk, live["other"].pk
    now = timezone.now()

    def fix(member: int, seconds: int, **extra) -> dict:
        return {"member": member, "at": (now - timedelta(seconds=seconds)).isoformat(), "lon": 120.4951,
                "lat": 30.4952, "accuracy_m": 6, "datum": "WGS84", **extra}

    async def scenario():
        connected, _ = await mine.connect(timeout=TIMEOUT)
        assert connected
        await until_caught_up(mine)
        answers = []
        for frame in ({"type": "positions", "id": 1, "positions": [fix(me, 20), fix(me, 10)]},
                      {"type": "positions", "id": 2, "positions": [fix(me, 5), fix(other, 5)]},
                      {"type": "positions", "id": 3, "positions": [fix(me, 4, datum="BD09")]},
                      {"type": "positions", "id": 4, "positions": [fix(me, 20)]}):
            await mine.send_json_to(frame)
            answers.append(await mine.receive_json_from(timeout=TIMEOUT))
        await mine.disconnect()
        return answers

    stored, foreign, bad, again = async_to_sync(scenario)()
    assert stored == {"type": "positions", "id": 1, "stored": 2}
    assert foreign["type"] == "error" and foreign["id"] == 2 and foreign["code"] == "not_found"
    assert bad["type"] == "error" and bad["id"] == 3 and set(bad["errors"]["0"]) == {"datum"}
    assert again == {"type": "positions", "id": 4, "stored": 0}  # the same fix again adds nothing
    assert PositionFix.objects.filter(member_id=me).count() == 2
    assert not PositionFix.objects.filter(member_id=other).exists()
    assert MemberPosition.objects.get(member_id=me).recorded_at == now - timedelta(seconds=10)


def test_positions_over_the_socket_need_what_the_http_api_needs(live):
    """A member's user without a role that may post positions (a unit's department staff) is refused;
    so is a socket whose session ended after it connected (logged out elsewhere): closed with 4403."""
    department = make_user("dept", UserRole.DEPARTMENT, member=live["other"])
    theirs, mine = member_socket(department), member_socket(live["responder"])
    now = timezone.now().isoformat()

    def frame(member) -> dict:
        return {"type": "positions", "id": 1, "positions": [
            {"member": member.pk, "at": now, "lon": 120.4951, "lat": 30.4952, "datum": "WGS84"}]}

    async def scenario():
        answers = []
        for communicator, member in ((theirs, live["other"]), (mine, live["member"])):
            connected, _ = await communicator.connect(timeout=TIMEOUT)
            assert connected
            await until_caught_up(communicator)
            if communicator is mine:
                await database_sync_to_async(Session.objects.all().delete)()  # logged out everywhere
            await communicator.send_json_to(frame(member))
            answers.append(await communicator.receive_json_from(timeout=TIMEOUT))
            answers.append(await communicator.receive_output(timeout=TIMEOUT))
        return answers

    refused, closed, refused_after_logout, closed_after_logout = async_to_sync(scenario)()
    for error, close in ((refused, closed), (refused_after_logout, closed_after_logout)):
        assert error["type"] == "error" and error["code"] == "forbidden" and error["id"] == 1
        assert close == {"type": "websocket.close", "code": consumers.CLOSE_FORBIDDEN}
    assert not PositionFix.objects.exists()


def test_a_sockets_blocked_database_call_holds_up_no_other_socket(live):
    """The sockets' database work runs on threads of its own (config/socket_db.py), not on
    Channels' one shared thread per process: while one member's `read` waits for a row lock,
    another member's socket still connects and catches up, and the first is answered once the
    lock is gone."""
    dispatch(live, make_incident(live, status=Status.NEW), live["member"])
    (message,) = messages(member=live["member"])
    held, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        with transaction.atomic():
            MemberMessage.objects.select_for_update().get(pk=message.pk)
            held.set()
            release.wait(30)
        connection.close()

    watcher = own_connection()

    def read_waits_for_the_row() -> bool:
        with watcher.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' "
                           "AND query LIKE 'UPDATE %dispatch_membermessage%'")
            return cursor.fetchone()[0] > 0

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    assert held.wait(10), "the row lock was never taken"
    mine, theirs = member_socket(live["responder"]), member_socket(live["other_responder"])

    async def scenario():
        connected, _ = await mine.connect(timeout=TIMEOUT)
        assert connected
        await until_caught_up(mine)
        await mine.send_json_to({"type": "read", "message": message.pk})
        for _ in range(100):  # until the read waits for the row
            if await asyncio.to_thread(read_waits_for_the_row):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the read never waited for the lock")
        connected, _ = await theirs.connect(timeout=TIMEOUT)
        assert connected
        other_frames = await until_caught_up(theirs)  # while the first socket's call still waits
        assert await mine.receive_nothing(timeout=0.1)
        release.set()
        answer = await mine.receive_json_from(timeout=TIMEOUT)
        await mine.disconnect()
        await theirs.disconnect()
        return other_frames, answer

    try:
        other_frames, answer = async_to_sync(scenario)()
    finally:
        release.set()
        holder.join(10)
        watcher.close()
    assert other_frames == [{"type": "caught_up", "last_message": None}]
    assert answer["type"] == "read" and answer["message"] == message.pk
    assert MemberMessage.objects.get(pk=message.pk).read_at is not None
