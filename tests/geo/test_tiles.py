"""The district map's vector tiles (/api/v1/tiles/, geo/tiles.py): the three layers decoded, only the
user's own sub-districts, the staff roles only, bad addresses answered 400, and one statement per
tile. On real PostGIS with the shared worlds: T1 and T2 are the same square, so another tenant's
features would be in the very same tiles."""

import math
from datetime import timedelta

import mapbox_vector_tile
import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from config.roles import UserRole
from dispatch.models import MemberPosition
from geo import tiles
from geo.models import Tenancy
from incidents import flows
from incidents.models import Incident, Status
from tests.factories import E, N, S, W, make_user, put_on_duty

pytestmark = [pytest.mark.django_db]

MVT = "application/vnd.mapbox-vector-tile"
MID = Point((W + E) / 2 + 0.002, (S + N) / 2 + 0.002, srid=4326)


def url(layer: str, z: object, x: object, y: object) -> str:
    return f"/api/v1/tiles/{layer}/{z}/{x}/{y}.pbf"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return z, int((lon + 180) / 360 * n), int(y)


def square_tile() -> tuple[int, int, int]:
    """The zoom-11 tile that covers the worlds' square (about 20 km a side: the 2 km square is well
    inside; at zoom 0 a grid would be smaller than a tile unit, and dropped)."""
    key = tile_of(MID.x, MID.y, 11)
    assert key == tile_of(W, N, 11) == tile_of(E, S, 11)
    return key


def case(world, number: str, *, status: str = Status.NEW, age: timedelta = timedelta(hours=1), **fields) -> Incident:
    reported = timezone.now() - age
    closed = {"closed_at": reported + timedelta(minutes=30)} if status == Status.CLOSED else {}
    return Incident.objects.create(
        subdistrict=world["subdistrict"], number=number, channel=world["channel"], category=world["category"],
        status=status, description="<b>楼道堆物</b>", location=MID, reported_at=reported, **closed, **fields)


@pytest.fixture
def cases(world, other_world):
    """T1: an open major case, one closed 2 h ago (shown), one closed three days ago (not shown);
    T2: an open case at the same point. T1's member has a position and a shift; T2's is at home."""
    made = {
        "open": case(world, "T1-1", major=True),
        "recent": case(world, "T1-2", status=Status.CLOSED, age=timedelta(hours=2)),
        "old": case(world, "T1-3", status=Status.CLOSED, age=timedelta(days=3)),
        "other": case(other_world, "T2-1"),
    }
    MemberPosition.objects.create(member=world["member"], point=MID, recorded_at=timezone.now())
    put_on_duty(world["member"])
    return made


def decode(response) -> dict:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == MVT
    return mapbox_vector_tile.decode(response.content)


def features(response, layer: str) -> list[dict]:
    return decode(response)[layer]["features"]


def test_the_done_statuses_are_incidents_own():
    assert set(tiles.DONE_STATUSES) == set(Status.values) - flows.OPEN_STATUSES


def test_the_worlds_tile_has_the_users_grids_cases_and_members(world, other_world, cases, api_as):
    client = api_as("dispatcher")  # works in T1 only
    response = client.get(url("grids", *square_tile()))
    assert response["Cache-Control"].startswith("private")
    grids = features(response, "grids")
    assert sorted(f["properties"]["code"] for f in grids) == ["T1-G1", "T1-G2"]
    assert {f["properties"]["version"] for f in grids} == {1}
    assert {f["id"] for f in grids} == {g.pk for g in world["grids"]}

    found = {f["properties"]["number"]: f for f in features(client.get(url("incidents", *square_tile())), "incidents")}
    assert set(found) == {"T1-1", "T1-2"}  # open, and closed in the last 24 h; not T2's, not the old one
    assert found["T1-1"]["properties"]["major"] is True
    assert found["T1-1"]["properties"]["status"] == Status.NEW
    assert found["T1-1"]["properties"]["category"] == world["category"].code
    assert found["T1-2"]["properties"]["status"] == Status.CLOSED
    assert found["T1-1"]["id"] == cases["open"].pk

    members = features(client.get(url("members", *tile_of(MID.x, MID.y, 14))), "members")
    assert [(m["properties"]["code"], m["properties"]["on_duty"], m["properties"]["at_home"]) for m in members] \
        == [("T1-M1", True, False)]
    assert members[0]["properties"]["force"] == world["member"].force


def test_a_district_user_sees_every_sub_district_of_theirs(world, other_world, cases, api_as):
    for sub in (world["subdistrict"], other_world["subdistrict"]):
        sub.district = "330110"
    district = make_user("district-centre", UserRole.COMMAND_ROOM, tenants=())
    Tenancy.objects.create(user=district, district="330110")
    type(world["subdistrict"]).objects.filter(pk__in=[world["subdistrict"].pk, other_world["subdistrict"].pk]) \
        .update(district="330110")
    client = api_as(district)
    numbers = {f["properties"]["number"] for f in features(client.get(url("incidents", *square_tile())), "incidents")}
    assert numbers == {"T1-1", "T1-2", "T2-1"}
    members = features(client.get(url("members", *square_tile())), "members")
    assert {(m["properties"]["code"], m["properties"]["at_home"]) for m in members} == {
        ("T1-M1", False), ("T2-M1", True)}


def test_another_tenants_features_are_never_in_a_users_tile(world, other_world, cases, api_as):
    t2 = make_user("t2-command", UserRole.COMMAND_ROOM, tenants=[other_world["subdistrict"]])
    client = api_as(t2)
    z, x, y = tile_of(MID.x, MID.y, 16)
    for zxy in (square_tile(), (z, x, y)):
        assert {f["properties"]["code"] for f in features(client.get(url("grids", *zxy)), "grids")} <= {"T2-G1", "T2-G2"}
        assert {f["properties"]["number"] for f in features(client.get(url("incidents", *zxy)), "incidents")} \
            == {"T2-1"}
    assert [m["properties"]["code"] for m in features(client.get(url("members", *square_tile())), "members")] == ["T2-M1"]


def test_a_user_who_works_nowhere_gets_empty_tiles(world, cases, api_as):
    nowhere = make_user("nowhere", UserRole.DISPATCHER, tenants=())
    response = api_as(nowhere).get(url("incidents", *square_tile()))
    assert response.status_code == 204
    assert response.content == b""


def test_an_empty_tile_is_204(world, cases, api_as):
    response = api_as("dispatcher").get(url("incidents", 1, 0, 0))  # the north-west quarter: America
    assert response.status_code == 204
    assert response["Cache-Control"].startswith("private")


@pytest.mark.parametrize("who", [None, "responder", "planner", "department"])
def test_only_the_staff_roles_get_tiles(world, api_as, who):
    assert api_as(who).get(url("grids", 0, 0, 0)).status_code in ((401, 403) if who is None else (403,))


@pytest.mark.parametrize(("z", "x", "y", "words"), [
    ("a", 0, 0, "whole numbers"),
    ("-1", 0, 0, "whole numbers"),
    (1.5, 0, 0, "whole numbers"),
    (23, 0, 0, "between 0 and 22"),
    (99999999999, 0, 0, "whole numbers"),
    (2, 4, 0, "between 0 and 3"),
    (2, 0, 4, "between 0 and 3"),
    (0, 1, 0, "between 0 and 0"),
])
def test_a_bad_tile_address_is_400_naming_the_range(world, api_as, z, x, y, words):
    response = api_as("dispatcher").get(url("grids", z, x, y))
    assert response.status_code == 400
    assert response.json()["code"] == "bad_tile"
    assert words in response.json()["detail"]


def test_an_unknown_layer_is_404(world, api_as):
    assert api_as("dispatcher").get(url("roads", 0, 0, 0)).status_code == 404


@pytest.mark.parametrize("layer", tiles.LAYERS)
def test_one_statement_per_tile(world, other_world, cases, api_as, django_assert_max_num_queries, layer):
    client = api_as("dispatcher")
    client.get(url(layer, *square_tile()))  # warm
    with django_assert_max_num_queries(3) as captured:
        assert client.get(url(layer, *square_tile())).status_code == 200
    assert sum("ST_AsMVT(" in q["sql"] for q in captured.captured_queries) == 1


def test_the_district_page_for_the_staff_roles_only(world, client, users):
    client.force_login(users.dispatcher)
    page = client.get("/district/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="district-config"' in text and "vendor/maplibre/maplibre-gl.mjs" in text
    assert "/api/v1/tiles/{layer}/{z}/{x}/{y}.pbf" in text
    assert 'data-testid="nav-district"' not in text  # not a link to the page itself
    client.force_login(users.responder)
    assert client.get("/district/").status_code == 403
    assert 'data-testid="nav-district"' not in client.get("/m/").content.decode()
