"""The responders' app (/m/) on real PostGIS: the member's own work API (own orders only, live first
then the last 24 hours, another member's order a 404, 403 for a user without a member), the
on-site actions it offers agreeing with the service, a constant number of queries, and the page
handing its configuration and words to the modules through json_script. The browser test is
tests/e2e/test_member_app.py; the modules' own tests are frontend/tests/*.test.mjs."""

import json
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.gis.geos import LineString, Point
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from config.roles import UserRole
from dispatch.member_api import ON_SITE_ACTIONS
from dispatch.models import DispatchOrder, Member, MemberPosition, Unit
from incidents.api_support import transitions_permitted
from incidents.models import Incident, Party, Status
from incidents.selectors import incident_detail
from incidents.services import incident_intake
from tests.factories import S, W, add_grid_worker, api_client, make_user, put_on_duty

pytestmark = [pytest.mark.django_db, pytest.mark.world(code="MA", other_code="MZ", on_duty=True)]

XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture
def ctx(world, users):
    """The shared world (MA) on duty with a second grid worker, and the users."""
    other = add_grid_worker(world)
    put_on_duty(other)
    world.update(
        other=other, responder=users.responder,
        other_responder=make_user("m-resp2", UserRole.RESPONDER, member=other),
        dispatcher=users.dispatcher, calltaker=users.call_taker,
    )
    return world


def case(ctx, n: int, description: str = "小区门口两人因停车发生争执") -> Incident:
    return incident_intake(channel=ctx["channel"], category=ctx["category"], actor=ctx["calltaker"],
                           description=description, address_text=f"幸福路 {n} 号",
                           location=Point(W + 0.002 * n, S + 0.004, srid=4326)).incident


def send(incident: Incident, member: Member, actor, *, minutes_ago: float = 0, **fields) -> DispatchOrder:
    """An order as the dispatch leaves it (written directly: dispatching needs the demo's roads)."""
    at = timezone.now() - timedelta(minutes=minutes_ago)
    route = LineString([(member.home.x, member.home.y), (incident.location.x, incident.location.y)], srid=4326)
    order = DispatchOrder.objects.create(incident=incident, member=member, method=DispatchOrder.Method.APP,
                                         dispatched_at=at, dispatched_by=actor, arrive_by=at + timedelta(minutes=30),
                                         travel_seconds=420.0, route=route, **fields)
    Incident.objects.filter(pk=incident.pk, status=Status.NEW).update(status=Status.DISPATCHED)
    return order


def client_for(user) -> APIClient:
    return api_client(user, "zh-hans")


def work(user) -> dict:
    response = client_for(user).get(reverse("member_app:work"))
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def orders(ctx):
    """The member's orders: live (dispatched; arrived on a case still on site), finished (declined an
    hour ago; arrived on a resolved case; stood down 30 hours ago — too old to list), and another
    member's order on the first case."""
    now = timezone.now()
    dispatcher, me = ctx["dispatcher"], ctx["member"]
    live = send(case(ctx, 1, XSS), me, dispatcher, minutes_ago=5)
    on_scene = send(case(ctx, 2), me, dispatcher, minutes_ago=20, state=DispatchOrder.State.ARRIVED,
                    arrived_at=now - timedelta(minutes=8), arrival_distance_m=35.0)
    Incident.objects.filter(pk=on_scene.incident_id).update(status=Status.ARRIVED)
    declined = send(case(ctx, 3), me, dispatcher, minutes_ago=70, state=DispatchOrder.State.DECLINED,
                    declined_at=now - timedelta(minutes=60), decline_reason="正在处置其他警情")
    resolved = send(case(ctx, 4), me, dispatcher, minutes_ago=300, state=DispatchOrder.State.ARRIVED,
                    arrived_at=now - timedelta(minutes=280))
    Incident.objects.filter(pk=resolved.incident_id).update(status=Status.RESOLVED,
                                                            resolved_at=now - timedelta(minutes=200))
    old = send(case(ctx, 5), me, dispatcher, minutes_ago=31 * 60, state=DispatchOrder.State.STOOD_DOWN,
               stood_down_at=now - timedelta(hours=30), stand_down_reason="现场已无需增援")
    theirs = send(live.incident, ctx["other"], dispatcher, minutes_ago=5)
    return {"live": live, "on_scene": on_scene, "declined": declined, "resolved": resolved, "old": old,
            "theirs": theirs}


# --- the work API ---------------------------------------------------------------------------------

def test_the_member_sees_their_own_orders_live_first_then_the_last_24_hours(ctx, orders):
    data = work(ctx["responder"])
    assert data["member"]["id"] == ctx["member"].pk and data["member"]["name"] == "张伟"
    assert data["member"]["on_duty"] is True and data["member"]["unit"] == "网格中队"
    ids = [item["order"]["id"] for item in data["orders"]]
    # Live, newest dispatch first; then finished, most recently finished first. Not the order of
    # 30 hours ago, never another member's.
    assert ids == [orders["live"].pk, orders["on_scene"].pk, orders["declined"].pk, orders["resolved"].pk]
    assert [item["live"] for item in data["orders"]] == [True, True, False, False]
    assert orders["theirs"].pk not in ids and orders["old"].pk not in ids

    first = data["orders"][0]
    incident = orders["live"].incident
    assert first["order"]["state"] == "dispatched" and first["order"]["state_display"]
    assert first["order"]["can_accept"] is True and first["order"]["can_decline"] is True
    assert first["order"]["travel_seconds"] == 420.0 and first["order"]["arrive_by"]
    assert first["finished_at"] is None
    assert first["incident"]["id"] == incident.pk and first["incident"]["number"] == incident.number
    assert first["incident"]["category"] == "测试纠纷" and first["incident"]["address_text"] == "幸福路 1 号"
    assert first["incident"]["description"] == XSS  # as typed: the client shows it as text
    assert first["incident"]["location"] == [round(incident.location.x, 6), round(incident.location.y, 6)]
    home = ctx["member"].home
    assert first["route"] == [[round(home.x, 6), round(home.y, 6)], first["incident"]["location"]]

    declined = data["orders"][2]
    assert declined["order"]["decline_reason"] == "正在处置其他警情" and declined["actions"] == []
    assert declined["order"]["can_accept"] is False and declined["order"]["can_decline"] is False
    assert declined["finished_at"] is not None
    on_scene = data["orders"][1]
    assert on_scene["order"]["arrival_distance_m"] == 35.0
    assert on_scene["order"]["can_accept"] is False and on_scene["order"]["can_decline"] is False


def test_the_last_known_position_comes_with_the_member(ctx):
    assert work(ctx["responder"])["member"]["position"] is None
    MemberPosition.objects.create(member=ctx["member"], point=Point(W + 0.001, S + 0.002, srid=4326),
                                  recorded_at=timezone.now(), accuracy_m=12.0)
    position = work(ctx["responder"])["member"]["position"]
    assert (position["lon"], position["lat"], position["accuracy_m"]) == (round(W + 0.001, 6), round(S + 0.002, 6), 12.0)


def test_another_members_order_is_a_404(ctx, orders):
    mine = client_for(ctx["responder"]).get(reverse("member_app:order", args=[orders["live"].pk]))
    assert mine.status_code == 200
    assert mine.json()["item"]["order"]["id"] == orders["live"].pk and mine.json()["item"]["live"] is True
    # Older than a day, still one's own: readable.
    assert client_for(ctx["responder"]).get(reverse("member_app:order", args=[orders["old"].pk])).status_code == 200
    theirs = client_for(ctx["responder"]).get(reverse("member_app:order", args=[orders["theirs"].pk]))
    assert theirs.status_code == 404
    assert client_for(ctx["responder"]).get(reverse("member_app:order", args=[999999])).status_code == 404
    assert [i["order"]["id"] for i in work(ctx["other_responder"])["orders"]] == [orders["theirs"].pk]


@pytest.mark.parametrize("name", ["member_app:work", "member_app:order"])
def test_a_staff_user_without_a_member_is_refused(ctx, orders, name):
    args = [orders["live"].pk] if name == "member_app:order" else []
    response = client_for(ctx["dispatcher"]).get(reverse(name, args=args))
    assert response.status_code == 403
    assert "处置人员" in response.json()["detail"]


def test_an_inactive_member_is_refused(ctx):
    Member.objects.filter(pk=ctx["member"].pk).update(active=False)
    assert client_for(ctx["responder"]).get(reverse("member_app:work")).status_code == 403


def test_anonymous_is_refused(ctx, orders):
    assert APIClient().get(reverse("member_app:work")).status_code == 403
    assert APIClient().get(reverse("member_app:order", args=[orders["live"].pk])).status_code == 403


def test_the_actions_offered_are_the_ones_the_service_takes(ctx, orders):
    """Each live order's buttons are transitions_permitted among the on-site moves; pressing each
    offered button through the transitions API succeeds, step by step to the resolution."""
    user = ctx["responder"]
    api = client_for(user)

    def item(order_id):
        return next(i for i in work(user)["orders"] if i["order"]["id"] == order_id)

    def permitted(incident_id, *, on_the_way=True):
        """transitions_permitted among the on-site moves (in the phone's order); an arrival only
        while still on the way."""
        incident = incident_detail(user=user, incident_id=incident_id)
        allowed = {t.action for t in transitions_permitted(user=user, incident=incident)}
        return [a for a in ON_SITE_ACTIONS if a in allowed and (on_the_way or a != "arrive")]

    live = item(orders["live"].pk)
    assert [a["action"] for a in live["actions"]] == ["arrive", "note"]
    assert [a["action"] for a in live["actions"]] == permitted(orders["live"].incident_id)
    assert all(a["label"] for a in live["actions"])
    on_scene = item(orders["on_scene"].pk)
    assert [a["action"] for a in on_scene["actions"]] == ["report_on_site", "request_transfer", "note"]
    assert [a["action"] for a in on_scene["actions"]] == permitted(orders["on_scene"].incident_id, on_the_way=False)
    assert "arrive" in permitted(orders["on_scene"].incident_id)  # the flow allows another's arrival …
    refused = api.post(reverse("incidents:incident-transition", args=[orders["on_scene"].incident_id]),
                       {"action": "arrive"}, format="json")
    assert refused.status_code == 409  # … but not this member's again: so the phone does not offer it

    incident_id = orders["live"].incident_id
    url = reverse("incidents:incident-transition", args=[incident_id])
    scene = orders["live"].incident.location
    steps = [("arrive", {"position": {"type": "Point", "coordinates": [scene.x, scene.y + 0.0003]}}),
             ("report_on_site", {"text": "双方已劝离，现场秩序正常"}),
             ("resolve", {"text": "调解成功，双方握手言和"})]
    for action, extra in steps:
        current = item(orders["live"].pk)
        offered = [a["action"] for a in current["actions"]]
        on_the_way = current["order"]["state"] in ("dispatched", "accepted")
        assert action in offered and offered == permitted(incident_id, on_the_way=on_the_way), (action, offered)
        answer = api.post(url, {"action": action, **extra}, format="json")
        assert answer.status_code == 200, answer.content
    done = item(orders["live"].pk)
    assert done["live"] is False and done["order"]["state"] == "arrived"
    assert 30 < done["order"]["arrival_distance_m"] < 37  # 0.0003° of latitude
    assert done["finished_at"] is not None


def test_accept_and_decline_flags_follow_the_order(ctx, orders):
    api = client_for(ctx["responder"])
    assert api.post(reverse("dispatch:order-accept", args=[orders["live"].pk])).status_code == 200
    first = work(ctx["responder"])["orders"][0]
    assert first["order"]["state"] == "accepted"
    assert first["order"]["can_accept"] is False and first["order"]["can_decline"] is True


def test_the_work_api_reads_in_a_constant_number_of_queries(ctx, orders):
    def count(user) -> tuple[int, int]:
        api = client_for(user)
        api.get(reverse("member_app:work"))  # warm: content types, translations
        with CaptureQueriesContext(connection) as queries:
            answer = api.get(reverse("member_app:work"))
        return len(queries), len(answer.json()["orders"])

    many, n_many = count(ctx["responder"])
    one, n_one = count(ctx["other_responder"])
    assert (n_many, n_one) == (4, 1)
    assert many == one, (many, one)
    assert many <= 6, many  # member, orders with cases, their orders and hand-overs, their grids (+ roles)


# --- the page ---------------------------------------------------------------------------------------

def json_script(response, element_id: str) -> dict:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', response.text, re.S)
    assert match, f"the page hands its data to the modules through json_script #{element_id}"
    return json.loads(match.group(1))


def test_the_page_hands_its_configuration_and_words_through_json_script(client, ctx):
    client.force_login(ctx["responder"])
    response = client.get(reverse("mobile:app"))
    assert response.status_code == 200
    config = json_script(response, "m-config")
    assert config["member"] == {"id": ctx["member"].pk, "name": "张伟"}
    assert config["timeZone"] == "Asia/Shanghai"
    assert config["api"]["work"] == reverse("member_app:work")
    assert config["api"]["order"] == "/api/v1/m/orders/{id}/"
    assert config["api"]["accept"] == "/api/v1/dispatch/orders/{id}/accept/"
    assert config["api"]["decline"] == "/api/v1/dispatch/orders/{id}/decline/"
    assert config["api"]["transitions"] == "/api/v1/incidents/{id}/transitions/"
    assert config["api"]["positions"] == reverse("positions:position-batch")
    assert config["api"]["parties"] == "/api/v1/incidents/{id}/parties/"
    assert config["csrf"] == {"cookie": "csrftoken", "header": "X-CSRFTOKEN"}
    assert set(config["orderStates"]) == set(DispatchOrder.State.values)
    assert config["amberSeconds"] == 600 and config["arrivalMaxAccuracyM"] == 100
    assert config["geo"]["allowed"] is True and config["geo"]["keepSeconds"] == 15
    assert config["geo"]["keepMetres"] == 10
    assert config["serviceWorker"]["url"].startswith("/m/sw.js?v=") and config["serviceWorker"]["scope"] == "/m/"
    # Every word the modules show, in the user's language (Chinese by default).
    buttons = config["text"]["buttons"]
    assert (buttons["accept"], buttons["decline"], buttons["arrive"], buttons["report_on_site"],
            buttons["resolve"], buttons["navigate"]) == ("接受", "拒绝", "已到场", "现场反馈", "办结", "导航")
    assert config["text"]["dueIn"] == "剩余 %(time)s"
    html = response.text
    assert "csrftoken" in response.cookies
    # Native modules, nothing inline but the configuration; no words in data attributes.
    assert '<script type="module" src="/static/gridlink/m/app.js"></script>' in html
    assert "vendor/leaflet/leaflet.js" in html
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert ' id="m-config" type="application/json"' in inline
    assert all(attrs.endswith(' type="application/json"') for attrs in inline), inline  # data only, no code
    assert "data-text" not in html and "window.GridLink" not in html
    assert "gridlink/basemap.js" not in html
    assert '<link rel="manifest" href="/m/manifest.webmanifest">' in html


def test_the_page_is_in_english_when_chosen(client, ctx):
    client.force_login(ctx["responder"])
    client.cookies["django_language"] = "en"
    config = json_script(client.get(reverse("mobile:app")), "m-config")
    assert config["text"]["buttons"]["resolve"] == "Resolve"
    assert config["orderStates"]["dispatched"] == "dispatched"


def test_anonymous_goes_to_login(client, ctx):
    response = client.get(reverse("mobile:app"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_my_teams_roles_come_with_the_page_so_a_plain_responder_starts_nothing(client, ctx):
    """team.js polls /api/v1/m/team/ only for a member who leads something: the page says what they
    lead, decided as the API decides (dispatch.selectors.leader_roles)."""
    client.force_login(ctx["responder"])
    assert json_script(client.get(reverse("mobile:app")), "m-team-config")["roles"] == []
    Member.objects.filter(pk=ctx["member"].pk).update(roles=["grid_leader", "unit_leader"])
    assert json_script(client.get(reverse("mobile:app")), "m-team-config")["roles"] == ["grid_leader", "unit_leader"]
    team = client_for(ctx["responder"]).get(reverse("member_app:team")).json()
    assert team["roles"] == ["grid_leader", "unit_leader"]


def test_another_members_waiting_actions_are_told_as_a_count_and_a_name_only(client, ctx):
    client.force_login(ctx["responder"])
    client.cookies["django_language"] = "en"
    words = json_script(client.get(reverse("mobile:app")), "m-config")["text"]
    assert words["queueHeldMember"] == "%(n)s actions waiting for %(name)s to log in again on this phone."
    assert "%(n)s" in words["queueHeldUnknown"] and words["loginChanged"]


def test_a_user_without_a_member_gets_a_page_saying_the_app_is_for_responders(client, ctx):
    client.force_login(ctx["dispatcher"])
    response = client.get(reverse("mobile:app"))
    assert response.status_code == 403
    assert "本应用供处置人员使用" in response.content.decode()
    assert 'id="m-config"' not in response.content.decode()


def test_service_worker_shell_and_manifest(client, ctx):
    sw = client.get(reverse("mobile:sw"), {"v": "x"})
    assert sw.status_code == 200 and sw["Content-Type"].startswith("text/javascript")
    assert sw["Service-Worker-Allowed"] == "/m/" and "no-cache" in sw["Cache-Control"]
    assert b"shell.json" in sw.content
    shell = client.get(reverse("mobile:shell")).json()
    assert shell["version"] and "/m/" in shell["urls"]
    assert "/static/gridlink/m/app.js" in shell["urls"] and "/static/vendor/leaflet/leaflet.js" in shell["urls"]
    for url in shell["urls"]:
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), url
    manifest = json.loads(client.get(reverse("mobile:manifest")).content)
    assert manifest["name"] == "网事警情·处置端"
    assert manifest["start_url"] == "/m/" and manifest["scope"] == "/m/" and manifest["display"] == "standalone"
    assert manifest["icons"][0]["type"] == "image/svg+xml" and manifest["icons"][0]["sizes"] == "any"


def test_the_page_hands_the_scene_forms_their_limits(client, ctx, settings):
    """The photo limits are the server's (PHOTO_MAX_BYTES, PHOTO_MAX_COUNT), the roles of a person
    the model's, the key window the idempotency's (14 days by default)."""
    settings.PHOTO_MAX_BYTES = 1234567
    client.force_login(ctx["responder"])
    client.cookies["django_language"] = "en"
    config = json_script(client.get(reverse("mobile:app")), "m-config")
    assert config["photo_max_bytes"] == 1234567
    assert config["photo_max_count"] == settings.PHOTO_MAX_COUNT == 3
    assert [r["value"] for r in config["party_roles"]] == Party.Role.values
    assert all(r["label"] for r in config["party_roles"])
    assert config["idempotency_key_hours"] == settings.IDEMPOTENCY_KEY_HOURS
    assert sorted(config["transfer_groups"]) == ["department", "grid", "police"]
    for key in ("request_transfer", "register_party"):
        assert config["text"]["buttons"][key]
    assert set(config["text"]["personProblems"]) == {"required", "phone", "format", "date", "check"}


def test_the_key_window_outlasts_a_long_absence(settings):
    """A phone may hold an action for days: keys are honoured for 14 days unless configured."""
    assert settings.IDEMPOTENCY_KEY_HOURS == 14 * 24 or "IDEMPOTENCY_KEY_HOURS" in os.environ


def test_transfer_units_are_the_subdistricts_offices_grouped(client, ctx, orders, other_world):
    """The units a transfer may be asked for: the member's sub-district only; police, the grid
    squad, then departments; not the command room, the leading group or social units. Each is one
    the service takes for a request."""
    sub = ctx["subdistrict"]

    def unit(code, name, kind):
        return Unit.objects.create(subdistrict=sub, code=f"MA-{code}", name=name, kind=kind)

    market = unit("U5", "市场监管所", Unit.Kind.MARKET_SUPERVISION)
    police = unit("U2", "派出所", Unit.Kind.POLICE_STATION)
    unit("U3", "指挥室", Unit.Kind.COMMAND_ROOM)
    unit("U4", "某工地", Unit.Kind.CONSTRUCTION_SITE)
    community = unit("U6", "测试社区居委会", Unit.Kind.COMMUNITY)
    elsewhere = other_world["unit"]
    client.force_login(ctx["responder"])
    client.cookies["django_language"] = "en"
    config = json_script(client.get(reverse("mobile:app")), "m-config")
    units = config["transfer_units"]
    assert [(u["id"], u["group"]) for u in units] == [
        (police.pk, "police"), (ctx["unit"].pk, "grid"), (community.pk, "department"), (market.pk, "department")]
    assert units[0] == {"id": police.pk, "name": "派出所", "kind": "police_station",
                        "kind_display": "police station", "group": "police"}
    assert elsewhere.pk not in [u["id"] for u in units]

    # Each one offered is one the service takes: the responder on the scene asks for the police.
    api = client_for(ctx["responder"])
    incident_id = orders["on_scene"].incident_id
    on_scene = next(i for i in work(ctx["responder"])["orders"] if i["order"]["id"] == orders["on_scene"].pk)
    offered = {a["action"]: a for a in on_scene["actions"]}
    assert offered["request_transfer"]["requires"] == ["unit", "text"]
    answer = api.post(reverse("incidents:incident-transition", args=[incident_id]),
                      {"action": "request_transfer", "unit": police.pk, "text": "涉嫌违法，需要民警处理"}, format="json")
    assert answer.status_code == 200, answer.content


def test_the_offline_shell_holds_every_module(client):
    urls = client.get(reverse("mobile:shell")).json()["urls"]
    folder = Path(finders.find("gridlink/m/app.js")).parent
    modules = {f"/static/gridlink/m/{p.name}" for p in folder.glob("*.js") if p.name != "sw.js"}
    assert {"/static/gridlink/m/idcard.js", "/static/gridlink/m/photos.js", "/static/gridlink/m/session.js"} <= modules
    assert modules <= set(urls)
    assert "/static/gridlink/m/sw.js" not in urls
