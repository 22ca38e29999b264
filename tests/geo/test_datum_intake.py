"""Coordinates at intake in another datum (geo.datum): a district order, a hotline report put on GCJ-02
tiles by the console, a case of the needs-location queue placed on the map, and the point queries
of the console (locate, duplicates) name their datum and land within 1 m of the WGS 84 point; an
unknown datum is a 400; without one the point is WGS 84 as before. BD-09's forward formula against
a published pair, and its exact inverse."""

import pytest
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.urls import reverse
from rest_framework.test import APIClient

from geo.datum import (
    BD09_DLAT,
    BD09_DLON,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from incidents.models import Incident, Status
from tests.factories import S, W, api_client

pytestmark = pytest.mark.world(code="DT")

# A point well inside the test sub-district (WGS 84), and the same place as GCJ-02 and BD-09 maps give it.
WGS = (W + 0.006, S + 0.007)
AS_GIVEN = {"WGS84": WGS, "GCJ02": wgs84_to_gcj02(*WGS), "BD09": wgs84_to_bd09(*WGS)}


def test_bd09_matches_the_published_pair_and_its_inverse_is_exact():
    # wandergis/coordtransform's README (also its Java, Rust and Python ports): GCJ-02 → BD-09.
    assert gcj02_to_bd09(116.404, 39.915) == pytest.approx((116.41036949371029, 39.92133699351021), abs=1e-12)
    # The same README's inverse is the one-step approximation; ours lands back on its input.
    one_step = (116.39762729119315, 39.90865673957631)
    exact = bd09_to_gcj02(116.404, 39.915)
    assert exact == pytest.approx(one_step, abs=1e-6)  # within about 0.1 m of it
    assert gcj02_to_bd09(*exact) == pytest.approx((116.404, 39.915), abs=1e-9)
    back = bd09_to_wgs84(*wgs84_to_bd09(*WGS))
    assert back == pytest.approx(WGS, abs=1e-9)
    assert to_wgs84(*WGS, "WGS84") == WGS
    with pytest.raises(ValueError):
        to_wgs84(*WGS, "ED50")
    # BD-09 is far from WGS 84 here (hundreds of metres): a test that forgot to convert would fail.
    assert abs(AS_GIVEN["BD09"][0] - WGS[0]) > BD09_DLON / 2 and abs(AS_GIVEN["BD09"][1] - WGS[1]) > BD09_DLAT / 4


@pytest.fixture
def ctx(world, users):
    world.update(centre=users.integration, taker=users.call_taker)
    return world


def client_for(user) -> APIClient:
    return api_client(user, language=None)


def metres_from_wgs(incident_id: int) -> float:
    target = Point(*WGS, srid=4326)
    return Incident.objects.annotate(d=Distance("location", target)).get(pk=incident_id).d.m


def point_body(datum: str) -> dict:
    lon, lat = AS_GIVEN[datum]
    return {"type": "Point", "coordinates": [round(lon, 7), round(lat, 7)]}


@pytest.mark.parametrize("datum", ["GCJ02", "BD09", "WGS84", None])
def test_a_district_order_in_any_datum_lands_within_a_metre(ctx, datum):
    body = {"channel": ctx["district"].code, "category": ctx["category"].code, "external_id": f"QX-{datum}",
            "description": "区级派单:占道经营", "location": point_body(datum or "WGS84")}
    if datum:
        body["datum"] = datum
    response = client_for(ctx["centre"]).post(reverse("incidents:incidents"), body, format="json")
    assert response.status_code == 201, response.content
    assert metres_from_wgs(response.json()["id"]) < 1.0
    assert response.json()["grid"]["code"] == "DT-G1"


def test_a_needs_location_case_placed_on_gcj02_tiles_and_the_console_point_queries(ctx):
    taker = client_for(ctx["taker"])
    body = {"channel": ctx["hotline"].code, "category": ctx["category"].code, "description": "无法定位的来电",
            "address": "某处不存在的地址"}
    response = taker.post(reverse("incidents:incidents"), body, format="json")
    assert response.status_code == 201, response.content
    case_id = response.json()["id"]
    assert Incident.objects.get(pk=case_id).status == Status.NEEDS_LOCATION
    response = taker.post(reverse("incidents:incident-locate", args=[case_id]),
                          {"location": point_body("GCJ02"), "datum": "GCJ02"}, format="json")
    assert response.status_code == 200, response.content
    assert metres_from_wgs(case_id) < 1.0

    lon, lat = AS_GIVEN["BD09"]
    where = taker.get(reverse("incidents:locate"), {"lon": lon, "lat": lat, "datum": "BD09"})
    assert where.status_code == 200 and where.json()["grid"]["code"] == "DT-G1"
    near = taker.get(reverse("incidents:duplicates"), {"lon": lon, "lat": lat, "datum": "BD09"})
    assert near.status_code == 200 and case_id in [row["id"] for row in near.json()]


def test_an_unknown_datum_is_a_400_and_the_schema_names_the_datums(ctx):
    body = {"channel": ctx["district"].code, "category": ctx["category"].code, "external_id": "QX-bad",
            "description": "区级派单", "location": point_body("WGS84"), "datum": "ED50"}
    response = client_for(ctx["centre"]).post(reverse("incidents:incidents"), body, format="json")
    assert response.status_code == 400 and "datum" in response.json()
    assert not Incident.objects.filter(external_id="QX-bad").exists()
    lon, lat = WGS
    response = client_for(ctx["taker"]).get(reverse("incidents:locate"), {"lon": lon, "lat": lat, "datum": "x"})
    assert response.status_code == 400
