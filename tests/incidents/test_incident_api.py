"""The incident REST API (/api/v1/) on real PostGIS: intake and its idempotency, input errors
(400, no row), transitions (200, 409 with nothing changed, 403, 404 outside the user's scope),
authentication (session, token from `issue_token`), masked ID numbers and their reveal, the
pick-lists, call-backs, hand-over returns, the gazetteer and the OpenAPI schema."""

import json
from io import StringIO

import pytest
from django.contrib.gis.geos import Point
from django.core.management import CommandError, call_command
from django.http import HttpRequest
from django.urls import reverse

from config.roles import UserRole
from dispatch.services import incident_transition
from geo.models import Address
from incidents.models import CategoryRule, Incident, IncidentEvent, Status
from incidents.services import incident_intake
from tests.factories import S, W, add_grid_worker, api_client, make_user, put_on_duty

pytestmark = [pytest.mark.django_db, pytest.mark.world(on_duty=True)]

VALID_ID = "11010519491231002X"  # the GB 11643 standard's own example
P = {"type": "Point", "coordinates": [W + 0.004, S + 0.004]}
INCIDENTS = reverse("incidents:incidents")


@pytest.fixture
def ctx(world, users):
    """The shared world on duty, its office, a user per role and a responder without an order."""
    world.update(dispatcher=users.dispatcher, command=users.command_room, calltaker=users.call_taker,
                 responder=users.responder, department=users.department, centre=users.integration,
                 planner=users.planner)
    stranger = add_grid_worker(world, "T1-M3")
    put_on_duty(stranger)
    world["stranger"] = make_user("stranger", UserRole.RESPONDER, member=stranger)
    return world


def intake_body(ctx, **kw) -> dict:
    body = {"channel": ctx["hotline"].code, "category": ctx["category"].code, "description": "小区门口两人因停车发生争执",
            "location": P, "caller_name": "李先生", "caller_phone": "13912345678", "subdistrict": "T1"}
    body.update(kw)
    return body


def post(client, url, body):
    return client.post(url, body, format="json")


def detail_url(incident_id) -> str:
    return reverse("incidents:incident-detail", args=[incident_id])


def transition_url(incident_id) -> str:
    return reverse("incidents:incident-transition", args=[incident_id])


def take_call(ctx, **kw) -> Incident:
    fields = {"channel": ctx["hotline"], "category": ctx["category"], "description": "邻居装修噪音扰民",
              "actor": ctx["calltaker"], "location": Point(W + 0.004, S + 0.004, srid=4326),
              "subdistrict": ctx["subdistrict"]}
    fields.update(kw)
    return incident_intake(**fields).incident


# --- intake ------------------------------------------------------------------------------------

def test_intake_creates_then_the_same_external_id_answers_the_same_case(ctx):
    client = api_client(ctx["centre"])
    body = intake_body(ctx, channel=ctx["district"].code, external_id="QX-2026-000123")
    first = post(client, INCIDENTS, body)
    assert first.status_code == 201, first.content
    data = first.json()
    assert data["created"] is True and data["status"] == Status.NEW
    assert data["number"] and data["category"]["code"] == ctx["category"].code
    assert data["grid"]["code"] == "T1-G1" and data["location"]["type"] == "Point"
    assert isinstance(data["duplicates"], list) and isinstance(data["suggested_categories"], list)
    again = post(client, INCIDENTS, body)
    assert again.status_code == 200
    assert again.json()["id"] == data["id"] and again.json()["created"] is False
    assert Incident.objects.filter(channel=ctx["district"], external_id="QX-2026-000123").count() == 1


def test_intake_offers_duplicates_and_suggested_categories(ctx):
    CategoryRule.objects.create(keyword="停车", category=ctx["category"], weight=3)
    client = api_client(ctx["calltaker"])
    first = post(client, INCIDENTS, intake_body(ctx)).json()
    second = post(client, INCIDENTS, intake_body(ctx, description="又有人来电:停车纠纷")).json()
    assert [d["id"] for d in second["duplicates"]] == [first["id"]]
    assert second["suggested_categories"][0]["code"] == ctx["category"].code


def test_intake_duplicates_are_hidden_from_a_machine_client(ctx):
    take_call(ctx)
    data = post(api_client(ctx["centre"]), INCIDENTS,
                intake_body(ctx, channel=ctx["district"].code, external_id="QX-1")).json()
    assert data["duplicates"] == []


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"category": "no_such_category"}, "category", "Unknown category"),
    ({"channel": "no_such_channel"}, "channel", "Unknown or inactive channel"),
    ({"location": "120.0,30.28"}, "location", "GeoJSON Point"),
    ({"location": {"type": "Point", "coordinates": [120.0]}}, "location", "GeoJSON Point"),
    ({"location": {"type": "Point", "coordinates": ["120.0", "30.28"]}}, "location", "GeoJSON Point"),
    ({"location": {"type": "Point", "coordinates": [120.0, 30.28, 5.0]}}, "location", "GeoJSON Point"),
    ({"location": {"type": "Point", "coordinates": [True, 30.28]}}, "location", "GeoJSON Point"),
    ({"location": {"type": "Polygon", "coordinates": [[[120, 30], [121, 30], [120, 31], [120, 30]]]}},
     "location", "GeoJSON Point"),
    ({"offices": [987654]}, "offices", "Unknown unit"),
    ({"description": None}, "description", None),
])
def test_malformed_intake_is_400_with_a_message_and_no_row(ctx, change, field, words):
    before = Incident.objects.count()
    response = post(api_client(ctx["calltaker"]), INCIDENTS, intake_body(ctx, **change))
    assert response.status_code == 400, response.content
    assert field in response.json()
    if words:
        assert words in " ".join(response.json()[field])
    assert Incident.objects.count() == before


def test_an_inactive_channel_is_refused(ctx):
    ctx["hotline"].active = False
    ctx["hotline"].save()
    before = Incident.objects.count()
    response = post(api_client(ctx["calltaker"]), INCIDENTS, intake_body(ctx))
    assert response.status_code == 400
    assert "inactive" in response.json()["channel"][0]
    assert Incident.objects.count() == before


@pytest.mark.parametrize(("change", "code"), [
    ({"location": None, "address": ""}, "location"),                                    # neither point nor address
    ({"location": {"type": "Point", "coordinates": [100.0, 40.0]}}, "location"),        # far away
    ({"location": {"type": "Point", "coordinates": [200.0, 30.0]}}, "location"),        # not a longitude
    ({"description": "   "}, "required"),
    ({"description": "x" * 4001}, "too_long"),
    ({"caller_phone": "12345"}, "phone"),
])
def test_refused_intake_is_400_with_the_services_message_and_no_row(ctx, change, code):
    before = Incident.objects.count()
    response = post(api_client(ctx["calltaker"]), INCIDENTS, intake_body(ctx, **change))
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code and response.json()["detail"]
    assert Incident.objects.count() == before


def test_html_in_a_description_is_stored_and_returned_as_text(ctx):
    html = '<script>alert("x")</script><img src=x onerror=alert(1)> 噪音 & "扰民"'
    client = api_client(ctx["calltaker"])
    response = post(client, INCIDENTS, intake_body(ctx, description=html))
    assert response.status_code == 201
    assert response["Content-Type"].startswith("application/json")
    incident = Incident.objects.get(pk=response.json()["id"])
    assert incident.description == html
    detail = client.get(detail_url(incident.pk))
    assert detail["Content-Type"].startswith("application/json")
    assert detail.json()["description"] == html
    assert detail.json()["events"][0]["note"] == html


def test_an_address_only_report_waits_in_the_needs_location_queue(ctx):
    client = api_client(ctx["calltaker"])
    response = post(client, INCIDENTS, intake_body(ctx, location=None, address="某个不存在的地址99号"))
    assert response.status_code == 201 and response.json()["status"] == Status.NEEDS_LOCATION
    queue = client.get(INCIDENTS, {"queue": "needs_location", "subdistrict": "T1"}).json()
    assert queue["type"] == "FeatureCollection"
    [feature] = queue["features"]
    assert feature["id"] == response.json()["id"] and feature["geometry"] is None
    located = post(client, reverse("incidents:incident-locate", args=[feature["id"]]), {"location": P})
    assert located.status_code == 200 and located.json()["status"] == Status.NEW
    assert located.json()["grid"]["code"] == "T1-G1"


def test_a_joint_assignment_names_its_offices(ctx):
    response = post(api_client(ctx["dispatcher"]), INCIDENTS, intake_body(
        ctx, channel=ctx["joint"].code, location=None, offices=[ctx["office"].pk], description="周例会交办:物业纠纷"))
    assert response.status_code == 201, response.content
    assert (response.json()["flow"], response.json()["status"]) == ("off_site", Status.ASSIGNED)


def test_a_role_that_may_not_take_reports_gets_403(ctx):
    before = Incident.objects.count()
    response = post(api_client(ctx["planner"]), INCIDENTS, intake_body(ctx))
    assert response.status_code == 403
    assert Incident.objects.count() == before


# --- list and detail ---------------------------------------------------------------------------

def test_the_list_is_geojson_and_a_responder_sees_only_their_cases(ctx):
    mine, other = take_call(ctx), take_call(ctx, description="另一起")
    incident_transition(incident_id=mine.pk, action="dispatch", actor=ctx["dispatcher"],
                        members=[ctx["member"]], method="radio")
    staff = api_client(ctx["dispatcher"]).get(INCIDENTS, {"subdistrict": "T1"}).json()
    assert staff["type"] == "FeatureCollection"
    assert {f["id"] for f in staff["features"]} == {mine.pk, other.pk}
    feature = next(f for f in staff["features"] if f["id"] == mine.pk)
    assert feature["geometry"]["type"] == "Point"
    assert feature["properties"]["status"] == Status.DISPATCHED and feature["properties"]["grid"] == "T1-G1"
    responder = api_client(ctx["responder"])
    assert [f["id"] for f in responder.get(INCIDENTS, {"subdistrict": "T1"}).json()["features"]] == [mine.pk]
    assert responder.get(detail_url(other.pk)).status_code == 404
    assert responder.get(detail_url(mine.pk)).status_code == 200


def test_list_and_detail_take_a_constant_number_of_queries(ctx, django_assert_max_num_queries):
    case = take_call(ctx)
    incident_transition(incident_id=case.pk, action="dispatch", actor=ctx["dispatcher"],
                        members=[ctx["member"]], method="radio")
    for i in range(10):
        take_call(ctx, description=f"第{i}起")
    client = api_client(ctx["dispatcher"])
    with django_assert_max_num_queries(3):
        assert len(client.get(INCIDENTS, {"subdistrict": "T1"}).json()["features"]) == 11
    with django_assert_max_num_queries(14):
        assert client.get(detail_url(case.pk)).status_code == 200


def test_list_parameters_are_checked(ctx):
    client = api_client(ctx["dispatcher"])
    assert client.get(INCIDENTS, {"queue": "everything"}).status_code == 400
    assert client.get(INCIDENTS, {"subdistrict": "NOPE"}).status_code == 404


def test_the_detail_carries_the_timeline_and_the_users_actions(ctx):
    case = take_call(ctx)
    data = api_client(ctx["dispatcher"]).get(detail_url(case.pk)).json()
    assert data["number"] == case.number and data["subdistrict"]["code"] == "T1"
    [created] = data["events"]
    assert created["kind"] == "created" and created["to"] == Status.NEW and created["from"] == ""
    assert created["actor"] == "taker"
    actions = {a["action"]: a for a in data["actions"]}
    assert set(actions) == {"dispatch", "cancel", "note"}
    assert actions["dispatch"]["requires"] == ["members", "method"]
    assert {c["value"] for c in actions["dispatch"]["choices"]["method"]} == {"radio", "wechat", "phone", "app"}
    assert actions["dispatch"]["label"]
    # A call-taker may only add a note at this point.
    taker = api_client(ctx["calltaker"]).get(detail_url(case.pk)).json()
    assert [a["action"] for a in taker["actions"]] == ["note"]


# --- transitions -------------------------------------------------------------------------------

def test_transitions_through_the_api(ctx):
    case = take_call(ctx)
    dispatcher, responder = api_client(ctx["dispatcher"]), api_client(ctx["responder"])
    response = post(dispatcher, transition_url(case.pk),
                    {"action": "dispatch", "members": [ctx["member"].pk], "method": "radio", "text": "请速到场"})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == Status.DISPATCHED
    [order] = data["orders"]
    assert order["member"]["name"] == "张伟" and order["state"] == "dispatched" and order["method"] == "radio"
    # The dispatched responder sees "arrive" among their actions and makes it.
    assert "arrive" in [a["action"] for a in responder.get(detail_url(case.pk)).json()["actions"]]
    assert post(responder, transition_url(case.pk), {"action": "arrive"}).json()["status"] == Status.ARRIVED
    post(responder, transition_url(case.pk), {"action": "report_on_site", "text": "拖欠工资,现场无法调处"})
    transfer = post(dispatcher, transition_url(case.pk),
                    {"action": "transfer", "unit": ctx["office"].pk, "text": "移交劳动保障中队"})
    assert transfer.status_code == 200 and transfer.json()["status"] == Status.TRANSFERRED
    [handover] = transfer.json()["handovers"]
    assert handover["unit"]["name"] == "劳动保障中队" and handover["state"] == "pending"
    department = api_client(ctx["department"])
    back = post(department, transition_url(case.pk), {"action": "return_handover", "text": "不属于劳资纠纷"})
    assert back.status_code == 200 and back.json()["handovers"][0]["return_reason"] == "不属于劳资纠纷"
    returns = api_client(ctx["dispatcher"]).get(reverse("incidents:handover-returns"), {"subdistrict": "T1"}).json()
    assert returns == [{"unit": ctx["office"].pk, "unit_name": "劳动保障中队", "received": 1, "returned": 1}]


def test_a_refused_transition_is_409_and_changes_nothing(ctx):
    case = take_call(ctx)
    events = case.events.count()
    response = post(api_client(ctx["dispatcher"]), transition_url(case.pk), {"action": "close"})
    assert response.status_code == 409
    body = response.json()
    assert body["detail"] and "code" in body
    case.refresh_from_db()
    assert case.status == Status.NEW and case.events.count() == events


def test_a_role_that_may_not_make_the_transition_gets_403(ctx):
    case = take_call(ctx)
    response = post(api_client(ctx["calltaker"]), transition_url(case.pk),
                    {"action": "dispatch", "members": [ctx["member"].pk], "method": "radio"})
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    case.refresh_from_db()
    assert case.status == Status.NEW and case.events.count() == 1


def test_a_responder_on_a_case_not_theirs_gets_404(ctx):
    case = take_call(ctx)
    incident_transition(incident_id=case.pk, action="dispatch", actor=ctx["dispatcher"],
                        members=[ctx["member"]], method="radio")
    stranger = api_client(ctx["stranger"])
    assert stranger.get(detail_url(case.pk)).status_code == 404
    assert post(stranger, transition_url(case.pk), {"action": "arrive"}).status_code == 404
    assert post(stranger, reverse("incidents:incident-parties", args=[case.pk]), {"name": "赵六"}).status_code == 404
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"action": "transfer", "unit": 987654, "text": "移交"}, "unit", "Unknown unit"),
    ({"action": "dispatch", "members": [987654], "method": "radio"}, "members", "Unknown member"),
    ({"action": "dispatch", "members": "everyone", "method": "radio"}, "members", None),
    ({}, "action", None),
])
def test_malformed_transitions_are_400(ctx, body, field, words):
    case = take_call(ctx)
    response = post(api_client(ctx["dispatcher"]), transition_url(case.pk), body)
    assert response.status_code == 400 and field in response.json()
    if words:
        assert words in response.json()[field][0]
    assert case.events.count() == 1


def test_unknown_action_and_missing_text_are_400_from_the_service(ctx):
    case = take_call(ctx)
    client = api_client(ctx["dispatcher"])
    assert post(client, transition_url(case.pk), {"action": "teleport"}).json()["code"] == "action"
    response = post(client, transition_url(case.pk), {"action": "cancel", "text": " "})
    assert response.status_code == 400 and response.json()["code"] == "required"


def test_unknown_case_is_404(ctx):
    client = api_client(ctx["dispatcher"])
    assert client.get(detail_url(987654)).status_code == 404
    assert post(client, transition_url(987654), {"action": "note", "text": "x"}).status_code == 404


def test_merge_and_category_change(ctx):
    first, second = take_call(ctx), take_call(ctx, description="同一起噪音")
    other = ctx["category"].__class__.objects.create(code="t_noise", name="噪音", name_en="noise",
                                                      scope="non_police", statistic_group="other")
    client = api_client(ctx["calltaker"])
    changed = post(client, reverse("incidents:incident-category", args=[first.pk]), {"category": "t_noise"})
    assert changed.status_code == 200 and changed.json()["category"]["code"] == other.code
    assert post(client, reverse("incidents:incident-category", args=[first.pk]),
                {"category": "nope"}).status_code == 400
    merged = post(client, reverse("incidents:incident-merge", args=[second.pk]), {"into": first.pk})
    assert merged.status_code == 200 and merged.json()["id"] == first.pk
    assert len(merged.json()["reports"]) == 2
    second.refresh_from_db()
    assert second.status == Status.MERGED
    again = post(client, reverse("incidents:incident-merge", args=[second.pk]), {"into": first.pk})
    assert again.status_code == 409


# --- authentication ----------------------------------------------------------------------------

def test_anonymous_requests_are_refused(ctx):
    case = take_call(ctx)
    before = Incident.objects.count()
    anonymous = api_client()
    for response in (anonymous.get(INCIDENTS), anonymous.get(detail_url(case.pk)),
                     post(anonymous, INCIDENTS, intake_body(ctx)),
                     post(anonymous, transition_url(case.pk), {"action": "note", "text": "x"}),
                     anonymous.get(reverse("incidents:categories"))):
        assert response.status_code in (401, 403)
    assert Incident.objects.count() == before


def test_session_login_works(ctx):
    client = api_client()
    # django-axes judges each login by its request (the client's address): the test client has none.
    assert client.login(request=HttpRequest(), username="disp", password="pw-disp")  # noqa: S106
    assert client.get(INCIDENTS, {"subdistrict": "T1"}).status_code == 200


def test_issue_token_and_token_auth_for_the_district_centre(ctx):
    out = StringIO()
    call_command("issue_token", "centre", stdout=out)
    key = out.getvalue().strip()
    assert len(key) == 40
    again = StringIO()
    call_command("issue_token", "centre", stdout=again)
    assert again.getvalue().strip() == key  # the same token until rotated
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = post(client, INCIDENTS, intake_body(ctx, channel=ctx["district"].code, external_id="QX-9"))
    assert response.status_code == 201, response.content
    assert Incident.objects.get(pk=response.json()["id"]).created_by == ctx["centre"]
    rotated = StringIO()
    call_command("issue_token", "centre", "--rotate", stdout=rotated)
    assert rotated.getvalue().strip() != key
    stale = post(client, INCIDENTS, intake_body(ctx, channel=ctx["district"].code, external_id="QX-10"))
    assert stale.status_code in (401, 403) and "token" in stale.json()["detail"].lower()
    assert not Incident.objects.filter(external_id="QX-10").exists()
    with pytest.raises(CommandError, match="nobody"):
        call_command("issue_token", "nobody", stdout=StringIO())


def test_issue_token_warns_for_a_user_outside_the_integration_group(ctx):
    out, err = StringIO(), StringIO()
    call_command("issue_token", "disp", stdout=out, stderr=err)
    assert len(out.getvalue().strip()) == 40 and "integration" in err.getvalue()


# --- people involved ---------------------------------------------------------------------------

def test_party_id_numbers_are_masked_and_revealed_only_to_allowed_roles(ctx):
    case = take_call(ctx)
    incident_transition(incident_id=case.pk, action="dispatch", actor=ctx["dispatcher"],
                        members=[ctx["member"]], method="radio")
    responder = api_client(ctx["responder"])
    registered = post(responder, reverse("incidents:incident-parties", args=[case.pk]),
                      {"name": "赵六", "phone": "13700000000", "id_number": VALID_ID, "role": "party"})
    assert registered.status_code == 201, registered.content
    party = registered.json()
    assert party["id_number_masked"] == "110***********002X" and "id_number" not in party
    for user in ("dispatcher", "command", "responder"):
        detail = api_client(ctx[user]).get(detail_url(case.pk))
        assert VALID_ID not in detail.content.decode()
        assert detail.json()["parties"][0]["id_number_masked"] == "110***********002X"
    reveal = reverse("incidents:party-reveal", args=[party["id"]])
    for user in ("dispatcher", "responder", "calltaker"):
        assert api_client(ctx[user]).post(reveal).status_code == 403
    shown = api_client(ctx["command"]).post(reveal)
    assert shown.status_code == 200 and shown.json() == {"id_number": VALID_ID}
    assert case.events.filter(kind=IncidentEvent.Kind.PARTY_REVEALED, actor=ctx["command"]).count() == 1
    assert api_client(ctx["command"]).post(reverse("incidents:party-reveal", args=[987654])).status_code == 404


def test_a_bad_id_number_is_400(ctx):
    case = take_call(ctx)
    response = post(api_client(ctx["dispatcher"]), reverse("incidents:incident-parties", args=[case.pk]),
                    {"name": "赵六", "id_number": "110105194912310021"})
    assert response.status_code == 400 and response.json()["code"] == "id_number"
    assert not case.parties.exists()


# --- pick-lists, duplicates, gazetteer ---------------------------------------------------------

def test_pick_lists(ctx):
    client = api_client(ctx["calltaker"])
    categories = {c["code"]: c for c in client.get(reverse("incidents:categories")).json()}
    assert categories["test_dispute"]["statistic_group"] == "petition"
    assert {"is_police", "scope", "statistic_group_display", "name"} <= set(categories["test_dispute"])
    channels = {c["code"]: c for c in client.get(reverse("incidents:channels")).json()}
    assert channels["t_hotline_110"]["phone"] == "88611155" and channels["t_hotline_110"]["kind"] == "hotline"
    units = client.get(reverse("incidents:units"), {"subdistrict": "T1"}).json()
    assert {u["name"] for u in units} == {"网格中队", "劳动保障中队"}
    assert {"id", "name", "kind"} <= set(units[0])


def test_category_suggestions(ctx):
    CategoryRule.objects.create(keyword="装修", category=ctx["category"], weight=2)
    client = api_client(ctx["calltaker"])
    found = client.get(reverse("incidents:category-suggest"), {"text": "楼上装修太吵"}).json()
    assert found == [{"code": "test_dispute", "name": "测试纠纷", "score": 2}]
    assert client.get(reverse("incidents:category-suggest"), {"text": ""}).json() == []


def test_duplicate_check_before_saving(ctx):
    case = take_call(ctx)
    client = api_client(ctx["calltaker"])
    url = reverse("incidents:duplicates")
    near = client.get(url, {"lon": W + 0.0041, "lat": S + 0.004, "category": ctx["category"].code,
                            "subdistrict": "T1"})
    assert near.status_code == 200 and [d["id"] for d in near.json()] == [case.pk]
    assert client.get(url, {"lon": W + 0.018, "lat": S + 0.018, "subdistrict": "T1"}).json() == []
    assert client.get(url, {"lon": "abc", "lat": S}).status_code == 400
    assert client.get(url, {"lon": W, "lat": S, "category": "nope"}).status_code == 400
    assert api_client(ctx["planner"]).get(url, {"lon": W, "lat": S}).status_code == 403


def test_gazetteer_and_locate(ctx):
    Address.objects.create(subdistrict=ctx["subdistrict"], text="良睦路1288号",
                           location=Point(W + 0.003, S + 0.003, srid=4326))
    client = api_client(ctx["calltaker"])
    [match] = client.get(reverse("incidents:gazetteer"), {"q": "良睦路1288", "subdistrict": "T1"}).json()
    assert match["text"] == "良睦路1288号" and match["grid"] == "T1-G1"
    assert match["lon"] == pytest.approx(W + 0.003) and match["lat"] == pytest.approx(S + 0.003)
    assert client.get(reverse("incidents:gazetteer"), {"q": "", "subdistrict": "T1"}).json() == []
    where = client.get(reverse("incidents:locate"), {"lon": W + 0.015, "lat": S + 0.004, "subdistrict": "T1"}).json()
    assert where["grid"]["code"] == "T1-G2" and where["subdistrict"]["code"] == "T1" and where["outside"] is False
    outside = client.get(reverse("incidents:locate"), {"lon": W - 0.01, "lat": S + 0.004, "subdistrict": "T1"}).json()
    assert outside["outside"] is True and outside["grid"] is None and outside["distance_outside_m"] > 0
    assert client.get(reverse("incidents:locate"), {"lon": 500, "lat": 30}).status_code == 400


# --- call-backs --------------------------------------------------------------------------------

def test_callbacks_list_and_complete_with_reopen(ctx):
    case = take_call(ctx, caller_phone="13912345678", caller_name="李先生")
    for action, who, kw in [("dispatch", "dispatcher", {"members": [ctx["member"]], "method": "radio"}),
                            ("arrive", "responder", {}), ("report_on_site", "responder", {"text": "已到场"}),
                            ("resolve", "responder", {"text": "已调解"}), ("feed_back", "dispatcher", {"text": "已反馈"})]:
        incident_transition(incident_id=case.pk, action=action, actor=ctx[who], **kw)
    url = reverse("incidents:callbacks")
    assert api_client(ctx["calltaker"]).get(url).status_code == 403
    client = api_client(ctx["dispatcher"])
    [task] = client.get(url, {"state": "open", "subdistrict": "T1"}).json()
    # Masked in the list: the desk reveals the number it calls, and the timeline says who did.
    assert task["phone"] == "139****5678" and task["number"] == case.number
    revealed = post(client, reverse("incidents:incident-reveal", args=[case.pk]), {"callbacks": [task["id"]]})
    assert revealed.json()["callbacks"] == [{"id": task["id"], "name": "李先生", "phone": "13912345678"}]
    assert case.events.get(kind="personal_data_revealed").data["callbacks"] == [task["id"]]
    complete = reverse("incidents:callback-complete", args=[task["id"]])
    assert post(client, complete, {"state": "done"}).json()["code"] == "satisfaction"
    done = post(client, complete, {"state": "done", "satisfaction": "dissatisfied", "note": "仍有噪音",
                                   "reopen": True})
    assert done.status_code == 200 and done.json()["state"] == "done"
    case.refresh_from_db()
    assert case.status == Status.REPORTED and case.reopen_count == 1
    assert post(client, complete, {"state": "unreachable"}).status_code == 409
    assert client.get(url, {"state": "open", "subdistrict": "T1"}).json() == []
    assert case.callbacks.get().satisfaction == "dissatisfied"


# --- schema ------------------------------------------------------------------------------------

def test_openapi_schema(ctx):
    response = api_client(ctx["dispatcher"]).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert "/api/v1/incidents/" in schema["paths"]
    assert "/api/v1/incidents/{id}/transitions/" in schema["paths"]
