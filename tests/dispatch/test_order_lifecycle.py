"""Dispatch orders after the dispatch: the member accepts or declines (a dispatcher may record it on
their behalf), refusals (403 for somebody else, 409 for a finished order), the escalation level, and
the arrival distance check (flagged, never refused). Through the services and the API."""

from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from pyproj import Geod

from config.errors import DomainError, Forbidden, TransitionRefused
from config.roles import UserRole
from dispatch.models import DispatchOrder, MemberPosition
from dispatch.rules_seed import rules_seed
from dispatch.services import (
    escalation_max_level,
    incident_raise_level,
    incident_transition,
    order_accept,
    order_decline,
)
from incidents.models import Incident, IncidentEvent, Status
from incidents.services import incident_intake
from tests.factories import S, W, add_grid_worker, api_client, make_user
from tests.frontend.test_console_pages import json_script

pytestmark = pytest.mark.django_db

SCENE = Point(W + 0.004, S + 0.004, srid=4326)
GEOD = Geod(ellps="WGS84")


def offset(point: Point, metres: float) -> Point:
    """The point `metres` due east of `point` (geodesic)."""
    lon, lat, _back = GEOD.fwd(point.x, point.y, 90, metres)
    return Point(lon, lat, srid=4326)


@pytest.fixture
def ctx(world, users):
    """The shared world with a second grid worker, the users, and a case with both members dispatched."""
    rules_seed()  # the ladder's rings: the highest level is the highest ring the rules define
    other = add_grid_worker(world)
    world.update(
        other=other, dispatcher=users.dispatcher, command=users.command_room, calltaker=users.call_taker,
        responder=users.responder, other_responder=make_user("resp2", UserRole.RESPONDER, member=other),
        stranger=make_user("stranger", UserRole.RESPONDER),
    )
    incident = incident_intake(channel=world["channel"], category=world["category"], actor=world["calltaker"],
                               description="小区门口两人因停车发生争执", location=SCENE).incident
    send(incident, [world["member"], other], world["dispatcher"])
    world["incident"] = incident
    world["order"] = DispatchOrder.objects.get(incident=incident, member=world["member"])
    world["other_order"] = DispatchOrder.objects.get(incident=incident, member=other)
    return world


def send(incident: Incident, members, actor) -> list[DispatchOrder]:
    """Orders as the dispatch leaves them (written directly: the dispatch form and its
    recommendation are tested elsewhere and need the demo's roads)."""
    now = timezone.now()
    orders = [DispatchOrder.objects.create(incident=incident, member=m, method=DispatchOrder.Method.RADIO,
                                           dispatched_at=now, dispatched_by=actor,
                                           arrive_by=now + timedelta(minutes=30)) for m in members]
    Incident.objects.filter(pk=incident.pk, status=Status.NEW).update(status=Status.DISPATCHED)
    return orders


def events(incident, kind) -> list[IncidentEvent]:
    return list(IncidentEvent.objects.filter(incident=incident, kind=kind).order_by("id"))


# --- accept and decline ---------------------------------------------------------------------------

def test_the_member_accepts_their_own_order(ctx):
    order = order_accept(order_id=ctx["order"].pk, actor=ctx["responder"])
    order.refresh_from_db()
    assert order.state == DispatchOrder.State.ACCEPTED and order.accepted_at is not None
    (event,) = events(ctx["incident"], IncidentEvent.Kind.ORDER_ACCEPTED)
    assert event.actor == ctx["responder"] and event.actor_member == ctx["member"]
    assert event.data["order"] == order.pk and event.data["on_behalf"] is False


def test_a_dispatcher_records_the_answer_on_the_members_behalf(ctx):
    order_accept(order_id=ctx["order"].pk, actor=ctx["dispatcher"])
    order_decline(order_id=ctx["other_order"].pk, actor=ctx["command"], reason="电话告知:车辆故障")
    accepted, declined = (DispatchOrder.objects.get(pk=o.pk) for o in (ctx["order"], ctx["other_order"]))
    assert accepted.state == DispatchOrder.State.ACCEPTED
    assert declined.state == DispatchOrder.State.DECLINED and declined.decline_reason == "电话告知:车辆故障"
    assert events(ctx["incident"], IncidentEvent.Kind.ORDER_ACCEPTED)[0].data["on_behalf"] is True
    assert events(ctx["incident"], IncidentEvent.Kind.ORDER_DECLINED)[0].data["on_behalf"] is True


def test_another_member_may_not_answer_an_order(ctx):
    order = ctx["order"]
    for actor in (ctx["other_responder"], ctx["stranger"], ctx["calltaker"]):
        with pytest.raises(Forbidden):
            order_accept(order_id=order.pk, actor=actor)
        with pytest.raises(Forbidden):
            order_decline(order_id=order.pk, actor=actor, reason="不去")
    order.refresh_from_db()
    assert order.state == DispatchOrder.State.DISPATCHED
    assert not events(ctx["incident"], IncidentEvent.Kind.ORDER_ACCEPTED)


def test_a_finished_order_cannot_be_answered(ctx):
    order = ctx["order"]
    order_accept(order_id=order.pk, actor=ctx["responder"])
    with pytest.raises(TransitionRefused):  # twice
        order_accept(order_id=order.pk, actor=ctx["responder"])
    incident_transition(incident_id=ctx["incident"].pk, action="arrive", actor=ctx["responder"])
    for call in (lambda: order_accept(order_id=order.pk, actor=ctx["responder"]),
                 lambda: order_decline(order_id=order.pk, actor=ctx["responder"], reason="晚了"),
                 lambda: order_accept(order_id=order.pk, actor=ctx["dispatcher"])):
        with pytest.raises(TransitionRefused):
            call()
    order.refresh_from_db()
    assert order.state == DispatchOrder.State.ARRIVED and order.declined_at is None


def test_declining_needs_a_reason_and_frees_the_member(ctx):
    order = ctx["order"]
    with pytest.raises(DomainError) as refused:
        order_decline(order_id=order.pk, actor=ctx["responder"], reason="  ")
    assert refused.value.http_status == 400
    order_decline(order_id=order.pk, actor=ctx["responder"], reason="正在处置另一起警情")
    order.refresh_from_db()
    assert order.state == DispatchOrder.State.DECLINED and order.declined_at is not None
    (event,) = events(ctx["incident"], IncidentEvent.Kind.ORDER_DECLINED)
    assert event.note == "正在处置另一起警情" and event.data["member_name"] == ctx["member"].name
    assert event.data["responders_left"] == 1  # the other member is still on the way
    with pytest.raises(TransitionRefused):  # declined is final
        order_decline(order_id=order.pk, actor=ctx["responder"], reason="再拒")
    # Free: no live order holds the member (the one-live-order-per-member index lets a new one in).
    send(ctx["incident"], [ctx["member"]], ctx["dispatcher"])
    assert DispatchOrder.objects.filter(incident=ctx["incident"], member=ctx["member"]).count() == 2


def test_orders_of_a_closed_case_are_not_answered(ctx):
    incident_transition(incident_id=ctx["incident"].pk, action="cancel", actor=ctx["dispatcher"], text="误报")
    with pytest.raises(TransitionRefused):
        order_accept(order_id=ctx["order"].pk, actor=ctx["responder"])


def test_answer_api(ctx):
    order, other = ctx["order"], ctx["other_order"]
    accept = reverse("dispatch:order-accept", args=[order.pk])
    answer = api_client(ctx["responder"]).post(accept)
    assert answer.status_code == 200, answer.content
    assert answer.json()["state"] == "accepted" and answer.json()["can_accept"] is False
    assert answer.json()["can_decline"] is True
    assert api_client(ctx["responder"]).post(accept).status_code == 409
    # Another member dispatched to the same case sees it, but may not answer this order.
    refused = api_client(ctx["other_responder"]).post(reverse("dispatch:order-decline", args=[order.pk]),
                                                      {"reason": "x"}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    # A responder who is not on the case does not even see it.
    assert api_client(ctx["stranger"]).post(accept).status_code == 404
    assert api_client(ctx["dispatcher"]).post(reverse("dispatch:order-accept", args=[999999])).status_code == 404
    decline = reverse("dispatch:order-decline", args=[other.pk])
    assert api_client(ctx["other_responder"]).post(decline, {"reason": ""}, format="json").status_code == 400
    declined = api_client(ctx["dispatcher"]).post(decline, {"reason": "请假"}, format="json")
    assert declined.status_code == 200 and declined.json()["decline_reason"] == "请假"
    # The incident's dispatch summary: what the responder may still do.
    summary = api_client(ctx["responder"]).get(reverse("dispatch:incident-dispatch", args=[ctx["incident"].pk]))
    assert summary.status_code == 200
    rows = {row["id"]: row for row in summary.json()["orders"]}
    assert rows[order.pk]["can_decline"] is True and rows[other.pk]["can_decline"] is False
    assert summary.json()["can_raise_level"] is False
    # The incident detail shows the declined order too.
    detail = api_client(ctx["dispatcher"]).get(reverse("incidents:incident-detail", args=[ctx["incident"].pk]))
    assert {o["id"]: o["state"] for o in detail.json()["orders"]}[other.pk] == "declined"


# --- escalation level -----------------------------------------------------------------------------

def test_a_dispatcher_raises_the_level(ctx):
    incident = incident_raise_level(incident_id=ctx["incident"].pk, actor=ctx["dispatcher"], note="现场人员不足")
    assert incident.level == 1
    (event,) = events(incident, IncidentEvent.Kind.LEVEL_RAISED)
    assert event.data == {"from": 0, "to": 1, "reason": "现场人员不足"}
    assert event.note.endswith("现场人员不足") and "0" in event.note and "1" in event.note
    with pytest.raises(TransitionRefused):  # a second dispatcher asking for level 1 at once
        incident_raise_level(incident_id=incident.pk, actor=ctx["command"], level=1)
    assert incident_raise_level(incident_id=incident.pk, actor=ctx["command"], level=3).level == 3
    with pytest.raises(DomainError) as too_high:
        incident_raise_level(incident_id=incident.pk, actor=ctx["command"], level=escalation_max_level() + 1)
    assert too_high.value.http_status == 400
    with pytest.raises(Forbidden):
        incident_raise_level(incident_id=incident.pk, actor=ctx["responder"])
    assert Incident.objects.get(pk=incident.pk).level == 3


def test_level_api(ctx):
    url = reverse("dispatch:incident-level", args=[ctx["incident"].pk])
    answer = api_client(ctx["dispatcher"]).post(url, {"note": "升级"}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["level"] == 1 and answer.json()["can_raise_level"] is True
    assert api_client(ctx["dispatcher"]).post(url, {"level": 1}, format="json").status_code == 409
    assert api_client(ctx["responder"]).post(url, {}, format="json").status_code == 403
    assert api_client(ctx["dispatcher"]).post(url, {"level": 0}, format="json").status_code == 400
    incident_transition(incident_id=ctx["incident"].pk, action="cancel", actor=ctx["dispatcher"], text="误报")
    assert api_client(ctx["dispatcher"]).post(url, {}, format="json").status_code == 409


# --- arrival distance -----------------------------------------------------------------------------

def arrived_event(incident) -> IncidentEvent:
    return events(incident, IncidentEvent.Kind.ARRIVED)[-1]


@override_settings(ARRIVAL_MAX_DISTANCE_M=300)
def test_arrival_within_the_distance_is_not_flagged(ctx):
    MemberPosition.objects.create(member=ctx["member"], point=offset(SCENE, 120), recorded_at=timezone.now(),
                                  accuracy_m=8)
    incident_transition(incident_id=ctx["incident"].pk, action="arrive", actor=ctx["responder"])
    order = DispatchOrder.objects.get(pk=ctx["order"].pk)
    assert order.state == DispatchOrder.State.ARRIVED and not order.arrival_flagged
    assert order.arrival_distance_m == pytest.approx(120, abs=1)
    event = arrived_event(ctx["incident"])
    assert event.note == "" and event.data["arrival"]["position"] == "last_known"
    assert event.data["arrival"]["flagged"] is False and event.data["arrival"]["accuracy_m"] == 8


@override_settings(ARRIVAL_MAX_DISTANCE_M=300)
def test_arrival_outside_the_distance_is_flagged_not_refused(ctx):
    incident = incident_transition(incident_id=ctx["incident"].pk, action="arrive", actor=ctx["responder"],
                                   position=offset(SCENE, 850))
    assert incident.status == Status.ARRIVED  # not refused
    order = DispatchOrder.objects.get(pk=ctx["order"].pk)
    assert order.state == DispatchOrder.State.ARRIVED and order.arrived_at is not None
    assert order.arrival_flagged and order.arrival_distance_m == pytest.approx(850, abs=1)
    event = arrived_event(ctx["incident"])
    assert event.data["arrival"]["flagged"] is True and event.data["arrival"]["position"] == "request"
    assert "850" in event.note and "300" in event.note  # the timeline says so


@override_settings(ARRIVAL_MAX_DISTANCE_M=300, ARRIVAL_POSITION_MAX_AGE_SECONDS=120)
def test_a_stale_or_missing_position_is_not_checked(ctx):
    MemberPosition.objects.create(member=ctx["member"], point=offset(SCENE, 5000),
                                  recorded_at=timezone.now() - timedelta(minutes=10))
    incident_transition(incident_id=ctx["incident"].pk, action="arrive", actor=ctx["dispatcher"],
                        members=[ctx["member"], ctx["other"]])
    for order in DispatchOrder.objects.filter(incident=ctx["incident"]):
        assert order.state == DispatchOrder.State.ARRIVED
        assert order.arrival_distance_m is None and not order.arrival_flagged
    assert {e.data["arrival"]["position"] for e in events(ctx["incident"], IncidentEvent.Kind.ARRIVED)} == {None}


def test_a_position_is_for_one_responder(ctx):
    with pytest.raises(DomainError):
        incident_transition(incident_id=ctx["incident"].pk, action="arrive", actor=ctx["dispatcher"],
                            members=[ctx["member"], ctx["other"]], position=SCENE)
    assert not DispatchOrder.objects.filter(incident=ctx["incident"], state=DispatchOrder.State.ARRIVED).exists()


@override_settings(ARRIVAL_MAX_DISTANCE_M=300)
def test_arrival_api_takes_the_position(ctx):
    far = offset(SCENE, 1200)
    url = reverse("incidents:incident-transition", args=[ctx["incident"].pk])
    answer = api_client(ctx["responder"]).post(
        url, {"action": "arrive", "position": {"type": "Point", "coordinates": [far.x, far.y]}}, format="json")
    assert answer.status_code == 200, answer.content
    order = DispatchOrder.objects.get(pk=ctx["order"].pk)
    assert order.arrival_flagged and order.arrival_distance_m == pytest.approx(1200, abs=1)
    summary = api_client(ctx["dispatcher"]).get(reverse("dispatch:incident-dispatch", args=[ctx["incident"].pk]))
    row = next(r for r in summary.json()["orders"] if r["id"] == order.pk)
    assert row["arrival_flagged"] is True
    bad = api_client(ctx["other_responder"]).post(url, {"action": "arrive", "position": {"type": "Point"}},
                                                  format="json")
    assert bad.status_code == 400


def test_the_incident_page_carries_the_sla_panel(ctx, client):
    client.force_login(ctx["dispatcher"])
    page = client.get(reverse("console:incident", args=[ctx["incident"].pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="sla-card"' in html and "data-text-" not in html  # the panel's words come from the config
    config = json_script(page, "incident-config")
    assert config["sla"]["api"] == reverse("dispatch:incident-dispatch", args=[ctx["incident"].pk])
    assert config["sla"]["acceptUrl"] == reverse("dispatch:order-accept", args=[0])
    assert config["text"]["sla"]["accept"] and config["text"]["recommend"]["title"]
