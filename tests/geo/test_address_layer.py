"""The addresses layer (/api/v1/geo/addresses/?bbox=): staff roles and planners only, a required
and validated bbox, only the sub-district's addresses inside the box, in a stable order, capped.
Runs on real PostGIS with the hand-made world of tests/factories.py and a second sub-district."""

import pytest
from django.contrib.auth.models import User
from django.contrib.gis.geos import Point
from django.db import connection
from django.urls import reverse
from django.utils import translation

from config.roles import UserRole
from geo import selectors
from geo.models import Address
from tests.factories import E, N, S, W, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.world(code="A1", other_code="B1")]

MID_LON, MID_LAT = (W + E) / 2, (S + N) / 2
# The west half of the world: (W, S) to (MID_LON, N).
WEST_HALF = f"{W},{S},{MID_LON},{N}"


@pytest.fixture
def world(world, other_world):
    """The shared world (A1) with three addresses, and one of another sub-district (B1) in the same
    square: inside every box of A1 too."""
    sub = world["subdistrict"]
    for text, lon, lat in [
        ("良睦路1288号", W + 0.002, S + 0.002),
        ("文一西路998号", W + 0.004, MID_LAT),
        ("某某花园3幢", E - 0.002, N - 0.002),  # the east half
    ]:
        Address.objects.create(subdistrict=sub, text=text, location=Point(lon, lat, srid=4326))
    Address.objects.create(subdistrict=other_world["subdistrict"], text="别的街道1号",
                           location=Point(W + 0.003, S + 0.003, srid=4326))
    return world


def login(client, *roles: str) -> User:
    user = make_user("user", *roles)
    client.force_login(user)
    return user


def addresses(client, **params):
    return client.get(reverse("geo:addresses"), {"subdistrict": "A1", **params})


def test_anonymous_is_refused(client, world):
    assert addresses(client, bbox=WEST_HALF).status_code in (401, 403)


@pytest.mark.parametrize("role", [UserRole.RESPONDER, UserRole.DEPARTMENT, UserRole.INTEGRATION])
def test_roles_other_than_staff_and_planners_are_refused(client, world, role):
    login(client, role)
    assert addresses(client, bbox=WEST_HALF).status_code == 403


@pytest.mark.parametrize("role", [UserRole.PLANNER, UserRole.COMMAND_ROOM, UserRole.DISPATCHER,
                                  UserRole.CALL_TAKER, UserRole.LEADER])
def test_only_the_subdistricts_addresses_inside_the_box(client, world, role):
    login(client, role)
    response = addresses(client, bbox=WEST_HALF)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert [f["properties"]["text"] for f in body["features"]] == ["文一西路998号", "良睦路1288号"]  # by text
    first = body["features"][0]
    assert first["geometry"]["type"] == "Point"
    assert first["geometry"]["coordinates"] == [round(W + 0.004, 6), round(MID_LAT, 6)]
    assert first["properties"] == {"text": "文一西路998号"} and isinstance(first["id"], int)
    assert "X-Truncated" not in response
    whole = addresses(client, bbox=f"{W},{S},{E},{N}").json()["features"]
    assert len(whole) == 3
    assert addresses(client, bbox="0,0,1,1").json()["features"] == []


@pytest.mark.parametrize("bbox", [None, "", "1,2,3", "1,2,3,4,5", "a,b,c,d", "nan,0,1,1", "inf,0,1,1",
                                  "1e2,0,1,1", "2,0,1,1", "0,2,1,1", "-181,0,1,1", "0,-91,1,1", "0,0,0,1"])
def test_a_bad_bbox_is_a_400_that_says_why(client, world, bbox):
    login(client, UserRole.PLANNER)
    params = {} if bbox is None else {"bbox": bbox}
    with translation.override("en"):
        response = client.get(reverse("geo:addresses"), {"subdistrict": "A1", **params},
                              headers={"accept-language": "en"})
    assert response.status_code == 400, response.content
    message = response.json()["bbox"]  # as the other layers' refusals: {field: message}
    assert "west,south,east,north" in message or "west < east" in message


def test_an_unknown_subdistrict_is_a_404(client, world):
    login(client, UserRole.PLANNER)
    assert client.get(reverse("geo:addresses"), {"subdistrict": "ZZ", "bbox": WEST_HALF}).status_code == 404


def test_a_full_box_is_cut_at_the_limit_in_a_stable_order(client, world, monkeypatch):
    monkeypatch.setattr(selectors, "ADDRESS_LIMIT", 2)
    login(client, UserRole.PLANNER)
    response = addresses(client, bbox=f"{W},{S},{E},{N}")
    assert response["X-Truncated"] == "1"
    texts = [f["properties"]["text"] for f in response.json()["features"]]
    assert texts == sorted(Address.objects.filter(subdistrict=world["subdistrict"]).values_list("text", flat=True))[:2]


def test_the_box_query_can_use_the_gist_index(world):
    # A sub-district's gazetteer as it is: thousands of addresses, of which a map's view holds few.
    # Then the box, not the sub-district (which all of them share), is what an index must answer —
    # on a near-empty table the planner's choice between the two indexes would be a coin toss.
    sub = world["subdistrict"]
    step = (E - W) / 50
    Address.objects.bulk_create([
        Address(subdistrict=sub, text=f"格{i}-{j}号", location=Point(W + (i + 0.5) * step, S + (j + 0.5) * step, srid=4326))
        for i in range(50) for j in range(50)])
    queryset = selectors.address_list(subdistrict=sub, bbox=(W, S, W + 3 * step, S + 3 * step))
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE geo_address")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Cond: (location && " in plan, plan  # the GiST index of Address.location
