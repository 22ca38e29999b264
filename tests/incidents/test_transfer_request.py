"""A responder on the scene asks the command room for a transfer (issue 10): the `request_transfer`
move on real PostGIS — only the dispatched member with a current order makes it, for a unit the
transfer itself would take, with a reason; the timeline gets a `transfer_requested` event (the status
does not change); the phone offers it; the incident page shows the open request with the button that
fills the transfer form, until the case is transferred or resolved; the wall card tells it."""

import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from config.roles import UserRole
from dispatch.member_api import ON_SITE_ACTIONS
from dispatch.models import DispatchOrder, Unit
from dispatch.services import incident_transition
from incidents.models import Incident, IncidentEvent, Status
from tests.factories import add_grid_worker, api_client, make_user, put_on_duty
from tests.incidents.test_photos import on_scene

pytestmark = [pytest.mark.django_db, pytest.mark.world(code="TR", other_code="TX", on_duty=True)]

XSS = "<script>alert(1)</script>"
REASON = "涉嫌盗窃，需派出所处理" + XSS


@pytest.fixture
def ctx(world, users, other_world):
    """The shared world (TR) on duty, a second grid worker, a police station here and one in another
    sub-district (TX), the users, and a case with the world's member on the scene."""
    other = add_grid_worker(world)
    put_on_duty(other)
    world.update(
        station=Unit.objects.create(subdistrict=world["subdistrict"], code="TR-PS", name="城西派出所",
                                    kind=Unit.Kind.POLICE_STATION),
        foreign_unit=Unit.objects.create(subdistrict=other_world["subdistrict"], code="TX-PS", name="外街派出所",
                                         kind=Unit.Kind.POLICE_STATION),
        other=other, responder=users.responder,
        other_responder=make_user("tr-resp2", UserRole.RESPONDER, member=other),
        command=users.command_room, dispatcher=users.dispatcher, calltaker=users.call_taker,
    )
    on_scene(world, "超市内发现可疑人员")
    return world


def ask(ctx, user=None, **body):
    body = {"action": "request_transfer", "unit": ctx["station"].pk, "text": REASON} | body
    return api_client(user or ctx["responder"]).post(ctx["url"], body, format="json")


def requests_of(ctx):
    return list(ctx["incident"].events.filter(kind=IncidentEvent.Kind.TRANSFER_REQUESTED))


def test_the_dispatched_member_asks_and_the_timeline_tells_it(ctx):
    response = ask(ctx)
    assert response.status_code == 200, response.content
    [event] = requests_of(ctx)
    assert event.note == REASON and event.actor == ctx["responder"] and event.actor_member == ctx["member"]
    assert event.data == {"action": "request_transfer", "unit": ctx["station"].pk, "unit_name": "城西派出所",
                          "unit_kind": "police_station", "member": ctx["member"].pk, "member_name": "张伟",
                          "force": "grid_worker"}
    assert (event.from_status, event.to_status) == ("", "")
    assert Incident.objects.get(pk=ctx["incident"].pk).status == Status.ARRIVED  # the command room decides
    detail = response.json()
    assert detail["events"][-1]["kind"] == "transfer_requested"
    assert "request_transfer" in [a["action"] for a in detail["actions"]]


def test_the_phone_offers_it_after_the_report(ctx):
    assert ON_SITE_ACTIONS.index("request_transfer") == ON_SITE_ACTIONS.index("report_on_site") + 1
    items = api_client(ctx["responder"]).get(reverse("member_app:work")).json()["orders"]
    actions = {a["action"]: a for a in items[0]["actions"]}
    assert list(actions) == ["report_on_site", "request_transfer", "note"]
    assert actions["request_transfer"]["label"] == "Ask for a transfer"
    assert actions["request_transfer"]["requires"] == ["unit", "text"]


def test_the_command_room_transfers_itself_and_may_not_ask(ctx):
    for user in (ctx["command"], ctx["dispatcher"]):
        response = ask(ctx, user)
        assert response.status_code == 403, response.content
        actions = api_client(user).get(reverse("incidents:incident-detail", args=[ctx["incident"].pk])).json()["actions"]
        assert "request_transfer" not in [a["action"] for a in actions]
    assert requests_of(ctx) == []


def test_without_a_current_order_the_doors_stay_shut(ctx):
    assert ask(ctx, ctx["other_responder"]).status_code == 404  # not dispatched: the case is not theirs to see
    DispatchOrder.objects.filter(pk=ctx["order"].pk).update(state=DispatchOrder.State.STOOD_DOWN,
                                                             stood_down_at=timezone.now(), stand_down_reason="够了")
    assert ask(ctx).status_code == 403  # stood down: may still read the case, no longer act on it
    assert requests_of(ctx) == []


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"unit": None}, 400, "unit"),
    ({"unit": 999999}, 400, None),  # unknown unit: the input serializer's message
    ({"unit": "foreign"}, 400, "unit"),  # another sub-district's unit
    ({"text": ""}, 400, None),  # the reason is required
])
def test_a_bad_unit_or_no_reason_is_refused(ctx, body, status, code):
    if body.get("unit") == "foreign":
        body = {"unit": ctx["foreign_unit"].pk}
    response = ask(ctx, **body)
    assert response.status_code == status, response.content
    if code:
        assert response.json()["code"] == code
    assert requests_of(ctx) == []


def test_not_before_arrival_nor_after_the_case_left_the_scene(ctx):
    Incident.objects.filter(pk=ctx["incident"].pk).update(status=Status.DISPATCHED)
    assert ask(ctx).status_code == 409
    Incident.objects.filter(pk=ctx["incident"].pk).update(status=Status.RESOLVED, resolved_at=timezone.now())
    assert ask(ctx).status_code == 409
    assert requests_of(ctx) == []


def json_script_of(html: str, element_id: str) -> dict:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert match, f"the page hands its data to the script through json_script #{element_id}"
    return json.loads(match.group(1))


def page(client, ctx, user) -> str:
    client.force_login(user)
    client.cookies["django_language"] = "en"
    response = client.get(reverse("console:incident", args=[ctx["incident"].pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def test_the_incident_page_shows_the_open_request_until_the_case_is_transferred(ctx, client):
    assert ask(ctx).status_code == 200
    html = page(client, ctx, ctx["command"])
    assert 'data-testid="transfer-request"' in html
    # The transfer form's unit and reason reach incident.js through the page's json_script.
    ask_config = json_script_of(html, "incident-config")["transferRequest"]
    assert ask_config["unit"] == ctx["station"].pk and "涉嫌盗窃，需派出所处理" in ask_config["reason"]
    assert "张伟 asks to transfer to 城西派出所: 涉嫌盗窃，需派出所处理" in html
    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # escaped, in text and json_script
    assert 'data-open-transfer' in html  # shown by incident.js when `transfer` is an action now

    incident_transition(incident_id=ctx["incident"].pk, action="transfer", actor=ctx["command"],
                        unit=ctx["station"], text=REASON)
    assert 'data-testid="transfer-request"' not in page(client, ctx, ctx["command"])


def test_a_resolved_request_is_no_longer_open_and_a_new_one_replaces_an_older(ctx, client):
    assert ask(ctx, text="先转派出所").status_code == 200
    assert ask(ctx, text="改为转派出所处理").status_code == 200
    html = page(client, ctx, ctx["command"])
    assert html.count('data-testid="transfer-request"') == 1 and "改为转派出所处理" in html
    incident_transition(incident_id=ctx["incident"].pk, action="report_on_site", actor=ctx["responder"], text="已报告")
    assert 'data-testid="transfer-request"' in page(client, ctx, ctx["command"])  # a report does not end it
    incident_transition(incident_id=ctx["incident"].pk, action="resolve", actor=ctx["responder"], text="已调解")
    assert 'data-testid="transfer-request"' not in page(client, ctx, ctx["command"])


def test_the_wall_card_tells_the_request(ctx):
    assert ask(ctx).status_code == 200
    card = api_client(ctx["dispatcher"]).get(reverse("wall:incident", args=["TR", ctx["incident"].pk])).json()
    event = card["timeline"][-1]
    assert event["kind"] == "transfer_requested" and event["note"] == REASON
    assert event["data"]["member_name"] == "张伟" and event["data"]["unit_name"] == "城西派出所"
    assert event["actor"] == "张伟"
