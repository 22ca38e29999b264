"""The department queue's live channel (`ws/dept/`, dispatch.consumers.DeptConsumer) and the
messages to an office (dispatch/unit_notify.py), through the real ASGI stack on real PostGIS.

Two offices, labour (劳动保障中队) and urban (城管中队), each with a department user linked to a
member on duty. A hand-over to one office reaches that office's socket once, after the commit, and
never the other's; the command room's moves on an office's part (sent back, completed on its
behalf, the case reopened) reach it and write it a message; an office's own moves only refresh its
colleagues' pages; the SLA clock's overdue alarm reaches it from the clock's own process. The
doors: anonymous 4401, a user who holds no unit's queue 4403."""

import asyncio
import uuid
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.contrib.gis.geos import Point
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from config.roles import UserRole
from dispatch import consumers
from dispatch.models import Force, Member, MemberMessage, Role, TravelMode, Unit
from dispatch.services import incident_transition
from dispatch.unit_notify import office_recipients
from incidents.models import Handover, Incident, IncidentEvent, Status
from incidents.services import incident_intake
from tests.factories import S, W, make_channels, make_user, make_world, put_on_duty
from tests.wall.test_wall_relay import _fresh_channel_layer, run_command  # noqa: F401 - the fixture is used
from tests.wall.test_wall_socket import TIMEOUT, closed_with, socket
from wall import relay

Kind = MemberMessage.Kind
QUIET = 0.3  # seconds a socket is watched for a frame that must not come


def add_member(world, unit: Unit, code: str, name: str, *, roles=()) -> Member:
    n = Member.objects.filter(subdistrict=world["subdistrict"]).count() + 1
    return Member.objects.create(
        subdistrict=world["subdistrict"], unit=unit, code=code, name=name, force=Force.OFFICE_STAFF, roles=list(roles),
        phone=f"1390000{n:04d}", travel_mode=TravelMode.CAR, home=Point(W + 0.002, S + 0.002, srid=4326))


def build() -> dict:
    world = make_world("DL")
    world.update(make_channels())
    sub = world["subdistrict"]
    labour = Unit.objects.create(subdistrict=sub, code="DL-LAB", name="劳动保障中队", kind=Unit.Kind.LABOUR_SECURITY)
    urban = Unit.objects.create(subdistrict=sub, code="DL-URB", name="城管中队", kind=Unit.Kind.URBAN_MANAGEMENT)
    labour_member = add_member(world, labour, "DL-L1", "王芳")
    urban_member = add_member(world, urban, "DL-U1", "刘强")
    put_on_duty(labour_member, urban_member)
    world.update(
        labour=labour, urban=urban, labour_member=labour_member, urban_member=urban_member,
        labour_user=make_user("dl-lab", UserRole.DEPARTMENT, member=labour_member),
        urban_user=make_user("dl-urb", UserRole.DEPARTMENT, member=urban_member),
        dispatcher=make_user("dl-disp", UserRole.DISPATCHER),
    )
    return world


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def on_site_case(world, number: str = "DL-00001") -> Incident:
    """A case on site, the responder arrived: the command room may transfer it."""
    return Incident.objects.create(
        subdistrict=world["subdistrict"], number=number, channel=world["channel"], category=world["category"],
        status=Status.ARRIVED, description="工地拖欠农民工工资引发聚集", address_text="幸福路 8 号",
        location=Point(W + 0.002, S + 0.004, srid=4326), grid=world["grids"][0], community=world["community"],
        reported_at=timezone.now() - timedelta(minutes=20))


def transfer(world, case: Incident, unit: Unit) -> None:
    incident_transition(incident_id=case.pk, action="transfer", actor=world["dispatcher"], unit=unit,
                        text="涉及拖欠工资，移交处理")


def assignment_form(world, *offices: Unit) -> Incident:
    return incident_intake(channel=world["joint"], category=world["category"], actor=world["dispatcher"],
                           description="联席会商交办:某小区违建及拖欠工资", address_text="幸福路 8 号",
                           subdistrict=world["subdistrict"], offices=list(offices)).incident


def move(world, who: str, case: Incident, action: str, **kw) -> None:
    user = world[who]
    if who != "dispatcher":
        kw.setdefault("unit", user.member.unit)
    incident_transition(incident_id=case.pk, action=action, actor=user, **kw)


def messages(**filters) -> list[MemberMessage]:
    return list(MemberMessage.objects.filter(**filters).order_by("id"))


async def connected(*communicators) -> None:
    for communicator in communicators:
        ok, _ = await communicator.connect(timeout=TIMEOUT)
        assert ok
        while (await communicator.receive_json_from(timeout=TIMEOUT))["type"] != "caught_up":
            pass


async def news(communicator) -> dict:
    frame = await communicator.receive_json_from(timeout=TIMEOUT)
    assert frame["type"] == "message", frame
    return frame["message"]


# --- the doors --------------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_the_unit_socket_refuses_anonymous_and_whoever_holds_no_units_queue():
    world = build()
    assert async_to_sync(closed_with)(socket("/ws/dept/")) == consumers.CLOSE_ANONYMOUS
    no_member = make_user("dl-nobody", UserRole.DEPARTMENT)  # a department login linked to nobody
    responder = make_user("dl-resp", UserRole.RESPONDER)  # a responder with no member record
    planner = make_user("dl-plan", UserRole.PLANNER, member=add_member(world, world["labour"], "DL-P", "规划员"))
    for user in (world["dispatcher"], no_member, responder, planner):
        assert async_to_sync(closed_with)(socket("/ws/dept/", user)) == consumers.CLOSE_FORBIDDEN, user
    Member.objects.filter(pk=world["urban_member"].pk).update(active=False)
    assert async_to_sync(closed_with)(socket("/ws/dept/", world["urban_user"])) == consumers.CLOSE_FORBIDDEN
    bad = socket("/ws/dept/?last_message=abc", world["labour_user"])
    assert async_to_sync(closed_with)(bad) == consumers.CLOSE_BAD_REQUEST

    async def greeting(communicator) -> dict:
        ok, _ = await communicator.connect(timeout=TIMEOUT)
        assert ok
        frame = await communicator.receive_json_from(timeout=TIMEOUT)
        await communicator.disconnect()
        return frame

    assert async_to_sync(greeting)(socket("/ws/dept/", world["labour_user"])) == {
        "type": "caught_up", "last_message": None}
    assert async_to_sync(greeting)(socket("/ws/dept/?last_message=41", world["labour_user"])) == {
        "type": "caught_up", "last_message": 41}


# --- a new hand-over ----------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_a_transfer_reaches_the_units_socket_once_after_the_commit_and_no_other_unit(_fresh_channel_layer):  # noqa: F811
    world = build()
    case = on_site_case(world)
    labour, urban = socket("/ws/dept/", world["labour_user"]), socket("/ws/dept/", world["urban_user"])
    app = socket("/ws/member/", world["labour_user"])  # the department user is a member: the app's socket too

    async def scenario():
        await connected(labour, urban, app)

        @database_sync_to_async
        def transfer_and_peek():
            with transaction.atomic():
                transfer(world, case, world["labour"])
                assert async_to_sync(labour.receive_nothing)(timeout=QUIET)  # not committed: nothing yet
                assert async_to_sync(app.receive_nothing)(timeout=QUIET)

        await transfer_and_peek()
        frame = await news(labour)
        told = await app.receive_json_from(timeout=TIMEOUT)
        quiet = (await labour.receive_nothing(timeout=QUIET), await urban.receive_nothing(timeout=QUIET))
        for communicator in (labour, urban, app):
            await communicator.disconnect()
        return frame, told, quiet

    frame, told, quiet = async_to_sync(scenario)()
    part = Handover.objects.get(incident=case)
    assert part.unit == world["labour"]
    assert {k: frame[k] for k in ("kind", "incident", "number", "handover")} == {
        "kind": "handover", "incident": case.pk, "number": case.number, "handover": part.pk}
    assert quiet == (True, True)  # once; and the other office hears nothing
    (message,) = messages()
    assert (message.member, message.kind, message.incident, message.order) == (
        world["labour_member"], Kind.ORDER, case, None)
    assert case.number in message.title and "幸福路 8 号" in message.body
    assert told["type"] == "message" and told["message"]["id"] == message.pk


# --- the command room's moves on an office's part ------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_the_command_rooms_moves_on_a_part_reach_its_office_and_the_offices_own_moves_only_refresh(
        _fresh_channel_layer):  # noqa: F811
    world = build()
    labour, urban = socket("/ws/dept/", world["labour_user"]), socket("/ws/dept/", world["urban_user"])

    async def scenario():
        await connected(labour, urban)
        run = database_sync_to_async
        seen = {}
        case = await run(assignment_form)(world, world["labour"], world["urban"])
        # An assignment form names no unit in its event: each office's socket looks its part up.
        seen["form"] = (await news(labour), await news(urban))
        await run(move)(world, "labour_user", case, "accept_handover")
        seen["accepted"] = await news(labour)  # its colleagues' pages refresh
        assert await urban.receive_nothing(timeout=QUIET)
        await run(move)(world, "urban_user", case, "accept_handover")
        assert (await news(urban))["kind"] == "changed"
        await run(move)(world, "dispatcher", case, "complete", unit=world["labour"], text="企业已结清工资",
                        reason="中队长电话确认已办结")
        seen["on_behalf"] = await news(labour)
        assert await urban.receive_nothing(timeout=QUIET)
        await run(move)(world, "urban_user", case, "complete", text="违建已拆除")
        assert (await news(urban))["kind"] == "changed"
        await run(move)(world, "dispatcher", case, "send_back", unit=world["labour"], text="请补充工资发放凭证")
        seen["sent_back"] = await news(labour)
        assert await urban.receive_nothing(timeout=QUIET)
        await run(move)(world, "labour_user", case, "complete", text="凭证已补充")
        assert (await news(labour))["kind"] == "changed"
        await run(move)(world, "dispatcher", case, "confirm")
        await run(move)(world, "dispatcher", case, "feed_back", text="已反馈")
        await run(move)(world, "dispatcher", case, "reopen", text="当事人反映工资仍未到账")
        seen["reopened"] = (await news(labour), await news(urban))
        assert await labour.receive_nothing(timeout=QUIET) and await urban.receive_nothing(timeout=QUIET)
        for communicator in (labour, urban):
            await communicator.disconnect()
        return case, seen

    case, seen = async_to_sync(scenario)()
    lab, urb = (Handover.objects.get(incident=case, unit=world[u]) for u in ("labour", "urban"))
    assert [(f["kind"], f["handover"]) for f in seen["form"]] == [("handover", lab.pk), ("handover", urb.pk)]
    assert (seen["accepted"]["kind"], seen["accepted"]["handover"]) == ("changed", lab.pk)
    assert (seen["on_behalf"]["kind"], seen["on_behalf"]["handover"]) == ("on_behalf", lab.pk)
    assert (seen["sent_back"]["kind"], seen["sent_back"]["handover"]) == ("sent_back", lab.pk)
    assert [(f["kind"], f["handover"]) for f in seen["reopened"]] == [("reopened", lab.pk), ("reopened", urb.pk)]
    # The messages: what the command room decided about each office's part, once each; the offices'
    # own moves tell nobody.
    told = [(m.member, m.kind) for m in messages(incident=case)]
    assert told == [
        (world["labour_member"], Kind.ORDER), (world["urban_member"], Kind.ORDER),  # the form's new parts
        (world["labour_member"], Kind.STAND_DOWN),  # completed on its behalf
        (world["labour_member"], Kind.ORDER),  # sent back
        (world["labour_member"], Kind.ORDER), (world["urban_member"], Kind.ORDER),  # reopened
    ]
    assert case.number in messages(incident=case)[0].title
    on_behalf = messages(incident=case)[2]
    assert case.number in on_behalf.title and "中队长电话确认已办结" in on_behalf.body
    assert "请补充工资发放凭证" in messages(incident=case)[3].body


# --- the SLA clock's alarm, from the clock's own process -----------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_an_overdue_hand_over_reaches_the_units_socket_from_the_clocks_process(_fresh_channel_layer):  # noqa: F811
    """`run_sla_clock` holds no sockets: without Redis its alarm event travels through PostgreSQL
    (config.live) to the server, whose unit sockets pick their unit's alarms from the stream."""
    world = build()
    case = on_site_case(world)
    transfer(world, case, world["labour"])
    Handover.objects.filter(incident=case).update(accept_by=timezone.now() - timedelta(minutes=1))
    labour, urban = socket("/ws/dept/", world["labour_user"]), socket("/ws/dept/", world["urban_user"])

    async def scenario():
        await connected(labour, urban)
        await relay.wait_listening()
        await asyncio.get_running_loop().run_in_executor(None, run_command, ["run_sla_clock", "--once"])
        frame = await labour.receive_json_from(timeout=10)
        quiet = await urban.receive_nothing(timeout=QUIET)
        for communicator in (labour, urban):
            await communicator.disconnect()
        return frame, quiet

    frame, quiet = async_to_sync(scenario)()
    part = Handover.objects.get(incident=case)
    assert part.accept_escalated_at is not None
    assert frame["type"] == "message"
    assert {k: frame["message"][k] for k in ("kind", "incident", "handover")} == {
        "kind": "overdue", "incident": case.pk, "handover": part.pk}
    assert quiet


# --- who is told, and once ----------------------------------------------------------------------------

@pytest.fixture
def world(db):
    return build()


def test_a_replayed_transfer_tells_the_office_once(world):
    case = on_site_case(world)
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.force_authenticate(world["dispatcher"])
    key = f"dl-{uuid.uuid4().hex}"
    for _ in range(2):
        response = api.post(reverse("incidents:incident-transition", args=[case.pk]),
                            {"action": "transfer", "unit": world["labour"].pk, "text": "移交劳动保障中队"},
                            format="json", HTTP_IDEMPOTENCY_KEY=key)
        assert response.status_code == 200, response.content
    assert [(m.member, m.kind) for m in messages()] == [(world["labour_member"], Kind.ORDER)]


def test_the_office_is_its_unit_leaders_and_department_logins_on_duty(world):
    labour = world["labour"]
    leader = add_member(world, labour, "DL-L0", "中队长", roles=[Role.UNIT_LEADER])  # no app login
    resting = add_member(world, labour, "DL-L2", "休班科员")
    make_user("dl-rest", UserRole.DEPARTMENT, member=resting)  # off duty: not told
    worker = add_member(world, labour, "DL-L3", "协管员")  # neither: not the office
    put_on_duty(leader, worker)
    now = timezone.now()
    assert office_recipients(labour.pk, now) == [leader, world["labour_member"]]
    assert office_recipients(labour.pk, now, actor=world["labour_user"]) == [leader]

    transfer(world, on_site_case(world), labour)
    by_member = {m.member: m for m in messages()}
    assert set(by_member) == {leader, world["labour_member"]}
    # The leader has no app login: sent outbound at once; the department user has the grace to read it.
    assert by_member[leader].deliver_after == by_member[leader].created_at
    assert by_member[world["labour_member"]].deliver_after > by_member[world["labour_member"]].created_at


def test_an_offices_own_moves_and_a_return_tell_nobody(world):
    case = assignment_form(world, world["labour"], world["urban"])
    told = messages()  # the form's new parts: each office is told once
    assert {(m.member, m.kind) for m in told} == {(world["labour_member"], Kind.ORDER),
                                                  (world["urban_member"], Kind.ORDER)}
    move(world, "labour_user", case, "accept_handover")
    move(world, "labour_user", case, "progress", text="已约谈企业负责人")
    move(world, "urban_user", case, "return_handover", text="不属本单位职责")
    move(world, "labour_user", case, "complete", text="企业已结清工资")
    assert messages() == told


def test_an_assignment_form_is_news_only_to_the_offices_it_names():
    """The form's created event names its offices: no other unit's socket reads the database."""
    from dispatch.live import unit_news

    created = {"kind": IncidentEvent.Kind.CREATED, "to": Status.ASSIGNED, "data": {"offices": [7, 9]}}
    assert unit_news(created, 8) is None
    news = unit_news(created, 9)
    assert news.kind == "handover" and news.check == (Handover.State.PENDING,)
