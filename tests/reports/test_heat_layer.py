"""The hot-spot layer's API (GET /api/v1/reports/heat/) on planted cases, and its place on the
overview map and the wall map (the configuration their pages hand to static/gridlink/heat.js).

The API aggregates in SQL: cases of the last N days, snapped to 25 m cells (a cell's cases are one
point at their mean position, weighted by their number), heaviest first; merged duplicates and cases
outside the jurisdiction left out; one category or all; scoped to the sub-district."""

import json
import math
import re
from datetime import timedelta
from itertools import count

import pytest
from django.contrib.auth.models import User
from django.contrib.gis.geos import Point
from django.urls import reverse
from django.utils import timezone

from config.roles import UserRole
from incidents.models import Category, Incident, Status
from reports import trends
from tests.factories import E, N, S, W, make_user, make_world

pytestmark = [pytest.mark.django_db, pytest.mark.world(code="HT")]

URL = "/api/v1/reports/heat/"
_numbers = count(1)

# Cell sizes as the SQL computes them for the test sub-district (its centroid at 30.50°N).
DLAT = trends.HEAT_CELL_M / trends.METRES_PER_DEGREE
DLON = trends.HEAT_CELL_M / (trends.METRES_PER_DEGREE * math.cos(math.radians((S + N) / 2)))


def cell_centre(lon: float, lat: float) -> tuple[float, float]:
    """The centre of the 25 m cell holding (lon, lat): points a few metres from it share the cell."""
    return (math.floor(lon / DLON) + 0.5) * DLON, (math.floor(lat / DLAT) + 0.5) * DLAT


@pytest.fixture
def world(world):
    world["fire"] = Category.objects.create(code="t_fire", name="测试火灾", name_en="fire", scope="fire",
                                            statistic_group="fire")
    return world


def case(world, lon, lat, *, days_ago=1.0, category=None, **fields):
    return Incident.objects.create(
        subdistrict=fields.pop("subdistrict", world["subdistrict"]), number=f"HT{next(_numbers):07d}",
        channel=world["channel"], category=category or world["category"], status=fields.pop("status", Status.NEW),
        description="测试", location=Point(lon, lat, srid=4326), grid=fields.pop("grid", world["grids"][0]),
        reported_at=timezone.now() - timedelta(days=days_ago), **fields)


def plant(world):
    """Cell A (south-west): 3 cases within 2 m of its centre, 1–3 days ago → one point of weight 3 at
    their mean; cell B (north-east): 2 fire cases 5 and 20 days ago; C: one case 40 days ago; D: one
    case 100 days ago (outside every choice). Left out: a merged duplicate and a case outside the
    jurisdiction in cell A, another sub-district's case."""
    a_lon, a_lat = cell_centre(W + 0.003, S + 0.003)
    b_lon, b_lat = cell_centre(E - 0.003, N - 0.003)
    c_lon, c_lat = cell_centre(W + 0.010, S + 0.012)
    metre = 1 / trends.METRES_PER_DEGREE
    kept = case(world, a_lon - 2 * metre, a_lat, days_ago=1)
    case(world, a_lon + 2 * metre, a_lat + metre, days_ago=2)
    case(world, a_lon, a_lat - 2 * metre, days_ago=3)
    case(world, b_lon, b_lat, days_ago=5, category=world["fire"])
    case(world, b_lon, b_lat, days_ago=20, category=world["fire"])
    case(world, c_lon, c_lat, days_ago=40)
    case(world, c_lon, c_lat, days_ago=100)
    case(world, a_lon, a_lat, days_ago=1, status=Status.MERGED, merged_into=kept)
    case(world, a_lon, a_lat, days_ago=1, outside_jurisdiction=True)
    other = make_world("HZ")
    case(world, a_lon, a_lat, days_ago=1, subdistrict=other["subdistrict"], grid=other["grids"][0])
    mean_a = (round(a_lat - metre / 3, 6), round(a_lon, 6))  # offsets 0, +1, −2 m north; −2, +2, 0 m east
    return {"a": mean_a, "a_centre": (round(a_lat, 6), round(a_lon, 6)), "b": (round(b_lat, 6), round(b_lon, 6)), "c": (round(c_lat, 6), round(c_lon, 6))}


def get(client, role=UserRole.COMMAND_ROOM, **params):
    user = User.objects.filter(username="u-" + role).first() or make_user("u-" + role, role)
    client.force_login(user)
    return client.get(URL, {"subdistrict": "HT", **params}, HTTP_ACCEPT_LANGUAGE="en")


def points(response) -> list:
    assert response.status_code == 200, response.content
    return [(p[0], p[1], p[2]) for p in response.json()["points"]]


def approx(point):
    return (pytest.approx(point[0], abs=2e-6), pytest.approx(point[1], abs=2e-6), point[2])


def test_cases_are_aggregated_to_cells_heaviest_first(client, world):
    where = plant(world)
    response = get(client, days="30")
    assert points(response) == [approx((*where["a"], 3)), approx((*where["b"], 2))]
    body = response.json()
    assert (body["days"], body["category"], body["cell_m"], body["cases"], body["max_weight"]) == (30, "", 25, 5, 3)
    assert isinstance(body["points"][0][2], int)


def test_the_days_window(client, world):
    where = plant(world)
    assert points(get(client, days="7")) == [approx((*where["a"], 3)), approx((*where["b"], 1))]
    assert points(get(client, days="90")) == [approx((*where["a"], 3)), approx((*where["b"], 2)),
                                              approx((*where["c"], 1))]
    assert get(client).json()["days"] == trends.HEAT_DEFAULT_DAYS == 30


def test_the_category_filter(client, world):
    where = plant(world)
    assert points(get(client, days="30", category="t_fire")) == [approx((*where["b"], 2))]
    assert points(get(client, days="90", category="test_dispute")) == [approx((*where["a"], 3)),
                                                                       approx((*where["c"], 1))]


@pytest.mark.parametrize("params, message", [
    ({"days": "0"}, "1 to 365"), ({"days": "366"}, "1 to 365"), ({"days": "-7"}, "1 to 365"),
    ({"days": "7d"}, "1 to 365"), ({"days": "３０"}, "1 to 365"), ({"category": "nope"}, "Unknown category nope"),
])
def test_bad_input_is_400_with_a_message(client, world, params, message):
    response = get(client, **params)
    assert response.status_code == 400
    assert message in response.json()["detail"]


@pytest.mark.parametrize("role", [UserRole.COMMAND_ROOM, UserRole.LEADER, UserRole.DISPATCHER, UserRole.CALL_TAKER])
def test_report_and_wall_roles_read_it(client, world, role):
    plant(world)
    assert get(client, role).status_code == 200


@pytest.mark.parametrize("role", [UserRole.PLANNER, UserRole.RESPONDER, UserRole.DEPARTMENT, UserRole.INTEGRATION])
def test_other_roles_are_refused(client, world, role):
    assert get(client, role).status_code == 403


def test_anonymous_is_refused(client, world):
    assert client.get(URL, {"subdistrict": "HT"}).status_code in (401, 403)


def test_scoped_to_the_subdistrict(client, world):
    where = plant(world)
    client.force_login(make_user("u-cr", UserRole.COMMAND_ROOM))
    assert client.get(URL, {"subdistrict": "NOPE"}).status_code == 404
    other = points(client.get(URL, {"subdistrict": "HZ", "days": "30"}))
    assert other == [approx((*where["a_centre"], 1))]  # its own case only


# --- the maps ----------------------------------------------------------------------------------------

def page_config(response, element_id: str) -> dict:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', response.text, re.S)
    assert match
    return json.loads(match.group(1))


def test_the_overview_map_offers_the_layer_to_the_roles_that_read_it(client, world):
    client.force_login(make_user("u-cr", UserRole.COMMAND_ROOM))
    response = client.get(reverse("frontend:map"), {"subdistrict": "HT"})
    heat = page_config(response, "map-config")["heat"]
    assert heat["url"] == URL + "?subdistrict=HT" and heat["module"].endswith("gridlink/heat.js")
    assert heat["days"] == [7, 30, 90] and heat["defaultDays"] == 30
    assert {"code": "t_fire", "name": "测试火灾"} in heat["categories"]
    assert "vendor/leaflet-heat/leaflet-heat.js" in response.text
    assert response.text.index("vendor/leaflet/leaflet.js") < response.text.index("vendor/leaflet-heat/leaflet-heat.js")
    client.force_login(make_user("u-planner", UserRole.PLANNER))
    assert page_config(client.get(reverse("frontend:map"), {"subdistrict": "HT"}), "map-config")["heat"] is None


def test_the_wall_offers_the_layer(client, world):
    client.force_login(make_user("u-disp", UserRole.DISPATCHER))
    response = client.get(reverse("wallpage:wall"), {"subdistrict": "HT"})
    assert response.status_code == 200
    assert page_config(response, "wall-config")["heat"]["url"] == URL + "?subdistrict=HT"
    assert "vendor/leaflet-heat/leaflet-heat.js" in response.text and "gridlink/heat.css" in response.text
