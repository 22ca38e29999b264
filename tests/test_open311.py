"""Open311 GeoReport v2 at /open311/v2/ on real PostGIS: services, a request's round trip
(POST requests.json → GET requests/{id}.json), idempotent retries, list filters, and errors in
Open311's shape `[{"code", "description"}]` with the matching HTTP status."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.gis.geos import Point
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from config.roles import UserRole
from dispatch.services import incident_transition
from incidents.models import CategoryRule, Incident, Status
from incidents.services import incident_intake
from tests.factories import S, W, make_channels, make_user, make_world, put_on_duty

pytestmark = pytest.mark.django_db

BASE = "/open311/v2"
LAT, LON = S + 0.004, W + 0.004


@pytest.fixture
def ctx():
    world = make_world()
    world.update(make_channels())
    world["centre"] = make_user("centre", UserRole.INTEGRATION)
    world["dispatcher"] = make_user("disp", UserRole.DISPATCHER)
    world["responder"] = make_user("resp", UserRole.RESPONDER, member=world["member"])
    put_on_duty(world["member"])
    out = StringIO()
    call_command("issue_token", "centre", stdout=out)
    world["api_key"] = out.getvalue().strip()
    return world


def client() -> APIClient:
    return APIClient(HTTP_ACCEPT_LANGUAGE="en")


def form(ctx, **kw) -> dict:
    data = {"api_key": ctx["api_key"], "jurisdiction_id": "T1", "service_code": ctx["category"].code,
            "lat": str(LAT), "long": str(LON), "description": "区级派单:某小区门口噪音扰民",
            "first_name": "伟", "last_name": "张", "phone": "13912345678",
            "channel": ctx["district"].code, "external_id": "QX-2026-000777"}
    data.update(kw)
    return {k: v for k, v in data.items() if v is not None}


def assert_open311_error(response, status_code: int) -> str:
    assert response.status_code == status_code, response.content
    body = response.json()
    assert isinstance(body, list) and len(body) == 1
    assert body[0]["code"] == status_code and body[0]["description"]
    return body[0]["description"]


def test_services_list_the_categories(ctx):
    CategoryRule.objects.create(keyword="吵架", category=ctx["category"], weight=2)
    response = client().get(f"{BASE}/services.json")
    assert response.status_code == 200
    services = {s["service_code"]: s for s in response.json()}
    service = services["test_dispute"]
    assert service["metadata"] is False and service["type"] == "realtime"
    assert service["keywords"] == "吵架" and service["group"] == "petition"
    assert service["service_name"] == "test dispute"  # English name for an English client
    assert service["description"]


def test_round_trip_post_then_get(ctx):
    created = client().post(f"{BASE}/requests.json", form(ctx))  # form-encoded, as Open311 clients post
    assert created.status_code == 201, created.content
    [answer] = created.json()
    number = answer["service_request_id"]
    incident = Incident.objects.get(number=number)
    assert (incident.channel, incident.external_id, incident.caller_name) == (ctx["district"], "QX-2026-000777", "张伟")
    assert incident.created_by == ctx["centre"] and incident.grid.code == "T1-G1"

    fetched = client().get(f"{BASE}/requests/{number}.json", {"api_key": ctx["api_key"]})
    assert fetched.status_code == 200, fetched.content
    [request] = fetched.json()
    assert request["service_request_id"] == number and request["status"] == "open"
    assert request["service_code"] == "test_dispute" and request["description"] == "区级派单:某小区门口噪音扰民"
    assert request["lat"] == pytest.approx(LAT) and request["long"] == pytest.approx(LON)
    assert request["requested_datetime"].endswith("+08:00") and request["updated_datetime"]
    assert request["agency_responsible"] == ctx["subdistrict"].name
    assert "13912345678" not in fetched.content.decode() and "张伟" not in fetched.content.decode()

    # The same order again (a retry): the same request, 200.
    again = client().post(f"{BASE}/requests.json", form(ctx))
    assert again.status_code == 200 and again.json()[0]["service_request_id"] == number
    assert Incident.objects.filter(channel=ctx["district"], external_id="QX-2026-000777").count() == 1


def test_idempotency_key_header_and_json_body_and_token_header(ctx):
    c = client()
    c.credentials(HTTP_AUTHORIZATION=f"Token {ctx['api_key']}")
    body = form(ctx, api_key=None, external_id=None)
    first = c.post(f"{BASE}/requests.json", body, format="json", HTTP_IDEMPOTENCY_KEY="QX-HDR-1")
    assert first.status_code == 201, first.content
    second = c.post(f"{BASE}/requests.json", body, format="json", HTTP_IDEMPOTENCY_KEY="QX-HDR-1")
    assert second.status_code == 200
    assert first.json()[0]["service_request_id"] == second.json()[0]["service_request_id"]
    assert Incident.objects.get(channel=ctx["district"], external_id="QX-HDR-1").channel == ctx["district"]


def test_the_default_channel_is_a_district_order_channel(ctx):
    response = client().post(f"{BASE}/requests.json", form(ctx, channel=None, external_id="QX-DEF-1"))
    assert response.status_code == 201, response.content
    incident = Incident.objects.get(number=response.json()[0]["service_request_id"])
    assert incident.channel.kind == "district_order"


def test_an_address_string_without_a_point_waits_for_a_location(ctx):
    response = client().post(f"{BASE}/requests.json", form(ctx, lat=None, long=None, address_string="不存在路1号"))
    assert response.status_code == 201, response.content
    incident = Incident.objects.get(number=response.json()[0]["service_request_id"])
    assert incident.status == Status.NEEDS_LOCATION and incident.address_text == "不存在路1号"


def test_list_filters(ctx):
    open_case = incident_intake(channel=ctx["hotline"], category=ctx["category"], description="噪音",
                                actor=ctx["centre"], location=Point(LON, LAT, srid=4326),
                                subdistrict=ctx["subdistrict"]).incident
    closed_case = incident_intake(channel=ctx["hotline"], category=ctx["category"], description="误报",
                                  actor=ctx["centre"], location=Point(LON, LAT, srid=4326),
                                subdistrict=ctx["subdistrict"]).incident
    incident_transition(incident_id=closed_case.pk, action="cancel", actor=ctx["dispatcher"], text="误报")
    url, key = f"{BASE}/requests.json", ctx["api_key"]

    def numbers(**params):
        response = client().get(url, {"api_key": key, "jurisdiction_id": "T1", **params})
        assert response.status_code == 200, response.content
        return [r["service_request_id"] for r in response.json()]

    assert set(numbers()) == {open_case.number, closed_case.number}
    assert numbers(status="open") == [open_case.number]
    assert numbers(status="closed") == [closed_case.number]
    assert numbers(service_code="nothing_like_it") == []
    assert set(numbers(service_code="test_dispute")) == {open_case.number, closed_case.number}
    assert numbers(service_request_id=open_case.number) == [open_case.number]
    future = (timezone.now() + timedelta(days=1)).isoformat()
    assert numbers(start_date=future) == []
    past = (timezone.now() - timedelta(days=1)).isoformat()
    assert len(numbers(start_date=past, end_date=future)) == 2


def test_status_notes_show_the_result_fed_back(ctx):
    case = incident_intake(channel=ctx["hotline"], category=ctx["category"], description="噪音",
                           actor=ctx["centre"], location=Point(LON, LAT, srid=4326),
                                subdistrict=ctx["subdistrict"]).incident
    for action, who, kw in [("dispatch", "dispatcher", {"members": [ctx["member"]], "method": "radio"}),
                            ("arrive", "responder", {}), ("report_on_site", "responder", {"text": "现场情况"}),
                            ("resolve", "responder", {"text": "已调解"}), ("feed_back", "dispatcher", {"text": "已处理完毕"}),
                            ("close", "dispatcher", {})]:
        incident_transition(incident_id=case.pk, action=action, actor=ctx[who], **kw)
    [request] = client().get(f"{BASE}/requests/{case.number}.json", {"api_key": ctx["api_key"]}).json()
    assert request["status"] == "closed" and request["status_notes"] == "已处理完毕"


# --- errors ------------------------------------------------------------------------------------

def test_errors_have_the_open311_shape(ctx):
    before = Incident.objects.count()
    url = f"{BASE}/requests.json"
    description = assert_open311_error(client().post(url, form(ctx, service_code="nope")), 400)
    assert "service_code" in description
    assert "lat" in assert_open311_error(client().post(url, form(ctx, long=None)), 400)
    assert assert_open311_error(client().post(url, form(ctx, lat="north")), 400)
    assert assert_open311_error(client().post(url, form(ctx, lat="100", long="40")), 400)
    # Far away from every sub-district: refused by the service.
    assert assert_open311_error(client().post(url, form(ctx, lat="40.0", long="100.0")), 400)
    # A district order without its id: refused by the service.
    assert assert_open311_error(client().post(url, form(ctx, external_id=None)), 400)
    assert assert_open311_error(client().post(url, form(ctx, description="")), 400)
    assert "channel" in assert_open311_error(client().post(url, form(ctx, channel="nope")), 400)
    assert Incident.objects.count() == before


def test_authentication_errors_have_the_open311_shape(ctx):
    before = Incident.objects.count()
    url = f"{BASE}/requests.json"
    no_key = client().post(url, form(ctx, api_key=None))
    assert no_key.status_code in (401, 403)
    assert_open311_error(no_key, no_key.status_code)
    wrong = client().post(url, form(ctx, api_key="0" * 40))
    assert_open311_error(wrong, wrong.status_code)
    assert wrong.status_code in (401, 403)
    assert client().get(url).status_code in (401, 403)
    responder_token = StringIO()
    call_command("issue_token", "resp", stdout=responder_token, stderr=StringIO())
    forbidden = client().get(url, {"api_key": responder_token.getvalue().strip()})
    assert_open311_error(forbidden, 403)
    assert Incident.objects.count() == before


def test_unknown_request_and_jurisdiction_are_404(ctx):
    key = {"api_key": ctx["api_key"]}
    assert "request" in assert_open311_error(client().get(f"{BASE}/requests/19990101-0001.json", key), 404)
    assert_open311_error(client().get(f"{BASE}/requests.json", {**key, "jurisdiction_id": "NOPE"}), 404)


def test_bad_list_parameters_are_400(ctx):
    key = {"api_key": ctx["api_key"]}
    assert "status" in assert_open311_error(client().get(f"{BASE}/requests.json", {**key, "status": "pending"}), 400)
    assert "start_date" in assert_open311_error(
        client().get(f"{BASE}/requests.json", {**key, "start_date": "yesterday"}), 400)


def test_only_json_is_served(ctx):
    before = Incident.objects.count()
    description = assert_open311_error(client().get(f"{BASE}/services.xml"), 400)
    assert "JSON" in description
    assert_open311_error(client().post(f"{BASE}/requests.xml", form(ctx)), 400)
    assert_open311_error(client().get(f"{BASE}/requests/20260101-0001.xml", {"api_key": ctx["api_key"]}), 400)
    assert Incident.objects.count() == before
