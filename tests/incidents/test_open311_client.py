"""Our Open311 server as other systems speak it: a real GeoReport v2 client library from PyPI
(`georeport`, in the test extras) against the running server over HTTP (pytest-django's live
server, on the test database), in both of the spec's formats.

The library reads only (services, a service's definition, requests) and sends no key, as the spec
allows: it gets the public fields. It cannot post, so the test posts with its own HTTP client
(form-encoded, with the district centre's key) and reads the request back through the library."""

import re
from io import StringIO

import httpx
import pytest
from django.core.management import call_command
from georeport import GeoReport

from config.roles import UserRole
from tests.factories import S, W, make_channels, make_user, make_world

pytestmark = pytest.mark.django_db(transaction=True)

LAT, LON = S + 0.004321, W + 0.004321


def as_list(value) -> list:
    """xmltodict gives one element as a dict and several as a list."""
    return value if isinstance(value, list) else [value]


def test_a_georeport_client_reads_services_and_requests_in_both_formats(live_server):
    world = make_world()
    world.update(make_channels())
    make_user("centre", UserRole.INTEGRATION)
    out = StringIO()
    call_command("issue_token", "centre", "--channel", world["district"].code, stdout=out)
    root = f"{live_server.url}/open311/v2"

    posted = httpx.post(f"{root}/requests.json", data={
        "api_key": out.getvalue().strip(), "jurisdiction_id": "T1", "service_code": "test_dispute",
        "lat": str(LAT), "long": str(LON), "description": "某小区3幢502室门口噪音扰民 13912345678",
        "address_string": "测试路8号3幢502室", "first_name": "伟", "last_name": "张", "phone": "13912345678",
        "external_id": "QX-LIB-1"}, timeout=30)
    assert posted.status_code == 201, posted.text
    number = posted.json()[0]["service_request_id"]
    assert re.fullmatch(r"\d{8}-\d{4}", number)

    for fmt in ("json", "xml"):
        client = GeoReport(root, jurisdiction="T1", output_format=fmt)

        services = {s["service_code"]: s for s in as_list(client.get_service_list())}
        assert set(services) == {"test_dispute"}
        assert str(services["test_dispute"]["metadata"]).lower() == "true"

        definition = client.get_service_definition("test_dispute")
        attribute = as_list(definition["attributes"]["attribute"] if fmt == "xml" else definition["attributes"])[0]
        assert definition["service_code"] == "test_dispute" and attribute["code"] == "major"

        requests = as_list(client.get_service_requests(status="open"))
        assert [r["service_request_id"] for r in requests] == [number]
        request = client.get_service_request(number)
        assert request["service_request_id"] == number and request["status"] == "open"
        assert request["service_code"] == "test_dispute" and request["address"] == world["community"].name
        assert float(request["lat"]) == round(LAT, 3) and float(request["long"]) == round(LON, 3)
        assert not request["description"]  # a key-less read: no free text from the public
        assert "13912345678" not in str(request) and "3幢" not in str(request) and "张" not in str(request)
