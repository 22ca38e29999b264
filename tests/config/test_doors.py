"""Permissions (issue 10): each door of a case, tried by those who may not pass and by those who may.

The world: members A and B of one grid squad and its unit leader, a grid leader of grid 1 (force
`grid_leader`) and one of grid 2 (role `grid_leader`), a department user of office X and one of
office Y, a dispatcher; a case in grid 1 dispatched to A (A's order has its app message) and handed
over to X; the SLA clock's overdue alarm of A's order, told to the unit leader (and to A).

The outsiders — B (not dispatched), the leader of grid 2, office Y — get, per door:

    door                                              outsiders      rightful user (opens)
    ------------------------------------------------  -------------  -----------------------------------
    GET  /api/v1/incidents/{id}/                      404            A, grid-1 leader, office X: 200
    GET  /incidents/{id}/ (page)                      404            A, grid-1 leader, office X: 200
    GET  /api/v1/dispatch/incidents/{id}/             404            A, grid-1 leader, office X: 200
    POST /api/v1/dispatch/orders/{A's}/accept/        404            A: 200
    POST /api/v1/dispatch/orders/{A's}/decline/       404            A: 200
    POST /api/v1/dispatch/orders/{A's}/stand-down/    404            dispatcher: 200
    POST /api/v1/dispatch/orders/{A's}/replace/       404            dispatcher: past the door, 409
                                                                     (A's order is on time: nothing
                                                                     to replace)
    POST /api/v1/dispatch/orders/{A's}/remind/        403 (role)     dispatcher: 200
    GET  /api/v1/m/orders/{A's}/                      404            A: 200
    POST /api/v1/m/alarms/{A's alarm}/acknowledge/    404            the unit leader: 200 (A, told as
                                                                     the late member: 404)
    GET  /api/v1/m/team/                              200, without   grid-1 leader: the case; the unit
                                                      the case       leader: A's order and the alarm
    GET  /api/v1/dept/parts/{X's}/                    404            office X: 200
    GET  /api/v1/wall/{code}/incidents/{id}/          403 (role)     dispatcher: 200
    ws/wall/{code}/                                   close 4403     dispatcher: connected
         (role)
    ws/member/ {"type": "read", A's message}          error "no      A: read
                                                      such message"
                                                      (its 404)
    ws/dept/ (X's part overdue)                       nothing        office X: the news
                                                                     (dispatcher: close 4403, role)

The grid-1 leader reads the case (detail, page, dispatch summary: 200) but may not act on it: A's
order is not theirs to accept (403), the case's on-site moves are not theirs (403); other members'
orders and other units' parts stay 404 for them.
"""

import uuid
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.contrib.gis.geos import Point
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from config.roles import UserRole
from dispatch.models import Alarm, DispatchOrder, Force, Member, MemberMessage, Role, TravelMode, Unit
from dispatch.notify import messages_for_order_dispatched
from incidents.models import Handover, Incident, Status
from tests.factories import S, W, make_user, make_world, put_on_duty
from tests.wall.test_wall_relay import _fresh_channel_layer  # noqa: F401 - the fixture is used
from tests.wall.test_wall_socket import TIMEOUT, closed_with, socket

SCENE = Point(W + 0.002, S + 0.004, srid=4326)  # in grid 1 (the west half)
OUTSIDERS = ("b", "leader2", "office_y")


def build() -> dict:
    world = make_world("DR")
    sub, squad = world["subdistrict"], world["unit"]
    grid1, grid2 = world["grids"]

    def member(unit: Unit, code: str, name: str, force=Force.GRID_WORKER, roles=(), grids=()) -> Member:
        n = Member.objects.filter(subdistrict=sub).count() + 1
        m = Member.objects.create(subdistrict=sub, unit=unit, code=code, name=name, force=force, roles=list(roles),
                                  phone=f"1390000{n:04d}", travel_mode=TravelMode.EBIKE,
                                  home=Point(W + 0.001, S + 0.001, srid=4326))
        m.grids.add(*grids)
        return m

    office_x = Unit.objects.create(subdistrict=sub, code="DR-X", name="城管中队", kind=Unit.Kind.URBAN_MANAGEMENT)
    office_y = Unit.objects.create(subdistrict=sub, code="DR-Y", name="劳动保障中队", kind=Unit.Kind.LABOUR_SECURITY)
    a = world["member"]
    b = member(squad, "DR-B", "陈静", grids=[grid1])
    leader1 = member(squad, "DR-L1", "李强", force=Force.GRID_LEADER, grids=[grid1])
    leader2 = member(squad, "DR-L2", "赵敏", roles=[Role.GRID_LEADER], grids=[grid2])
    unit_leader = member(squad, "DR-UL", "周军", roles=[Role.UNIT_LEADER])
    put_on_duty(a, b)
    users = {
        "a": make_user("dr-a", UserRole.RESPONDER, member=a),
        "b": make_user("dr-b", UserRole.RESPONDER, member=b),
        "leader1": make_user("dr-l1", UserRole.RESPONDER, member=leader1),
        "leader2": make_user("dr-l2", UserRole.RESPONDER, member=leader2),
        "office_x": make_user("dr-x", UserRole.DEPARTMENT, member=member(office_x, "DR-X1", "王芳",
                                                                          force=Force.OFFICE_STAFF)),
        "office_y": make_user("dr-y", UserRole.DEPARTMENT, member=member(office_y, "DR-Y1", "刘洋",
                                                                          force=Force.OFFICE_STAFF)),
        "dispatcher": make_user("dr-disp", UserRole.DISPATCHER),
        "unit_leader": make_user("dr-ul", UserRole.RESPONDER, member=unit_leader),
    }
    now = timezone.now()
    incident = Incident.objects.create(
        subdistrict=sub, number="DR-00001", channel=world["channel"], category=world["category"],
        status=Status.DISPATCHED, description="小区门口两人因停车发生争执", address_text="幸福路 1 号",
        location=SCENE, grid=grid1, community=world["community"], reported_at=now - timedelta(minutes=10))
    with transaction.atomic():
        order = DispatchOrder.objects.create(
            incident=incident, member=a, method=DispatchOrder.Method.APP, dispatched_at=now - timedelta(minutes=5),
            dispatched_by=users["dispatcher"], arrive_by=now + timedelta(minutes=25))
        (message,) = messages_for_order_dispatched(order)
    part = Handover.objects.create(incident=incident, unit=office_x, kind=Handover.Kind.ASSIGNMENT,
                                   reason="联席会商交办", created_at=now, created_by=users["dispatcher"],
                                   accept_by=now + timedelta(hours=2), deadline=now + timedelta(days=3))
    alarm = Alarm.objects.create(subdistrict=sub, incident=incident, order=order, kind=Alarm.Kind.ARRIVAL_OVERDUE,
                                 due_at=now - timedelta(minutes=1), raised_at=now, notified=[unit_leader.pk, a.pk])
    return {**world, **users, "members": {"a": a, "b": b}, "incident": incident, "order": order, "alarm": alarm,
            "message": message, "part": part}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Seven users per test: the default hasher would spend seconds on their passwords."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def ctx(db):
    return build()


def api(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(user)
    return client


def post(user, name: str, pk: int, body: dict | None = None):
    return api(user).post(reverse(name, args=[pk]), body or {}, format="json",
                          HTTP_IDEMPOTENCY_KEY=f"door-{uuid.uuid4().hex}")


def page(user, path: str):
    client = Client()
    client.force_login(user)
    return client.get(path)


# Each door: (ctx, user) -> the response.
DOORS = {
    "incident_api": lambda c, u: api(u).get(reverse("incidents:incident-detail", args=[c["incident"].pk])),
    "incident_page": lambda c, u: page(u, f"/incidents/{c['incident'].pk}/"),
    "dispatch_summary": lambda c, u: api(u).get(f"/api/v1/dispatch/incidents/{c['incident'].pk}/"),
    "accept": lambda c, u: post(u, "dispatch:order-accept", c["order"].pk),
    "decline": lambda c, u: post(u, "dispatch:order-decline", c["order"].pk, {"reason": "正在处置其他警情"}),
    "stand_down": lambda c, u: post(u, "dispatch:order-stand-down", c["order"].pk, {"reason": "现场已无需增援"}),
    "replace": lambda c, u: post(u, "dispatch:order-replace", c["order"].pk, {"member": c["members"]["b"].pk}),
    "remind": lambda c, u: post(u, "dispatch:order-remind", c["order"].pk),
    "member_order": lambda c, u: api(u).get(reverse("member_app:order", args=[c["order"].pk])),
    "alarm_ack": lambda c, u: post(u, "member_app:alarm-acknowledge", c["alarm"].pk),
    "dept_part": lambda c, u: api(u).get(reverse("dept_api:part", args=[c["part"].pk])),
    "wall_card": lambda c, u: api(u).get(f"/api/v1/wall/DR/incidents/{c['incident'].pk}/"),
}
# What the outsiders get: 404 (the case or order does not exist for them), or 403 where their role
# itself is refused before any row is looked at.
CLOSED = {**dict.fromkeys(DOORS, 404), "remind": 403, "wall_card": 403}
# Who passes each door, and what they get.
OPEN = [
    ("incident_api", "a", 200), ("incident_api", "leader1", 200), ("incident_api", "office_x", 200),
    ("incident_page", "a", 200), ("incident_page", "leader1", 200), ("incident_page", "office_x", 200),
    ("dispatch_summary", "a", 200), ("dispatch_summary", "leader1", 200), ("dispatch_summary", "office_x", 200),
    ("accept", "a", 200), ("decline", "a", 200), ("stand_down", "dispatcher", 200),
    ("replace", "dispatcher", 409),  # past the door: A's order is on time, nothing to replace
    ("remind", "dispatcher", 200), ("member_order", "a", 200), ("dept_part", "office_x", 200),
    ("alarm_ack", "unit_leader", 200),
    ("wall_card", "dispatcher", 200),
]


def test_the_doors_table_covers_every_door():
    assert set(CLOSED) == set(DOORS) == {door for door, _, _ in OPEN}


@pytest.mark.parametrize("who", OUTSIDERS)
@pytest.mark.parametrize("door", list(DOORS))
def test_an_outsider_finds_each_door_closed(ctx, door, who):
    response = DOORS[door](ctx, ctx[who])
    assert response.status_code == CLOSED[door], (door, who, response.status_code, response.content[:300])
    # A refused POST changes nothing.
    order = DispatchOrder.objects.get(pk=ctx["order"].pk)
    assert order.state == DispatchOrder.State.DISPATCHED and order.replacements.count() == 0


@pytest.mark.parametrize(("door", "who", "status"), OPEN)
def test_the_rightful_user_passes_each_door(ctx, door, who, status):
    response = DOORS[door](ctx, ctx[who])
    assert response.status_code == status, (door, who, response.status_code, response.content[:300])


def test_a_grid_leader_reads_the_cases_of_their_grid_but_may_not_act_on_them(ctx):
    leader, incident = ctx["leader1"], ctx["incident"]
    assert api(leader).get(reverse("incidents:incident-detail", args=[incident.pk])).status_code == 200
    # A's order is not theirs to answer; the on-site moves belong to the dispatched member.
    assert DOORS["accept"](ctx, leader).status_code == 403
    assert DOORS["decline"](ctx, leader).status_code == 403
    response = api(leader).post(reverse("incidents:incident-transition", args=[incident.pk]),
                                {"action": "arrive"}, format="json")
    assert response.status_code == 403, response.content
    # Nor do they see A's order in the app, or office X's part.
    assert DOORS["member_order"](ctx, leader).status_code == 404
    assert DOORS["dept_part"](ctx, leader).status_code == 404
    incident.refresh_from_db()
    assert incident.status == Status.DISPATCHED
    assert DispatchOrder.objects.get(pk=ctx["order"].pk).state == DispatchOrder.State.DISPATCHED
    # The leader of the other grid does not see the case at all.
    assert api(ctx["leader2"]).get(reverse("incidents:incident-detail", args=[incident.pk])).status_code == 404


def test_my_team_shows_each_leader_their_own_and_nobody_else_theirs(ctx):
    def team(who) -> dict:
        response = api(ctx[who]).get(reverse("member_app:team"))
        assert response.status_code == 200, (who, response.content)
        return response.json()

    incident, order, alarm = ctx["incident"], ctx["order"], ctx["alarm"]
    assert [i["id"] for i in team("leader1")["incidents"]] == [incident.pk]
    assert team("leader2")["incidents"] == []  # grid 2's leader: not grid 1's case
    mine = team("unit_leader")
    assert [o["id"] for o in mine["orders"]] == [order.pk] and [a["id"] for a in mine["alarms"]] == [alarm.pk]
    for who in ("a", "b", "office_x", "office_y"):
        assert team(who)["roles"] == [], who
    assert api(ctx["dispatcher"]).get(reverse("member_app:team")).status_code == 403  # not a member
    # The late member was told of the alarm as a reminder: not theirs to acknowledge.
    assert DOORS["alarm_ack"](ctx, ctx["a"]).status_code == 404
    assert Alarm.objects.get(pk=alarm.pk).state == Alarm.State.OPEN


# --- the sockets ------------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_the_wall_socket_is_for_the_staff_only(_fresh_channel_layer):  # noqa: F811
    from wall.consumers import CLOSE_FORBIDDEN

    ctx = build()
    for who in OUTSIDERS:
        assert async_to_sync(closed_with)(socket("/ws/wall/DR/", ctx[who])) == CLOSE_FORBIDDEN, who

    async def stays_open(communicator) -> tuple[bool, bool]:
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        nothing = await communicator.receive_nothing(timeout=0.2)  # no close frame
        await communicator.disconnect()
        return connected, nothing

    assert async_to_sync(stays_open)(socket("/ws/wall/DR/", ctx["dispatcher"])) == (True, True)


@pytest.mark.django_db(transaction=True)
def test_only_the_member_reads_their_message_on_the_member_socket(_fresh_channel_layer):  # noqa: F811
    ctx = build()
    message_id = ctx["message"].pk

    async def read(communicator):
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        while (await communicator.receive_json_from(timeout=TIMEOUT))["type"] != "caught_up":
            pass
        await communicator.send_json_to({"type": "read", "message": message_id})
        answer = await communicator.receive_json_from(timeout=TIMEOUT)
        await communicator.disconnect()
        return answer

    for who in OUTSIDERS:
        answer = async_to_sync(read)(socket("/ws/member/", ctx[who]))
        assert (answer["type"], answer["code"], answer["message"]) == ("error", "not_found", message_id), who
        assert MemberMessage.objects.get(pk=message_id).read_at is None
    answer = async_to_sync(read)(socket("/ws/member/", ctx["a"]))
    assert answer["type"] == "read" and answer["message"] == message_id
    assert MemberMessage.objects.get(pk=message_id).read_at is not None


@pytest.mark.django_db(transaction=True)
def test_only_office_x_hears_of_its_part_on_the_unit_socket(_fresh_channel_layer):  # noqa: F811
    """ws/dept/: B and the leader of grid 2 hold their squad's queue, office Y its own; none hears
    of X's part going overdue (the SLA clock's alarm), office X does. A desk holds no queue: 4403."""
    from channels.db import database_sync_to_async

    from dispatch.sla import sla_tick
    from wall.consumers import CLOSE_FORBIDDEN

    ctx = build()
    assert async_to_sync(closed_with)(socket("/ws/dept/", ctx["dispatcher"])) == CLOSE_FORBIDDEN
    Handover.objects.filter(pk=ctx["part"].pk).update(accept_by=timezone.now() - timedelta(minutes=1))
    sockets = {who: socket("/ws/dept/", ctx[who]) for who in (*OUTSIDERS, "office_x")}

    async def scenario():
        for communicator in sockets.values():
            connected, _ = await communicator.connect(timeout=TIMEOUT)
            assert connected
            assert (await communicator.receive_json_from(timeout=TIMEOUT))["type"] == "caught_up"
        await database_sync_to_async(sla_tick)()
        heard = await sockets["office_x"].receive_json_from(timeout=TIMEOUT)
        quiet = {who: await sockets[who].receive_nothing(timeout=0.2) for who in OUTSIDERS}
        for communicator in sockets.values():
            await communicator.disconnect()
        return heard, quiet

    heard, quiet = async_to_sync(scenario)()
    assert (heard["message"]["kind"], heard["message"]["handover"]) == ("overdue", ctx["part"].pk)
    assert quiet == dict.fromkeys(OUTSIDERS, True)
