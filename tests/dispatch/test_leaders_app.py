"""Leaders in the responders' app (issue 10): "My team" (/api/v1/m/team/) shows a grid leader the open
cases of their grids and who is sent to each, a unit leader their unit's current orders and the
overdue alarms they were told of, each with a phone to call — and nobody else's; a unit leader
acknowledges such an alarm in one tap (/api/v1/m/alarms/{id}/acknowledge/), recorded in the timeline."""

import json
import re
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config.roles import UserRole
from dispatch.models import Alarm, DispatchOrder, Force, Unit
from dispatch.sla import sla_tick
from incidents.models import Handover, Incident, IncidentEvent, Status
from tests.dispatch.test_sla_clock import add_leaders, add_member, make_incident, make_order
from tests.factories import api_client, make_user

TEAM = reverse("member_app:team")


def ack_url(alarm_id: int) -> str:
    return reverse("member_app:alarm-acknowledge", args=[alarm_id])


def ack(user, alarm_id: int, body=None, key=None):
    return api_client(user).post(ack_url(alarm_id), body or {}, format="json",
                                 HTTP_IDEMPOTENCY_KEY=key or f"ack-{uuid.uuid4().hex}")


@pytest.fixture
def ctx(world, users):
    """tests/dispatch/test_sla_clock.py's world (a grid squad: 张伟 late on a case of grid 1, unit leaders 班长甲
    on duty and 班长乙 off duty), a grid leader of grid 1 and one of grid 2, a member of another unit
    on a case of grid 2, and the SLA clock's alarm to 班长甲."""
    add_leaders(world)
    grid1, grid2 = world["grids"]
    other_unit = Unit.objects.create(subdistrict=world["subdistrict"], code="T1-U2", name="城管中队",
                                     kind=Unit.Kind.URBAN_MANAGEMENT, phone="88612345")
    gl1 = add_member(world, "T1-GL1", "网格长一", force=Force.GRID_LEADER)
    gl1.grids.add(grid1)
    gl2 = add_member(world, "T1-GL2", "网格长二", roles=["grid_leader"])
    gl2.grids.add(grid2)
    stranger = add_member(world, "T1-O1", "外单位", unit=other_unit, force=Force.URBAN_MANAGEMENT)
    now = timezone.now()
    late_case = make_incident(world, address_text="古墩路8号")
    late = make_order(world, late_case, world["member"], arrive_by=now - timedelta(minutes=1))
    in_grid2 = make_incident(world)
    Incident.objects.filter(pk=in_grid2.pk).update(grid=grid2)
    on_time = make_order(world, in_grid2, stranger, arrive_by=now + timedelta(minutes=20))
    closed = make_incident(world, status=Status.CLOSED, closed_at=now)
    sla_tick()
    alarm = Alarm.objects.get(order=late)
    logins = {
        "gl1": make_user("gl1", UserRole.RESPONDER, member=gl1),
        "gl2": make_user("gl2", UserRole.RESPONDER, member=gl2),
        "leader": make_user("ul", UserRole.RESPONDER, member=world["leader_on"]),
        "leader_off": make_user("ul2", UserRole.RESPONDER, member=world["leader_off"]),
        "late": users.responder,
        "dispatcher": users.dispatcher,
    }
    return {**world, **logins, "late_case": late_case, "late_order": late, "on_time": on_time, "closed": closed,
            "alarm": alarm, "stranger": stranger}


def team(user) -> dict:
    response = api_client(user).get(TEAM)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_grid_leader_sees_only_the_open_cases_of_their_grids(ctx):
    body = team(ctx["gl1"])
    assert body["roles"] == ["grid_leader"] and set(body) == {"now", "roles", "incidents"}
    (case,) = body["incidents"]  # not grid 2's case, not the closed one
    assert (case["id"], case["number"], case["address_text"], case["grid"]) == (
        ctx["late_case"].pk, ctx["late_case"].number, "古墩路8号", "第一网格")
    (order,) = case["orders"]
    assert order["member"] == {"id": ctx["member"].pk, "name": "张伟", "unit": "网格中队", "phone": "13800000001"}
    assert (order["state"], order["overdue"]) == ("dispatched", True)
    (case2,) = team(ctx["gl2"])["incidents"]
    assert case2["id"] == ctx["on_time"].incident_id and case2["orders"][0]["overdue"] is False


def test_a_unit_leader_sees_their_units_current_orders_and_their_alarms(ctx):
    body = team(ctx["leader"])
    assert body["roles"] == ["unit_leader"] and set(body) == {"now", "roles", "unit", "orders", "alarms"}
    assert body["unit"]["name"] == "网格中队"
    (order,) = body["orders"]  # not the other unit's member
    assert (order["id"], order["member"]["phone"], order["incident"]["number"], order["overdue"]) == (
        ctx["late_order"].pk, "13800000001", ctx["late_case"].number, True)
    (alarm,) = body["alarms"]
    assert (alarm["id"], alarm["kind"], alarm["acknowledged"], alarm["can_acknowledge"]) == (
        ctx["alarm"].pk, "arrival_overdue", False, True)
    assert alarm["member"]["name"] == "张伟" and alarm["incident"]["number"] == ctx["late_case"].number
    # The unit leader off duty was not told: the unit's orders, no alarm.
    off = team(ctx["leader_off"])
    assert off["roles"] == ["unit_leader"] and off["alarms"] == [] and len(off["orders"]) == 1


def test_a_plain_responder_gets_no_section_and_a_non_member_is_refused(ctx):
    plain = team(ctx["late"])
    assert set(plain) == {"now", "roles"} and plain["roles"] == []
    refused = api_client(ctx["dispatcher"]).get(TEAM)
    assert refused.status_code == 403 and "not linked to an active member" in refused.json()["detail"]
    assert ack(ctx["dispatcher"], ctx["alarm"].pk).status_code == 403
    ctx["member"].active = False
    ctx["member"].save(update_fields=["active"])
    assert api_client(ctx["late"]).get(TEAM).status_code == 403  # no longer an active member


def test_only_a_leader_told_of_it_acknowledges_an_alarm(ctx):
    alarm = ctx["alarm"]
    # The leader who was not told, the late member (told as a reminder), a grid leader: 404.
    for who in ("leader_off", "late", "gl1"):
        response = ack(ctx[who], alarm.pk)
        assert response.status_code == 404, (who, response.content)
    assert ack(ctx["leader"], 999999).status_code == 404
    alarm.refresh_from_db()
    assert alarm.state == Alarm.State.OPEN
    assert not IncidentEvent.objects.filter(kind=IncidentEvent.Kind.ALARM_HANDLED).exists()


def test_the_acknowledgement_is_in_the_timeline_and_idempotent(ctx):
    alarm = ctx["alarm"]
    first = ack(ctx["leader"], alarm.pk, {"note": "已电话联系张伟"}, key="ack-1")
    assert first.status_code == 200, first.content
    assert first.json()["acknowledged"] is True and first.json()["acknowledged_by"] == "班长甲"
    replay = ack(ctx["leader"], alarm.pk, {"note": "已电话联系张伟"}, key="ack-1")
    assert replay.status_code == 200 and replay["Idempotent-Replayed"] == "true" and replay.json() == first.json()
    again = ack(ctx["leader"], alarm.pk, key="ack-2")  # a second tap: nothing changes
    assert again.status_code == 200 and again.json()["acknowledged_at"] == first.json()["acknowledged_at"]
    (event,) = IncidentEvent.objects.filter(kind=IncidentEvent.Kind.ALARM_HANDLED)
    assert event.incident_id == ctx["late_case"].pk and event.actor_member == ctx["leader_on"]
    assert event.data["action"] == "acknowledged" and event.data["by_leader"] is True
    assert event.data["alarm"] == alarm.pk and "已电话联系张伟" in event.note
    alarm.refresh_from_db()
    assert (alarm.state, alarm.acknowledged_by) == (Alarm.State.ACKNOWLEDGED, ctx["leader"])
    (listed,) = team(ctx["leader"])["alarms"]
    assert listed["acknowledged"] is True and listed["can_acknowledge"] is False
    # The order stays late: the unit leader still sees it overdue.
    assert DispatchOrder.objects.get(pk=ctx["late_order"].pk).state == DispatchOrder.State.DISPATCHED
    assert team(ctx["leader"])["orders"][0]["overdue"] is True


def test_the_team_is_read_in_a_fixed_number_of_queries(ctx, django_assert_max_num_queries):
    for _ in range(5):
        make_order(ctx, make_incident(ctx), add_member(ctx, f"T1-X{_}", f"队员X{_}"),
                   arrive_by=timezone.now() + timedelta(minutes=10))
    # The member (at the door), then one query per list; a grid leader's roles, their cases and
    # the cases' orders (one prefetch).
    with django_assert_max_num_queries(3):
        assert len(team(ctx["leader"])["orders"]) == 6
    with django_assert_max_num_queries(4):
        assert len(team(ctx["gl1"])["incidents"]) == 6


def test_the_page_hands_my_teams_configuration_through_json_script(ctx):
    client = Client()
    client.force_login(ctx["leader"])
    client.cookies["django_language"] = "en"
    response = client.get(reverse("mobile:app"))
    assert response.status_code == 200
    match = re.search(r'<script id="m-team-config" type="application/json">(.*?)</script>', response.text, re.S)
    assert match, "My team's configuration comes through json_script #m-team-config"
    config = json.loads(match.group(1))
    assert config["member"] == ctx["leader_on"].pk and config["timeZone"] == "Asia/Shanghai"
    assert config["api"] == {"team": "/api/v1/m/team/", "acknowledge": "/api/v1/m/alarms/{id}/acknowledge/"}
    assert config["csrf"] == {"cookie": "csrftoken", "header": "X-CSRFTOKEN"}
    assert config["refreshSeconds"] == 30 and config["text"]["acknowledge"] == "Acknowledge"
    assert '<script type="module" src="/static/gridlink/m/team.js"></script>' in response.text
    # The section waits hidden until the module knows what the member leads.
    assert re.search(r'<section[^>]*id="m-team"[^>]*hidden', response.text)


def test_a_hand_over_alarm_shows_the_late_office_to_call(ctx):
    now = timezone.now()
    office = Unit.objects.get(code="T1-U2")
    handover = Handover.objects.create(incident=ctx["late_case"], unit=office, kind=Handover.Kind.TRANSFER,
                                       reason="移交", accept_by=now - timedelta(hours=1),
                                       deadline=now + timedelta(days=1), created_at=now - timedelta(hours=2))
    alarm = Alarm.objects.create(subdistrict=ctx["subdistrict"], incident=ctx["late_case"], handover=handover,
                                 kind=Alarm.Kind.HANDOVER_ACCEPT_OVERDUE, due_at=handover.accept_by, raised_at=now,
                                 notified=[ctx["leader_on"].pk])
    listed = {a["id"]: a for a in team(ctx["leader"])["alarms"]}
    assert listed[alarm.pk]["member"] is None
    assert listed[alarm.pk]["unit"] == {"name": "城管中队", "phone": "88612345"}
    assert ack(ctx["leader"], alarm.pk).status_code == 200
    assert Alarm.objects.get(pk=alarm.pk).state == Alarm.State.ACKNOWLEDGED
