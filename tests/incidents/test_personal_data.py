"""The personal data of the public (callers, the people involved) on real PostGIS: names and phones
are masked for every role wherever a case shows — the API detail, the incident page, the wall's
snapshot, card and ticker, the member app, the timeline's data — and revealed only through
`POST incidents/{id}/reveal/`, to the command room, dispatchers, leaders and the member holding a
current order (403 for the other roles, 404 when the case is not theirs to see), each reveal a
`personal_data_revealed` timeline entry without the values, kept off the wall's stream. And the
other half of the rule: a department member dispatched to a case sees it and acts on their order."""

import json

import pytest
from django.contrib.gis.geos import Point
from django.urls import reverse
from rest_framework.test import APIClient

from config.roles import UserRole
from dispatch.models import DispatchOrder, Force, Member, TravelMode, Unit
from dispatch.services import incident_transition
from incidents.events import events_for_payload
from incidents.models import IncidentEvent, mask_name, mask_phone
from incidents.services import incident_intake, party_register
from tests.factories import S, W, make_channels, make_user, make_world, put_on_duty

pytestmark = pytest.mark.django_db

CALLER, CALLER_PHONE = "李建国", "13912345678"
PARTY, PARTY_PHONE = "赵小六", "13700001234"
SECRETS = (CALLER, CALLER_PHONE, PARTY, PARTY_PHONE)


def test_masks():
    assert (mask_name("李建国"), mask_name("王"), mask_name(" John "), mask_name("")) == ("李**", "王*", "J***", "")
    assert (mask_phone("13912345678"), mask_phone("88611155"), mask_phone("")) == ("139****5678", "****1155", "")


@pytest.fixture
def ctx():
    world = make_world("PD")
    world.update(make_channels())
    sub = world["subdistrict"]
    office = Unit.objects.create(subdistrict=sub, code="PD-LAB", name="劳动保障中队", kind=Unit.Kind.LABOUR_SECURITY)
    officer = Member.objects.create(
        subdistrict=sub, unit=office, code="PD-O1", name="王芳", force=Force.OFFICE_STAFF, phone="13800000002",
        travel_mode=TravelMode.CAR, home=Point(W + 0.002, S + 0.002, srid=4326))
    other = Member.objects.create(
        subdistrict=sub, unit=office, code="PD-O2", name="刘强", force=Force.OFFICE_STAFF, phone="13800000003",
        travel_mode=TravelMode.CAR, home=Point(W + 0.003, S + 0.003, srid=4326))
    put_on_duty(world["member"], officer)
    world.update(
        office=office,
        command=make_user("pd-cmd", UserRole.COMMAND_ROOM),
        dispatcher=make_user("pd-disp", UserRole.DISPATCHER),
        leader=make_user("pd-lead", UserRole.LEADER),
        calltaker=make_user("pd-taker", UserRole.CALL_TAKER),
        responder=make_user("pd-resp", UserRole.RESPONDER, member=world["member"]),
        officer=make_user("pd-off", UserRole.DEPARTMENT, member=officer),
        bystander=make_user("pd-other", UserRole.DEPARTMENT, member=other),
    )
    case = incident_intake(channel=world["hotline"], category=world["category"], description="小区门口停车纠纷",
                           actor=world["calltaker"], location=Point(W + 0.004, S + 0.004, srid=4326),
                           caller_name=CALLER, caller_phone=CALLER_PHONE, subdistrict=sub).incident
    # A second call about the same case: its caller is a personal datum too.
    incident_intake(channel=world["hotline"], category=world["category"], description="又一位来电",
                    actor=world["calltaker"], location=case.location, caller_name="钱多多", caller_phone="13600009999",
                    link_to=case.pk)
    incident_transition(incident_id=case.pk, action="dispatch", actor=world["dispatcher"],
                        members=[world["member"], officer], method="radio")
    world["party"] = party_register(incident_id=case.pk, actor=world["responder"], name=PARTY, phone=PARTY_PHONE)
    world["case"] = case
    return world


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)  # a session: the API and the pages alike
    return client


def reveal(ctx, who: str, body: dict, case=None):
    case = case or ctx["case"]
    return client_for(ctx[who]).post(reverse("incidents:incident-reveal", args=[case.pk]), body, format="json")


def assert_no_secret(text: str) -> None:
    for secret in (*SECRETS, "钱多多", "13600009999"):
        assert secret not in text, secret


def test_masked_in_the_api_detail_and_the_timeline_data_for_every_role(ctx):
    for who in ("command", "dispatcher", "leader", "calltaker", "responder", "officer"):
        response = client_for(ctx[who]).get(reverse("incidents:incident-detail", args=[ctx["case"].pk]))
        assert response.status_code == 200, (who, response.content)
        assert_no_secret(response.content.decode())
        data = response.json()
        assert (data["caller_name"], data["caller_phone"]) == ("李**", "139****5678")
        assert data["parties"][0]["name"] == "赵**" and data["parties"][0]["phone"] == "137****1234"
        assert {r["caller_name"] for r in data["reports"]} == {"李**", "钱**"}
    assert data["may_reveal"] == {"contacts": True, "id_numbers": False}  # the dispatched officer


def test_masked_on_the_incident_page_the_wall_and_the_member_app(ctx):
    case = ctx["case"]
    page = client_for(ctx["command"]).get(reverse("console:incident", args=[case.pk]))
    assert page.status_code == 200
    assert_no_secret(page.text)
    assert "李** 139****5678" in page.text and 'data-reveal-contacts="caller"' in page.text
    taker_page = client_for(ctx["calltaker"]).get(reverse("console:incident", args=[case.pk]))
    assert taker_page.status_code == 200 and "data-reveal-contacts" not in taker_page.text

    wall = client_for(ctx["command"])
    for url in (reverse("wall:state", args=["PD"]), reverse("wall:incident", args=["PD", case.pk])):
        response = wall.get(url)
        assert response.status_code == 200, response.content
        assert_no_secret(response.content.decode())

    for who in ("responder", "officer"):
        work = client_for(ctx[who]).get(reverse("member_app:work"))
        assert work.status_code == 200, work.content
        assert_no_secret(work.content.decode())
        (item,) = work.json()["orders"]
        assert item["incident"]["caller_phone"] == "139****5678" and item["may_reveal_contacts"] is True
        assert item["incident"]["parties"][0]["name"] == "赵**"


def test_reveal_by_an_allowed_role_answers_in_full_and_logs_who_and_what_never_the_value(ctx):
    party = ctx["party"]
    response = reveal(ctx, "dispatcher", {"caller": True, "parties": [party.pk]})
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["caller"]["name"], data["caller"]["phone"]) == (CALLER, CALLER_PHONE)
    assert [(r["caller_name"], r["caller_phone"]) for r in data["caller"]["reports"]] == [
        (CALLER, CALLER_PHONE), ("钱多多", "13600009999")]
    assert data["parties"] == [{"id": party.pk, "name": PARTY, "phone": PARTY_PHONE}]
    assert response["Cache-Control"] == "no-store"
    (event,) = ctx["case"].events.filter(kind=IncidentEvent.Kind.PERSONAL_DATA_REVEALED)
    assert event.actor == ctx["dispatcher"] and event.data == {"caller": True, "parties": [party.pk], "callbacks": []}
    assert_no_secret(json.dumps(event.data, ensure_ascii=False) + event.note)

    # The member on the way calls the caller; the officer of a department unit too.
    for who in ("responder", "officer", "leader", "command"):
        assert reveal(ctx, who, {"parties": [party.pk]}).status_code == 200, who
    assert ctx["case"].events.filter(kind=IncidentEvent.Kind.PERSONAL_DATA_REVEALED).count() == 5
    # The entries are in the timeline (API and page) but never on the wall's stream.
    detail = client_for(ctx["command"]).get(reverse("incidents:incident-detail", args=[ctx["case"].pk])).json()
    assert "personal_data_revealed" in {e["kind"] for e in detail["events"]}
    assert not events_for_payload(IncidentEvent.objects.filter(kind=IncidentEvent.Kind.PERSONAL_DATA_REVEALED)).exists()
    state = client_for(ctx["command"]).get(reverse("wall:state", args=["PD"])).json()
    assert "personal_data_revealed" not in {e["kind"] for e in state["events"]}


def test_forbidden_roles_get_403_unseen_cases_404_and_bad_requests_400(ctx):
    party = ctx["party"]
    assert reveal(ctx, "calltaker", {"caller": True}).status_code == 403
    # A member whose order is over may still read the case, not reveal anymore.
    order = DispatchOrder.objects.get(incident=ctx["case"], member=ctx["officer"].member)
    DispatchOrder.objects.filter(pk=order.pk).update(state=DispatchOrder.State.STOOD_DOWN, stood_down_at=order.dispatched_at,
                                                     stand_down_reason="不再需要")
    assert client_for(ctx["officer"]).get(reverse("incidents:incident-detail", args=[ctx["case"].pk])).status_code == 200
    assert reveal(ctx, "officer", {"caller": True}).status_code == 403
    # Somebody who cannot see the case: 404, whether or not their role could reveal.
    assert reveal(ctx, "bystander", {"caller": True}).status_code == 404
    assert reveal(ctx, "command", {"caller": True}, case=type(ctx["case"])(pk=10**9)).status_code == 404
    # A person of another case, nothing asked: refused, nothing logged.
    other = incident_intake(channel=ctx["hotline"], category=ctx["category"], description="另一件事",
                            actor=ctx["calltaker"], location=Point(W + 0.005, S + 0.005, srid=4326)).incident
    assert reveal(ctx, "command", {"parties": [party.pk]}, case=other).status_code == 404
    assert reveal(ctx, "command", {}).status_code == 400
    assert not IncidentEvent.objects.filter(kind=IncidentEvent.Kind.PERSONAL_DATA_REVEALED).exists()


def test_a_dispatched_department_member_sees_the_case_and_acts_on_their_order(ctx):
    """Their overdue alarms name the case: the API detail, the page and the member app open it, and
    they answer their order and move the case along from the scene."""
    case, officer = ctx["case"], ctx["officer"]
    client = client_for(officer)
    detail = client.get(reverse("incidents:incident-detail", args=[case.pk]))
    assert detail.status_code == 200, detail.content
    assert {a["action"] for a in detail.json()["actions"]} >= {"arrive"}
    assert client.get(reverse("console:incident", args=[case.pk])).status_code == 200
    order = DispatchOrder.objects.get(incident=case, member=officer.member)
    assert client.get(reverse("member_app:order", args=[order.pk])).status_code == 200
    accepted = client.post(reverse("dispatch:order-accept", args=[order.pk]), {}, format="json")
    assert accepted.status_code == 200, accepted.content
    arrived = client.post(reverse("incidents:incident-transition", args=[case.pk]), {"action": "arrive"},
                          format="json")
    assert arrived.status_code == 200, arrived.content
    order.refresh_from_db()
    assert order.state == DispatchOrder.State.ARRIVED
    # Another member of the same unit, not dispatched: still a 404.
    assert client_for(ctx["bystander"]).get(reverse("incidents:incident-detail", args=[case.pk])).status_code == 404


def test_an_order_stood_down_shows_the_case_for_a_day_and_a_declined_one_never(ctx):
    """Sight of a case follows the member's order: current or arrived, yes; stood down, for the
    member app's last day only; declined, never."""
    from datetime import timedelta

    from django.utils import timezone

    case, officer = ctx["case"], ctx["officer"]
    client = client_for(officer)
    url = reverse("incidents:incident-detail", args=[case.pk])
    order = DispatchOrder.objects.get(incident=case, member=officer.member)
    now = timezone.now()
    DispatchOrder.objects.filter(pk=order.pk).update(state=DispatchOrder.State.STOOD_DOWN, stood_down_at=now,
                                                     stand_down_reason="改派")
    assert client.get(url).status_code == 200
    DispatchOrder.objects.filter(pk=order.pk).update(
        stood_down_at=now - timedelta(hours=DispatchOrder.STOOD_DOWN_VISIBLE_HOURS, minutes=1))
    assert client.get(url).status_code == 404
    DispatchOrder.objects.filter(pk=order.pk).update(state=DispatchOrder.State.DECLINED, stood_down_at=None,
                                                     stand_down_reason="", declined_at=now)
    assert client.get(url).status_code == 404
