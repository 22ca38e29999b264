"""The console and the incident page, rendered by Django on real PostGIS (the browser tests are in
tests/e2e/test_console.py)."""

import json
import re

import pytest
from django.contrib.gis.geos import Point
from django.urls import reverse

from config.roles import UserRole
from dispatch.models import DispatchOrder
from dispatch.services import incident_transition
from incidents.models import Channel, Party
from incidents.services import incident_intake
from tests.factories import N, S, W, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.world(code="CP", on_duty=True)]

XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def json_script(response, element_id: str) -> dict:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', response.text, re.S)
    assert match, f"the page hands its data to the script through json_script #{element_id}"
    return json.loads(match.group(1))


def intake(world, description="邻里纠纷，两户人家在楼道争吵", **kw):
    calltaker = make_user("intake-ct", UserRole.CALL_TAKER)
    return incident_intake(
        channel=world["channel"], category=world["category"], description=description, actor=calltaker,
        location=Point(W + 0.005, (S + N) / 2, srid=4326), caller_name="李四", caller_phone="13900000000",
        subdistrict=world["subdistrict"], **kw,
    ).incident


@pytest.mark.parametrize("name", ["console:console", "console:incident"])
def test_anonymous_goes_to_login(client, world, name):
    url = reverse(name, args=[1]) if name == "console:incident" else reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_planner_may_not_open_the_console(client, world, users):
    client.force_login(users.planner)
    assert client.get(reverse("console:console")).status_code == 403


@pytest.mark.parametrize("role", [UserRole.CALL_TAKER, UserRole.DISPATCHER, UserRole.COMMAND_ROOM])
def test_console_roles_get_the_page(client, world, role, users):
    client.force_login(users[role])
    assert client.get(reverse("console:console")).status_code == 200


def test_calltaker_console_config(client, world, users):
    client.force_login(users.call_taker)
    response = client.get(reverse("console:console"), {"subdistrict": "CP"})
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in response.text
    assert 'id="console-map"' in response.text and 'id="call-form"' in response.text
    assert "vendor/leaflet/leaflet.js" in response.text
    # One ES module: no classic scripts of our own, no window.GridLink (the old basemap.js).
    assert re.search(r'<script type="module" src="[^"]*gridlink/console/app\.js"></script>', response.text)
    assert "gridlink/basemap.js" not in response.text and "gridlink/console.js" not in response.text
    assert "cdn" not in response.text.lower() and "unpkg" not in response.text

    config = json_script(response, "console-config")
    # Only hotlines are offered on the call form; a joint-consultation channel feeds the
    # assignment form.
    hotlines = set(Channel.objects.filter(kind=Channel.Kind.HOTLINE, active=True).values_list("code", flat=True))
    assert {c["code"] for c in config["hotlines"]} == hotlines
    assert {"test_hotline", "t_hotline_110"} <= hotlines
    assert Channel.objects.get(code=config["jointChannel"]).kind == Channel.Kind.JOINT_ASSIGNMENT
    assert {"code": "test_dispute", "name": "测试纠纷", "police": False, "major": False} in config["categories"]
    # Police-type categories first (the picker groups them).
    police = [c["police"] for c in config["categories"]]
    assert police == sorted(police, reverse=True)
    assert [(u["id"], u["name"]) for u in config["units"]] == [(world["unit"].pk, "网格中队")]
    assert config["subdistrict"] == "CP"
    assert config["map"]["subdistrict"]["code"] == "CP"
    assert config["api"]["incidents"] == reverse("incidents:incidents")
    assert config["api"]["gazetteer"] == reverse("incidents:gazetteer")
    assert config["api"]["locate"] == reverse("incidents:locate")
    assert config["api"]["duplicates"] == reverse("incidents:duplicates")
    assert config["api"]["suggest"] == reverse("incidents:category-suggest")
    assert config["api"]["callbacks"] == reverse("incidents:callbacks")
    assert config["api"]["transitions"].replace("{id}", "7") == reverse("incidents:incident-transition", args=[7])
    assert config["api"]["locateIncident"].replace("{id}", "7") == reverse("incidents:incident-locate", args=[7])
    assert config["api"]["callbackComplete"].replace("{id}", "7") == reverse("incidents:callback-complete",
                                                                           args=[7])
    assert config["api"]["reveal"].replace("{id}", "7") == reverse("incidents:party-reveal", args=[7])
    assert config["pages"]["incident"] == "/incidents/{id}/"
    assert config["map"]["api"]["grids"] == "/api/v1/geo/grids/"
    # The statuses and the time zone are the server's, shared by every page; words come with the
    # configuration (the scripts read none from the template).
    assert "statuses" not in config
    shared = json_script(response, "gridlink-shared")
    assert shared["statuses"]["new"] and shared["timeZone"] == "Asia/Shanghai"
    assert config["text"]["fields"]["category"] == "警情类别"
    assert config["text"]["created"] == "已立案:%(number)s"
    assert "data-text-" not in response.text
    # A call-taker does not record call-backs (the command room does).
    assert config["can"]["callbacks"] is False
    assert 'data-tab="callbacks"' not in response.text


def test_dispatcher_sees_the_callbacks_tab(client, world, users):
    client.force_login(users.dispatcher)
    response = client.get(reverse("console:console"))
    assert json_script(response, "console-config")["can"]["callbacks"] is True
    assert 'data-tab="callbacks"' in response.text


def test_incident_page_for_the_command_room(client, world, users):
    incident = intake(world)
    client.force_login(users.command_room)
    response = client.get(reverse("console:incident", args=[incident.pk]))
    assert response.status_code == 200
    text = response.text
    assert incident.number in text
    assert "邻里纠纷" in text and "李* 139****0000" in text and "李四" not in text  # masked (test_personal_data.py)
    assert world["grids"][0].name in text and world["community"].name in text
    assert 'data-kind="created"' in text  # the timeline's first entry
    config = json_script(response, "incident-config")
    assert config["incident"] == incident.pk
    assert config["location"] == pytest.approx([W + 0.005, (S + N) / 2])
    assert config["api"]["incident"] == "/api/v1/incidents/{id}/"
    assert reverse("incidents:incident-detail", args=[incident.pk]) == f"/api/v1/incidents/{incident.pk}/"


def test_incident_page_is_404_for_a_responder_not_dispatched(client, world, users):
    incident = intake(world)
    responder = users.responder
    client.force_login(responder)
    assert client.get(reverse("console:incident", args=[incident.pk])).status_code == 404
    assert client.get(reverse("console:incident", args=[999999])).status_code == 404

    # Once dispatched, the responder sees the case and the dispatch in its timeline.
    dispatcher = users.dispatcher
    incident_transition(incident_id=incident.pk, action="dispatch", actor=dispatcher, members=[world["member"]],
                        method=DispatchOrder.Method.PHONE)
    response = client.get(reverse("console:incident", args=[incident.pk]))
    assert response.status_code == 200
    assert 'data-kind="dispatched"' in response.text and world["member"].name in response.text


def test_public_text_is_escaped_on_the_incident_page(client, world, users):
    incident = intake(world, description="楼道吵架 " + XSS, address_text=XSS)
    client.force_login(users.command_room)
    response = client.get(reverse("console:incident", args=[incident.pk]))
    assert response.status_code == 200
    assert "<script>alert(1)" not in response.text
    assert "<img src=x" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in response.text


def test_masked_id_and_reveal_button_by_role(client, world, users):
    incident = intake(world)
    Party.objects.create(incident=incident, name="王五", id_number="11010519491231002X",
                         registered_at=incident.reported_at)
    client.force_login(users.command_room)
    response = client.get(reverse("console:incident", args=[incident.pk]))
    assert "110***********002X" in response.text
    assert "11010519491231002X" not in response.text
    assert "data-reveal=" in response.text

    client.force_login(users.dispatcher)
    response = client.get(reverse("console:incident", args=[incident.pk]))
    assert "110***********002X" in response.text and "data-reveal=" not in response.text
