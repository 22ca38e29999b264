"""Open311 GeoReport v2 at /open311/v2/ on real PostGIS: services and a service's definition, a
request's round trip (POST requests.json → GET requests/{id}.json), idempotent retries, list
filters, both formats (XML: the spec's element names, errors as <errors>), key-less reads with the
public fields only, keyed reads by the rule of /api/v1/incidents/, and errors in Open311's shape
`[{"code", "description"}]` with the matching HTTP status. tests/incidents/test_open311_client.py drives the
same endpoints with a real Open311 client library over HTTP."""

from datetime import timedelta
from io import StringIO
from xml.etree import ElementTree

import pytest
from django.contrib.gis.geos import Point
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from config.roles import UserRole
from dispatch.services import incident_transition
from incidents.models import Category, CategoryRule, Incident, Status
from incidents.services import incident_intake
from tests.factories import S, W, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.world(on_duty=True)]

BASE = "/open311/v2"
LAT, LON = S + 0.004321, W + 0.004321


def issue_token(username: str, *args: str) -> str:
    out = StringIO()
    call_command("issue_token", username, *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


@pytest.fixture
def ctx(world, users):
    world.update(centre=users.integration, dispatcher=users.dispatcher, responder=users.responder)
    # The district centre's system speaks for the district order channel: its key reads that channel's cases.
    world["api_key"] = issue_token("centre", "--channel", world["district"].code)
    world["staff_key"] = issue_token("disp")
    return world


def client() -> APIClient:
    return APIClient(HTTP_ACCEPT_LANGUAGE="en")


def form(ctx, **kw) -> dict:
    data = {"api_key": ctx["api_key"], "jurisdiction_id": "T1", "service_code": ctx["category"].code,
            "lat": str(LAT), "long": str(LON), "description": "区级派单:某小区3幢502室门口噪音扰民",
            "address_string": "测试路8号3幢502室", "first_name": "伟", "last_name": "张", "phone": "13912345678",
            "channel": ctx["district"].code, "external_id": "QX-2026-000777"}
    data.update(kw)
    return {k: v for k, v in data.items() if v is not None}


def hotline_case(ctx, description="噪音", subdistrict=None, actor=None):
    return incident_intake(channel=ctx["hotline"], category=ctx["category"], description=description,
                           actor=actor or ctx["dispatcher"], location=Point(LON, LAT, srid=4326),
                           address_text="测试路9号", caller_name="李四", caller_phone="13800001111",
                           subdistrict=subdistrict or ctx["subdistrict"]).incident


def xml(response) -> ElementTree.Element:
    assert response["Content-Type"].startswith("application/xml"), response["Content-Type"]
    return ElementTree.fromstring(response.content)  # noqa: S314 - our own server's answer


def assert_open311_error(response, status_code: int) -> str:
    assert response.status_code == status_code, response.content
    body = response.json()
    assert isinstance(body, list) and len(body) == 1
    assert body[0]["code"] == status_code and body[0]["description"]
    return body[0]["description"]


def assert_xml_error(response, status_code: int) -> str:
    assert response.status_code == status_code, response.content
    root = xml(response)
    assert root.tag == "errors" and [e.tag for e in root] == ["error"]
    assert root.findtext("error/code") == str(status_code) and root.findtext("error/description")
    return root.findtext("error/description")


# --- services ------------------------------------------------------------------------------------

def test_services_list_the_categories_in_both_formats(ctx):
    CategoryRule.objects.create(keyword="吵架", category=ctx["category"], weight=2)
    response = client().get(f"{BASE}/services.json")
    assert response.status_code == 200
    services = {s["service_code"]: s for s in response.json()}
    service = services["test_dispute"]
    assert service["metadata"] is True and service["type"] == "realtime"
    assert service["keywords"] == "吵架" and service["group"] == "petition"
    assert service["service_name"] == "test dispute"  # English name for an English client
    assert service["description"]

    # XML, whatever the Accept header asks for: the suffix decides.
    root = xml(client().get(f"{BASE}/services.xml", HTTP_ACCEPT="application/json"))
    assert root.tag == "services" and {e.tag for e in root} == {"service"}
    [mine] = [e for e in root if e.findtext("service_code") == "test_dispute"]
    assert mine.findtext("metadata") == "true" and mine.findtext("keywords") == "吵架"
    assert mine.findtext("group") == service["group"] and mine.findtext("service_name") == "test dispute"


def test_service_definition_in_both_formats(ctx):
    Category.objects.filter(pk=ctx["category"].pk).update(major_by_default=True)
    definition = client().get(f"{BASE}/services/test_dispute.json", {"jurisdiction_id": "T1"})
    assert definition.status_code == 200, definition.content
    body = definition.json()
    assert body["service_code"] == "test_dispute"
    [major] = body["attributes"]
    assert (major["code"], major["datatype"], major["variable"], major["required"]) == \
        ("major", "singlevaluelist", True, False)
    assert [v["key"] for v in major["values"]] == ["true", "false"] and major["datatype_description"]

    root = xml(client().get(f"{BASE}/services/test_dispute.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "test_dispute"
    [attribute] = root.findall("attributes/attribute")
    assert attribute.findtext("code") == "major" and attribute.findtext("variable") == "true"
    assert [v.findtext("key") for v in attribute.findall("values/value")] == ["true", "false"]

    assert_open311_error(client().get(f"{BASE}/services/nope.json"), 404)
    assert_xml_error(client().get(f"{BASE}/services/nope.xml"), 404)
    assert_xml_error(client().get(f"{BASE}/services/test_dispute.xml", {"jurisdiction_id": "NOPE"}), 404)


# --- requests: round trip, keyed and key-less reads ------------------------------------------------

def test_round_trip_post_then_get(ctx):
    created = client().post(f"{BASE}/requests.json", form(ctx))  # form-encoded, as Open311 clients post
    assert created.status_code == 201, created.content
    [answer] = created.json()
    number = answer["service_request_id"]
    incident = Incident.objects.get(number=number)
    assert (incident.channel, incident.external_id, incident.caller_name) == (ctx["district"], "QX-2026-000777", "张伟")
    assert incident.created_by == ctx["centre"] and incident.grid.code == "T1-G1" and not incident.major

    fetched = client().get(f"{BASE}/requests/{number}.json", {"api_key": ctx["api_key"]})
    assert fetched.status_code == 200, fetched.content
    [request] = fetched.json()
    assert request["service_request_id"] == number and request["status"] == "open"
    assert request["service_code"] == "test_dispute" and request["description"] == "区级派单:某小区3幢502室门口噪音扰民"
    assert request["address"] == "测试路8号3幢502室"
    assert request["lat"] == pytest.approx(LAT) and request["long"] == pytest.approx(LON)
    assert request["requested_datetime"].endswith("+08:00") and request["updated_datetime"]
    assert request["agency_responsible"] == ctx["subdistrict"].name
    assert "13912345678" not in fetched.content.decode() and "张伟" not in fetched.content.decode()

    # The same order again (a retry): the same request, 200.
    again = client().post(f"{BASE}/requests.json", form(ctx))
    assert again.status_code == 200 and again.json()[0]["service_request_id"] == number
    assert Incident.objects.filter(channel=ctx["district"], external_id="QX-2026-000777").count() == 1


def test_keyless_reads_show_the_public_fields_only(ctx):
    case = hotline_case(ctx, description="张三 13800001111 测试路9号2单元301室 吵架")
    for url in (f"{BASE}/requests.json", f"{BASE}/requests/{case.number}.json"):
        response = client().get(url, {"jurisdiction_id": "T1"})  # no key: the spec asks none for reads
        assert response.status_code == 200, response.content
        [request] = response.json()
        assert request["service_request_id"] == case.number and request["status"] == "open"
        assert request["description"] is None and request["status_notes"] is None
        assert request["address"] == ctx["community"].name  # the community, not the door
        assert request["lat"] == round(LAT, 3) and request["long"] == round(LON, 3)
        text = response.content.decode()
        for secret in ("13800001111", "李四", "张三", "测试路9号", "2单元"):
            assert secret not in text

    root = xml(client().get(f"{BASE}/requests.xml"))
    assert root.tag == "service_requests"
    [request] = root.findall("request")
    assert request.findtext("service_request_id") == case.number
    assert request.findtext("description") == "" and request.findtext("address") == ctx["community"].name
    assert "13800001111" not in ElementTree.tostring(root, encoding="unicode")


def test_a_key_reads_what_its_channel_may_see(ctx, other_world):
    """One rule for Open311 and /api/v1/incidents/: a channel's key sees the cases its channel
    brought in; another channel's case is not there, in its sub-district or in another."""
    own = client().post(f"{BASE}/requests.json", form(ctx)).json()[0]["service_request_id"]
    other = hotline_case(ctx)
    # taken in by the other sub-district's command room (a user takes in for their own only)
    elsewhere = hotline_case(ctx, subdistrict=other_world["subdistrict"],
                             actor=make_user("disp-t2", UserRole.DISPATCHER, tenants=[other_world["subdistrict"]]))
    key = {"api_key": ctx["api_key"]}

    listed = client().get(f"{BASE}/requests.json", {**key, "jurisdiction_id": "T1"})
    assert [r["service_request_id"] for r in listed.json()] == [own]
    assert listed.json()[0]["description"]  # its own case in full
    # a sub-district the key is not bound to is unknown to it (geo/tenancy.py)
    assert_open311_error(client().get(f"{BASE}/requests.json", {**key, "jurisdiction_id": "T2"}), 404)
    assert_open311_error(client().get(f"{BASE}/requests/{other.number}.json", key), 404)
    assert_xml_error(client().get(f"{BASE}/requests/{elsewhere.number}.xml", key), 404)
    assert client().get(f"{BASE}/requests/{own}.json", key).status_code == 200

    # The same rule answers /api/v1/ for that key.
    api = client()
    api.credentials(HTTP_AUTHORIZATION=f"Token {ctx['api_key']}")
    assert api.get(f"/api/v1/incidents/{Incident.objects.get(number=own).pk}/").status_code == 200
    assert api.get(f"/api/v1/incidents/{other.pk}/").status_code == 404

    # A staff key sees every case; a responder's key only the cases they are dispatched to.
    staff = client().get(f"{BASE}/requests.json", {"api_key": ctx["staff_key"], "jurisdiction_id": "T1"})
    assert {r["service_request_id"] for r in staff.json()} == {own, other.number}
    responder = client().get(f"{BASE}/requests.json", {"api_key": issue_token("resp")})
    assert responder.status_code == 200 and responder.json() == []


def test_post_in_xml_and_the_major_attribute(ctx):
    response = client().post(f"{BASE}/requests.xml", form(ctx, **{"attribute[major]": "true"}))
    assert response.status_code == 201, response.content
    root = xml(response)
    assert root.tag == "service_requests"
    number = root.findtext("request/service_request_id")
    assert Incident.objects.get(number=number).major is True
    assert root.find("request/account_id") is not None

    [request] = xml(client().get(f"{BASE}/requests/{number}.xml", {"api_key": ctx["api_key"]})).findall("request")
    assert request.findtext("service_request_id") == number and request.findtext("lat") == str(round(LAT, 6))


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


def test_the_default_channel_is_the_keys_own_channel(ctx):
    response = client().post(f"{BASE}/requests.json", form(ctx, channel=None, external_id="QX-DEF-1"))
    assert response.status_code == 201, response.content
    assert Incident.objects.get(number=response.json()[0]["service_request_id"]).channel == ctx["district"]
    staff = client().post(f"{BASE}/requests.json", form(ctx, api_key=ctx["staff_key"], channel=None,
                                                         external_id="QX-DEF-2"))
    assert staff.status_code == 201, staff.content
    assert Incident.objects.get(number=staff.json()[0]["service_request_id"]).channel.kind == "district_order"


def test_an_address_string_without_a_point_waits_for_a_location(ctx):
    response = client().post(f"{BASE}/requests.json", form(ctx, lat=None, long=None, address_string="不存在路1号"))
    assert response.status_code == 201, response.content
    incident = Incident.objects.get(number=response.json()[0]["service_request_id"])
    assert incident.status == Status.NEEDS_LOCATION and incident.address_text == "不存在路1号"


def test_list_filters(ctx):
    open_case = hotline_case(ctx)
    closed_case = hotline_case(ctx, description="误报")
    incident_transition(incident_id=closed_case.pk, action="cancel", actor=ctx["dispatcher"], text="误报")
    url, key = f"{BASE}/requests.json", ctx["staff_key"]

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
    case = hotline_case(ctx)
    for action, who, kw in [("dispatch", "dispatcher", {"members": [ctx["member"]], "method": "radio"}),
                            ("arrive", "responder", {}), ("report_on_site", "responder", {"text": "现场情况"}),
                            ("resolve", "responder", {"text": "已调解"}), ("feed_back", "dispatcher", {"text": "已处理完毕"}),
                            ("close", "dispatcher", {})]:
        incident_transition(incident_id=case.pk, action=action, actor=ctx[who], **kw)
    [request] = client().get(f"{BASE}/requests/{case.number}.json", {"api_key": ctx["staff_key"]}).json()
    assert request["status"] == "closed" and request["status_notes"] == "已处理完毕"
    [public] = client().get(f"{BASE}/requests/{case.number}.json").json()
    assert public["status"] == "closed" and public["status_notes"] is None


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
    assert assert_open311_error(client().post(url, form(ctx, **{"attribute[major]": "perhaps"})), 400)
    assert Incident.objects.count() == before


def test_errors_in_xml_are_errors_elements(ctx):
    before = Incident.objects.count()
    url = f"{BASE}/requests.xml"
    assert "service_code" in assert_xml_error(client().post(url, form(ctx, service_code="nope")), 400)
    assert_xml_error(client().post(url, form(ctx, service_code="\x00<&>]]>")), 400)
    assert_xml_error(client().post(url, form(ctx, api_key=None)), 401)
    assert_xml_error(client().get(url, {"api_key": "0" * 40}), 401)
    assert_xml_error(client().get(url, {"status": "pending"}), 400)
    assert_xml_error(client().get(f"{BASE}/requests/19990101-0001.xml"), 404)
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
    # A wrong key on a read is refused, never read as "no key".
    assert_open311_error(client().get(url, {"api_key": "0" * 40}), 401)
    nul = client().get(url, {"api_key": "abc\x00def"})  # refused by the NUL guard or by the key's check
    assert nul.status_code in (400, 401) and assert_open311_error(nul, nul.status_code)
    assert client().get(url).status_code == 200
    forbidden = client().post(url, form(ctx, api_key=issue_token("resp")))
    assert_open311_error(forbidden, 403)
    assert Incident.objects.count() == before


def test_unknown_request_jurisdiction_and_format_are_404(ctx):
    key = {"api_key": ctx["api_key"]}
    assert "request" in assert_open311_error(client().get(f"{BASE}/requests/19990101-0001.json", key), 404)
    assert_open311_error(client().get(f"{BASE}/requests.json", {**key, "jurisdiction_id": "NOPE"}), 404)
    nul = client().get(f"{BASE}/requests/a%00b.json")  # refused by the NUL guard, or simply not found
    assert nul.status_code in (400, 404) and assert_open311_error(nul, nul.status_code)
    assert_open311_error(client().get(f"{BASE}/services/{'x' * 300}.json"), 404)
    assert_open311_error(client().get(f"{BASE}/services.yaml"), 404)  # answered in JSON
    assert client().options(f"{BASE}/requests.json").status_code == 405


def test_bad_list_parameters_are_400(ctx):
    url = f"{BASE}/requests.json"
    assert "status" in assert_open311_error(client().get(url, {"status": "pending"}), 400)
    assert "start_date" in assert_open311_error(client().get(url, {"start_date": "yesterday"}), 400)
    assert "start_date" in assert_open311_error(client().get(url, {"start_date": "2026-13-45T00:00:00"}), 400)
    assert_open311_error(client().get(url, {"jurisdiction_id": "T\x001"}), 400)
    # Dates Python or the database cannot hold once in UTC: 400, not a database error.
    assert_open311_error(client().get(url, {"start_date": "0001-01-01T00:00:00+14:00"}), 400)
    assert_open311_error(client().get(url, {"end_date": "9999-12-31T23:59:59-23:59"}), 400)


def test_keyless_reads_are_throttled_per_address(ctx, settings):
    settings.OPEN311_KEYLESS_RATE = "2/min"
    url = f"{BASE}/services.json"
    assert [client().get(url).status_code for _ in range(2)] == [200, 200]
    assert_open311_error(client().get(url), 429)
    assert_xml_error(client().get(f"{BASE}/requests.xml"), 429)
    assert client().get(url, {"api_key": ctx["api_key"]}).status_code == 200  # a key is not throttled here


@pytest.mark.parametrize("datum", ["GCJ02", "BD09"])
def test_a_post_in_another_datum_lands_within_a_metre(ctx, datum):
    from django.contrib.gis.db.models.functions import Distance

    from geo.datum import wgs84_to_bd09, wgs84_to_gcj02
    lon, lat = (wgs84_to_gcj02 if datum == "GCJ02" else wgs84_to_bd09)(LON, LAT)
    created = client().post(f"{BASE}/requests.json", form(ctx, lat=f"{lat:.8f}", long=f"{lon:.8f}", datum=datum,
                                                             external_id=f"QX-{datum}"))
    assert created.status_code == 201, created.content
    here = Incident.objects.annotate(d=Distance("location", Point(LON, LAT, srid=4326))).get(external_id=f"QX-{datum}")
    assert here.d.m < 1.0


def test_an_external_system_neither_links_to_nor_reads_through_intake_what_it_may_not_see(ctx):
    """Intake shows no case to a key that may not read it: `link_to` a case it does not see is a
    404, another system's channel a 403, and another channel's external id only "taken" (409)."""
    api = client()
    api.credentials(HTTP_AUTHORIZATION=f"Token {ctx['api_key']}")
    other = hotline_case(ctx, description="他人的来电,张先生 13800001111")
    body = {"channel": ctx["district"].code, "category": ctx["category"].code, "description": "同一事件",
            "location": {"type": "Point", "coordinates": [LON, LAT]}, "link_to": other.pk}
    response = api.post("/api/v1/incidents/", body, format="json")
    assert response.status_code == 404 and "13800001111" not in response.content.decode()
    assert other.reports.count() == 1

    other_system = make_user("other-system", UserRole.INTEGRATION)
    ctx["hotline"].client = other_system
    ctx["hotline"].save(update_fields=["client"])
    foreign = api.post("/api/v1/incidents/", {**body, "link_to": None, "channel": ctx["hotline"].code}, format="json")
    assert foreign.status_code == 403 and foreign.json()["code"] == "foreign_channel"
    assert_open311_error(client().post(f"{BASE}/requests.json", form(ctx, channel=ctx["hotline"].code)), 403)

    # A case of an unbound channel with an external id: a second system naming it learns only "taken".
    ctx["hotline"].client = None
    ctx["hotline"].save(update_fields=["client"])
    Incident.objects.filter(pk=other.pk).update(external_id="HX-1")
    other.reports.update(external_id="HX-1")
    taken = api.post("/api/v1/incidents/", {**body, "link_to": None, "channel": ctx["hotline"].code,
                                            "external_id": "HX-1"}, format="json")
    assert taken.status_code == 409 and taken.json()["code"] == "external_id_taken"
    assert "张先生" not in taken.content.decode()
