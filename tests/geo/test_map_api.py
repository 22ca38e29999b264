"""The GeoJSON map layers of /api/v1/geo/ and /api/v1/dispatch/members/: shape, scoping, roles
and a constant number of queries. Runs on real PostGIS with the hand-made world of
tests/factories.py plus a road, a water, places, more members and a second sub-district."""

from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.contrib.gis.geos import LineString, Point
from django.urls import reverse
from django.utils import timezone

from config.roles import UserRole
from dispatch.models import DutyShift, Force, Member, MemberPosition, TravelMode, Unit
from geo.models import BoundaryVersion, Grid, Place, Road, Subdistrict, Water
from tests.factories import SHANGHAI, E, N, S, W, box, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.world(code="A1", other_code="B2")]

LAYERS = ["geo:subdistricts", "geo:communities", "geo:grids", "geo:roads", "geo:waters", "geo:places"]


@pytest.fixture
def world(world, other_world):
    """The shared world (A1) with a draft version, a road, a water, places, a police officer on duty
    and the member's past shift; `other`: another sub-district (B2), second by code, never in the
    default answers."""
    sub = world["subdistrict"]
    mid = (W + E) / 2
    # A draft version 2 that must not show by default.
    draft = BoundaryVersion.objects.create(subdistrict=sub, number=2, status=BoundaryVersion.Status.DRAFT)
    Grid.objects.create(
        version=draft,
        subdistrict=sub,
        community=world["community"],
        code="A1-G9",
        name="草稿网格",
        boundary=box(W, S, E, N),
    )
    Road.objects.create(
        subdistrict=sub,
        name="良睦路",
        road_class=Road.RoadClass.ARTERIAL,
        one_way=True,
        is_bridge=False,
        speed_kmh=50,
        source=1,
        target=2,
        length_m=1900.0,
        line=LineString((W + 0.001, S + 0.01), (E - 0.001, S + 0.0100001234567), srid=4326),
    )
    Water.objects.create(subdistrict=sub, name="东苕溪", area=box(W + 0.001, S + 0.001, W + 0.003, S + 0.003))
    member = world["member"]
    police_unit = Unit.objects.create(
        subdistrict=sub, code="A1-U2", name="派出所", kind=Unit.Kind.POLICE_STATION
    )
    officer = Member.objects.create(
        subdistrict=sub,
        unit=police_unit,
        code="A1-M2",
        name="李强",
        force=Force.POLICE,
        phone="13800000002",
        travel_mode=TravelMode.CAR,
        home=Point(W + 0.002, S + 0.002, srid=4326),
    )
    MemberPosition.objects.create(
        member=officer, point=Point(mid, S + 0.005, srid=4326), recorded_at=timezone.now()
    )
    now = timezone.now()
    DutyShift.objects.create(
        member=officer, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=7)
    )
    DutyShift.objects.create(
        member=member, starts_at=now - timedelta(hours=20), ends_at=now - timedelta(hours=12)
    )
    officer.grids.add(*world["grids"])
    Place.objects.create(
        subdistrict=sub,
        kind=Place.Kind.SCHOOL,
        name="良渚第一小学",
        address="良睦路1号",
        location=Point(W + 0.004, S + 0.004, srid=4326),
        contact=member,
    )
    Place.objects.create(
        subdistrict=sub,
        kind=Place.Kind.MARKET,
        name="<b>菜市场</b>",
        location=Point(W + 0.005, S + 0.005, srid=4326),
    )
    world.update(officer=officer, draft=draft, other=other_world)
    return world


@pytest.fixture
def api_client(client):
    def login(*roles: str, username: str = "user") -> User:
        user = make_user(username, *roles)
        client.force_login(user)
        return user

    client.login_as = login
    return client


def layer(client, name: str, params: dict | None = None, args: list | None = None):
    """GET a layer of the test world's sub-district A1 (the session's demo sub-district,
    tests/conftest.py, comes first by code and is the default)."""
    return client.get(reverse(name, args=args), {"subdistrict": "A1", **(params or {})})


def features(response) -> list[dict]:
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["type"] == "FeatureCollection"
    return body["features"]


@pytest.mark.parametrize("name", [*LAYERS, "dispatch:members"])
def test_anonymous_is_refused(client, world, name):
    assert client.get(reverse(name)).status_code in (401, 403)


def test_layers_are_feature_collections(api_client, world):
    api_client.login_as(UserRole.PLANNER)
    for name in LAYERS:
        for feature in features(layer(api_client, name)):
            assert feature["type"] == "Feature"
            assert feature["geometry"]["type"]

    (sub,) = features(layer(api_client, "geo:subdistricts", {"subdistrict": "A1"}))
    assert sub["properties"]["code"] == "A1"
    assert sub["geometry"]["type"] == "MultiPolygon"
    everyone = {f["properties"]["code"] for f in features(api_client.get(reverse("geo:subdistricts")))}
    assert everyone >= {"A1", "B2"}

    (community,) = features(layer(api_client, "geo:communities"))
    assert community["properties"]["code"] == "A1-C1"
    assert community["properties"]["kind_display"]
    assert len(community["properties"]["label_point"]) == 2

    (road,) = features(layer(api_client, "geo:roads"))
    assert road["properties"] | {"id": None} == {
        "id": None,
        "name": "良睦路",
        "road_class": "arterial",
        "road_class_display": road["properties"]["road_class_display"],
        "one_way": True,
        "is_bridge": False,
    }
    # Coordinates rounded to 6 decimals.
    assert road["geometry"]["coordinates"][1] == [round(E - 0.001, 6), round(S + 0.0100001234567, 6)]

    (water,) = features(layer(api_client, "geo:waters"))
    assert water["properties"]["name"] == "东苕溪"


def test_grids_default_to_the_version_in_force(api_client, world):
    api_client.login_as(UserRole.DISPATCHER)
    grids = features(layer(api_client, "geo:grids"))
    assert [g["properties"]["code"] for g in grids] == ["A1-G1", "A1-G2"]
    first = grids[0]["properties"]
    assert first["name"] == "第一网格"
    assert first["community"] == "测试社区"
    assert first["version"] == 1
    lon, lat = first["label_point"]
    assert W <= lon <= (W + E) / 2 and S <= lat <= N

    draft = features(layer(api_client, "geo:grids", {"version": 2}))
    assert [g["properties"]["code"] for g in draft] == ["A1-G9"]
    assert draft[0]["properties"]["version"] == 2
    assert layer(api_client, "geo:grids", {"version": 7}).status_code == 404
    assert layer(api_client, "geo:grids", {"version": "x"}).status_code == 400

    other = features(layer(api_client, "geo:grids", {"subdistrict": "B2"}))
    assert [g["properties"]["code"] for g in other] == ["B2-G1", "B2-G2"]
    assert layer(api_client, "geo:grids", {"subdistrict": "nowhere"}).status_code == 404


def test_a_version_not_yet_in_force_is_not_the_default(api_client, world):
    version = world["draft"]
    version.status = BoundaryVersion.Status.PUBLISHED
    version.effective_from = timezone.now() + timedelta(days=1)
    version.published_at = timezone.now()
    version.save()
    api_client.login_as(UserRole.COMMAND_ROOM)
    assert {g["properties"]["version"] for g in features(layer(api_client, "geo:grids"))} == {1}
    # A published version is immutable (geo/models.py): a third one, in force since 2020, takes over.
    sub, since = world["subdistrict"], datetime(2020, 1, 1, tzinfo=SHANGHAI)
    third = BoundaryVersion.objects.create(subdistrict=sub, number=3, status=BoundaryVersion.Status.PUBLISHED,
                                           effective_from=since, published_at=since)
    Grid.objects.create(version=third, subdistrict=sub, community=world["community"], code="A1-G3", name="第三版",
                        boundary=box(W, S, E, N))
    assert {g["properties"]["version"] for g in features(layer(api_client, "geo:grids"))} == {3}


def test_place_contact_only_for_staff(api_client, world):
    api_client.login_as(UserRole.PLANNER, username="planner")
    places = {p["properties"]["name"]: p["properties"] for p in features(layer(api_client, "geo:places"))}
    assert set(places) == {"良渚第一小学", "<b>菜市场</b>"}
    school = places["良渚第一小学"]
    assert school["kind"] == "school" and school["kind_display"] and school["address"] == "良睦路1号"
    assert "contact" not in school

    api_client.login_as(UserRole.CALL_TAKER, username="calltaker")
    places = {p["properties"]["name"]: p["properties"] for p in features(layer(api_client, "geo:places"))}
    assert places["良渚第一小学"]["contact"] == "张伟"
    assert places["<b>菜市场</b>"]["contact"] is None


def test_members_for_staff(api_client, world):
    api_client.login_as(UserRole.COMMAND_ROOM)
    members = {m["properties"]["code"]: m for m in features(layer(api_client, "dispatch:members"))}
    assert set(members) == {"A1-M1", "A1-M2"}
    officer = members["A1-M2"]
    props = officer["properties"]
    assert props["name"] == "李强"
    assert props["force"] == "police" and props["force_display"]
    assert props["unit"] == "派出所"
    assert props["on_duty"] is True
    assert props["grids"] == ["A1-G1", "A1-G2"]
    assert props["position_recorded_at"]
    # The last known position wins over home.
    assert officer["geometry"] == {
        "type": "Point",
        "coordinates": [round((W + E) / 2, 6), round(S + 0.005, 6)],
    }
    worker = members["A1-M1"]["properties"]
    assert worker["on_duty"] is False
    assert worker["position_recorded_at"] is None
    assert members["A1-M1"]["geometry"]["coordinates"] == [round(W + 0.001, 6), round(S + 0.001, 6)]

    detail = layer(api_client, "dispatch:member-detail", args=[world["officer"].pk])
    assert detail.status_code == 200
    assert detail.json()["type"] == "Feature"


@pytest.mark.parametrize("role", [UserRole.PLANNER, UserRole.DEPARTMENT])
def test_members_refused_to_other_roles(api_client, world, role):
    api_client.login_as(role)
    assert layer(api_client, "dispatch:members").status_code == 403
    assert layer(api_client, "dispatch:member-detail", args=[world["officer"].pk]).status_code == 403


def test_a_responder_sees_only_themselves(api_client, world):
    user = api_client.login_as(UserRole.RESPONDER)
    officer = world["officer"]
    officer.user = user
    officer.save()
    (only,) = features(layer(api_client, "dispatch:members"))
    assert only["properties"]["code"] == "A1-M2"
    assert layer(api_client, "dispatch:member-detail", args=[officer.pk]).status_code == 200
    assert layer(api_client, "dispatch:member-detail", args=[world["member"].pk]).status_code == 404


def test_a_responder_without_member_sees_nobody(api_client, world):
    api_client.login_as(UserRole.RESPONDER)
    assert features(layer(api_client, "dispatch:members")) == []


@pytest.mark.parametrize("name", [*LAYERS, "dispatch:members"])
def test_constant_number_of_queries(api_client, world, django_assert_max_num_queries, name):
    """More rows must not mean more queries (no N+1 on community, version, unit, contact, grids)."""
    sub = world["subdistrict"]
    unit = world["unit"]
    for i in range(3, 23):
        member = Member.objects.create(
            subdistrict=sub,
            unit=unit,
            code=f"A1-M{i}",
            name=f"队员{i}",
            force=Force.GRID_WORKER,
            phone=f"138000000{i:02d}",
            travel_mode=TravelMode.FOOT,
            home=Point(W + 0.0001 * i, S + 0.001, srid=4326),
        )
        member.grids.add(*world["grids"])
        Place.objects.create(
            subdistrict=sub,
            kind=Place.Kind.ENTERPRISE,
            name=f"企业{i}",
            location=Point(W + 0.0001 * i, S + 0.002),
            contact=member,
        )
    api_client.login_as(UserRole.COMMAND_ROOM)
    # At most: session, user, groups, sub-district, version in force, rows, one prefetch.
    with django_assert_max_num_queries(7):
        response = layer(api_client, name)
    assert response.status_code == 200
    assert len(response.json()["features"]) >= 1


def test_openapi_schema_describes_the_layers(api_client):
    api_client.login_as(UserRole.COMMAND_ROOM)
    response = api_client.get(reverse("schema"), {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ["/api/v1/geo/grids/", "/api/v1/geo/places/", "/api/v1/dispatch/members/"]:
        assert path in paths


@pytest.mark.parametrize("name", [*LAYERS, "dispatch:members"])
def test_demo_subdistrict_is_the_default_in_constant_queries(
    api_client, demo, django_assert_max_num_queries, name
):
    """The session's demo sub-district (tests/conftest.py) comes first by code, so it is what a
    request without `?subdistrict=` gets; on its full data the query count stays the same."""
    api_client.login_as(UserRole.COMMAND_ROOM)
    with django_assert_max_num_queries(7):
        collection = features(api_client.get(reverse(name)))
    first = Subdistrict.objects.order_by("code").first()
    if name == "geo:subdistricts":
        assert first.code in {f["properties"]["code"] for f in collection}
    elif name == "geo:grids":
        assert len(collection) == 52
        assert all(f["properties"]["label_point"] for f in collection)
    elif name == "dispatch:members":
        assert len(collection) == Member.objects.filter(subdistrict=first, active=True).count()
    else:
        assert collection
