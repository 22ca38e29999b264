"""The wall map's read API (wall/api.py, wall/selectors.py) and the routes the dispatch stores.

A small hand-made world (tests/factories.py) with known incidents, orders and members checks each
section of the snapshot; the demo (60 days of history, roads) checks the routes stored at dispatch
and the replay of one of its history days."""

import gzip
import json
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.gis.geos import Point
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from config.renderers import dumps
from config.roles import UserRole
from dispatch.models import (
    Alarm,
    DispatchOrder,
    DutyShift,
    Force,
    Member,
    MemberPosition,
    PositionFix,
    TravelMode,
)
from dispatch.recommend import recommend
from dispatch.rules_seed import rules_seed
from dispatch.services import incident_transition
from dispatch.sla import arrivals_overdue_raise
from geo.models import Place, Subdistrict
from incidents.models import Category, Channel, Incident, IncidentEvent, Status
from incidents.services import incident_intake
from tests.conftest import DEMO_ANCHOR
from tests.factories import S, W, make_channels, make_user, make_world, put_on_duty
from wall import selectors
from wall.serializers import (
    ReplaySerializer,
    WallAlarmSerializer,
    WallIncidentCardSerializer,
    WallMemberSerializer,
    WallOrderSerializer,
    WallStateSerializer,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEST = Point(W + 0.004, S + 0.005, srid=4326)  # in grid G1
EAST = Point(W + 0.015, S + 0.005, srid=4326)  # in grid G2


def api(user=None) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_authenticate(user)
    return client


def state_url(code: str) -> str:
    return reverse("wall:state", args=[code])


def card_url(code: str, pk: int) -> str:
    return reverse("wall:incident", args=[code, pk])


def replay_url(code: str) -> str:
    return reverse("wall:replay", args=[code])


def field_names(serializer_class) -> set[str]:
    return set(serializer_class().get_fields())


def member(world, code: str, name: str, **kwargs) -> Member:
    fields = {"force": Force.GRID_WORKER, "phone": "13800000009", "travel_mode": TravelMode.EBIKE,
              "home": Point(W + 0.002, S + 0.002, srid=4326)}
    fields.update(kwargs)
    return Member.objects.create(subdistrict=world["subdistrict"], unit=world["unit"], code=code, name=name, **fields)


@pytest.fixture
def world(db):
    """World WA: members on duty (M1, with a fresh position), busy (M2, M3: live orders), off duty
    (M4, an old position) and inactive (M5); incident A (grid G1, two orders, the first one overdue
    with its alarm), B (grid G2, new), C (closed today), D (closed yesterday, off the board)."""
    w = make_world("WA")
    w.update(make_channels())
    now = timezone.now()
    w["now"] = now
    m1 = w["member"]
    m2 = member(w, "WA-M2", "李娜")
    m3 = member(w, "WA-M3", "王强", duty_post=Point(W + 0.003, S + 0.003, srid=4326))
    m4 = member(w, "WA-M4", "刘洋")
    m5 = member(w, "WA-M5", "陈静", active=False)
    put_on_duty(m1, m2, m3)
    MemberPosition.objects.create(member=m1, point=Point(W + 0.005, S + 0.006, srid=4326),
                                  recorded_at=now - timedelta(minutes=1), accuracy_m=8)
    MemberPosition.objects.create(member=m4, point=Point(W + 0.006, S + 0.007, srid=4326),
                                  recorded_at=now - timedelta(hours=2))
    w.update(m1=m1, m2=m2, m3=m3, m4=m4, m5=m5)
    w["other_category"], _ = Category.objects.get_or_create(
        code="test_fire", defaults={"name": "测试火情", "name_en": "test fire", "scope": Category.Scope.FIRE,
                                    "statistic_group": "fire"})
    w["taker"] = make_user("wa-taker", UserRole.CALL_TAKER)
    w["disp"] = make_user("wa-disp", UserRole.DISPATCHER)

    def intake(channel, category, point, description, reported_at, **kw):
        return incident_intake(channel=channel, category=category, description=description, actor=w["taker"],
                               location=point, reported_at=reported_at, **kw).incident

    a = intake(w["hotline"], w["category"], WEST, "两户邻居因噪音发生争执，" * 10, now - timedelta(minutes=45))
    incident_transition(incident_id=a.pk, action="dispatch", actor=w["disp"], members=[m3], method="radio",
                        at=now - timedelta(minutes=40))
    incident_transition(incident_id=a.pk, action="dispatch", actor=w["disp"], members=[m2], method="phone",
                        at=now - timedelta(minutes=20))
    arrivals_overdue_raise(now=now)  # m3's arrival was due 10 minutes ago
    b = intake(w["district"], w["other_category"], EAST, "仓库冒烟", now - timedelta(minutes=5), external_id="WA-1")
    c = intake(w["hotline"], w["category"], WEST, "误报", now - timedelta(minutes=3))
    incident_transition(incident_id=c.pk, action="cancel", actor=w["disp"], text="误报，已核实")
    d = intake(w["hotline"], w["category"], WEST, "昨天的误报", now - timedelta(days=2))
    incident_transition(incident_id=d.pk, action="cancel", actor=w["disp"], text="误报",
                        at=now - timedelta(days=1, hours=1))
    w.update(a=a, b=b, c=c, d=d)
    return w


# --- the snapshot ----------------------------------------------------------------------------------

def test_the_state_has_every_section_in_the_contracts_shape(world):
    response = api(world["disp"]).get(state_url("WA"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == field_names(WallStateSerializer)
    assert body["subdistrict"] == {"code": "WA", "name": "测试街道WA", "bbox": [120.49, 30.49, 120.51, 30.51]}
    assert datetime.fromisoformat(body["now"]).utcoffset() == timedelta(hours=8)
    assert body["last_event"] == IncidentEvent.objects.filter(subdistrict=world["subdistrict"]).latest("pk").pk
    for item in body["incidents"]:
        assert set(item) >= {"id", "number", "status", "status_label", "category", "channel", "major", "level",
                             "reported_at", "point", "address", "grid", "summary", "deadline", "orders"}
        for order in item["orders"]:
            assert set(order) == field_names(WallOrderSerializer)
    for m in body["members"]:
        assert set(m) == field_names(WallMemberSerializer)
    for alarm in body["alarms"]:
        assert set(alarm) == field_names(WallAlarmSerializer)


def test_the_board_holds_open_incidents_and_those_closed_today_with_orders_and_deadline(world):
    body = api(world["disp"]).get(state_url("WA")).json()
    by_id = {i["id"]: i for i in body["incidents"]}
    assert set(by_id) == {world["a"].pk, world["b"].pk, world["c"].pk}  # D was closed yesterday
    assert [i["id"] for i in body["incidents"]] == [world["c"].pk, world["b"].pk, world["a"].pk]  # newest first
    a = by_id[world["a"].pk]
    assert a["status"] == "dispatched" and a["status_label"] == "dispatched"
    assert a["category"] == {"code": "test_dispute", "name": "测试纠纷"}
    assert a["channel"] == {"code": "t_hotline_110", "name": "社会110联动"}
    assert a["grid"] == {"code": "WA-G1", "name": "第一网格"}
    assert a["point"] == [round(WEST.x, 6), round(WEST.y, 6)]
    assert a["summary"] == ("两户邻居因噪音发生争执，" * 10)[:60] and not a["major"] and a["level"] == 0
    orders = a["orders"]
    assert [o["member"] for o in orders] == [world["m3"].pk, world["m2"].pk]  # oldest first
    first = DispatchOrder.objects.get(incident=world["a"], member=world["m3"])
    assert orders[0]["member_name"] == "王强" and orders[0]["state"] == "dispatched"
    # The deadline is the earliest arrive_by of the orders still awaited.
    assert datetime.fromisoformat(a["deadline"]) == first.arrive_by == world["now"] - timedelta(minutes=10)
    assert orders[0]["eta"] is None  # no road network in this world: no travel time
    # No roads: the order knows where the member set out from but has no route.
    assert first.origin is not None and first.route is None and orders[0]["route"] is None
    assert by_id[world["b"].pk]["deadline"] is None and by_id[world["b"].pk]["orders"] == []
    assert by_id[world["c"].pk]["status"] == "closed"


def test_members_are_busy_on_duty_or_off_duty_with_their_position(world, settings):
    settings.POSITION_STALE_MINUTES = 15
    members = {m["id"]: m for m in api(world["disp"]).get(state_url("WA")).json()["members"]}
    assert world["m5"].pk not in members  # inactive
    m1, m2, m3, m4 = (members[world[k].pk] for k in ("m1", "m2", "m3", "m4"))
    assert (m1["status"], m2["status"], m3["status"], m4["status"]) == ("on_duty", "busy", "busy", "off_duty")
    assert m1["point"] == [round(W + 0.005, 6), round(S + 0.006, 6)] and m1["source"] == "live"
    assert not m1["stale"] and m1["at"] is not None
    assert m4["stale"] and m4["point"] is not None  # last seen two hours ago
    assert m3["point"] == [round(W + 0.003, 6), round(S + 0.003, 6)] and m3["source"] == "duty_post"
    assert m3["at"] is None and not m3["stale"]
    assert m2["point"] is None  # no position shared, no duty post
    assert m1["force"] == "grid_worker" and m1["force_label"] == "full-time grid worker"
    assert m1["unit"] == "网格中队" and m1["name"] == "张伟"


def test_members_carry_their_duty_shifts_to_the_end_of_tomorrow_and_their_duty_post(world):
    """What a wall needs to turn responders on and off duty as time passes, without a reload:
    every shift that ends after now and starts before the end of tomorrow, oldest first, in local
    time, with its post; and the duty post (where one without a post of the shift is drawn)."""
    now = datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)
    at = lambda day, hour: datetime(2026, 11, day, hour, 0, tzinfo=SHANGHAI)  # noqa: E731
    post, duty_post = Point(W + 0.001, S + 0.002, srid=4326), Point(W + 0.003, S + 0.004, srid=4326)
    m6 = member(world, "WA-M6", "赵敏", duty_post=duty_post)
    m7 = member(world, "WA-M7", "孙亮", duty_post=duty_post)
    for starts, ends, where in [
        (at(23, 8), at(23, 16), None),  # yesterday: over
        (at(24, 8), at(24, 12), post),  # covers now
        (at(24, 12), at(24, 14), None),  # starts as the first ends
        (at(25, 23), at(26, 1), None),  # starts tomorrow night
        (at(26, 1), at(26, 8), None),  # starts the day after tomorrow: not yet
    ]:
        DutyShift.objects.create(member=m6, starts_at=starts, ends_at=ends, post=where)
    DutyShift.objects.create(member=m7, starts_at=at(24, 18), ends_at=at(24, 22))
    DutyShift.objects.create(member=m7, starts_at=at(26, 0), ends_at=at(26, 8))  # as tomorrow ends: not yet
    body = json.loads(dumps(selectors.wall_state(subdistrict=selectors.wall_subdistrict(code="WA"), now=now)))
    members = {m["id"]: m for m in body["members"]}
    six, seven, four = members[m6.pk], members[m7.pk], members[world["m4"].pk]
    assert six["shifts"] == [
        {"starts_at": "2026-11-24T08:00:00+08:00", "ends_at": "2026-11-24T12:00:00+08:00",
         "post": [round(post.x, 6), round(post.y, 6)]},
        {"starts_at": "2026-11-24T12:00:00+08:00", "ends_at": "2026-11-24T14:00:00+08:00", "post": None},
        {"starts_at": "2026-11-25T23:00:00+08:00", "ends_at": "2026-11-26T01:00:00+08:00", "post": None},
    ]
    assert six["duty_post"] == seven["duty_post"] == [round(duty_post.x, 6), round(duty_post.y, 6)]
    # On duty without a shared position: drawn at the post of the shift covering now.
    assert (six["status"], six["point"], six["source"]) == ("on_duty", [round(post.x, 6), round(post.y, 6)],
                                                           "duty_post")
    # Off duty until 18:00: not drawn, but the wall knows when they come on.
    assert (seven["status"], seven["point"], seven["source"]) == ("off_duty", None, None)
    assert [s["starts_at"] for s in seven["shifts"]] == ["2026-11-24T18:00:00+08:00"]
    assert four["shifts"] == [] and four["duty_post"] is None  # no shift at all
    # The long shift of the members put on duty (2019 to 2100) covers now and reaches beyond.
    assert members[world["m1"].pk]["shifts"] == [
        {"starts_at": "2019-01-01T00:00:00+08:00", "ends_at": "2100-01-01T00:00:00+08:00", "post": None}]
    # The rows of some members are the snapshot's own (what a `members` frame carries).
    rows = json.loads(dumps(selectors.member_rows(subdistrict_id=world["subdistrict"].pk,
                                                  member_ids=[m6.pk, world["m5"].pk], now=now)))
    assert rows == {str(m6.pk): six, str(world["m5"].pk): None}  # m5 is inactive: not on the wall


def test_grids_counts_alarms_and_events(world):
    body = api(world["disp"]).get(state_url("WA")).json()
    assert body["grids"] == [{"code": "WA-G1", "name": "第一网格", "load": 1},
                             {"code": "WA-G2", "name": "第二网格", "load": 1}]
    counts = body["counts"]
    day_start, _end = selectors.local_day_bounds(selectors.local_today())
    today = [i for i in (world["a"], world["b"], world["c"], world["d"]) if i.reported_at >= day_start]
    assert counts["today"] == len(today)
    expected_categories = {}
    for incident in today:
        expected_categories[incident.category.code] = expected_categories.get(incident.category.code, 0) + 1
    assert {c["code"]: c["count"] for c in counts["by_category"]} == expected_categories
    assert sum(c["count"] for c in counts["by_channel"]) == len(today)
    assert counts["open"] == 2 and counts["overdue"] == 1
    if world["b"].reported_at >= day_start:
        assert {"code": "t_district_order", "name": "区级联动中心任务派单", "count": 1} in counts["by_channel"]

    [alarm] = body["alarms"]
    raised = Alarm.objects.get()
    assert alarm["id"] == raised.pk and alarm["kind"] == "arrival_overdue" and alarm["kind_label"] == "arrival overdue"
    assert alarm["incident"] == world["a"].pk and alarm["number"] == world["a"].number
    assert alarm["state"] == "open" and alarm["member"] == world["m3"].pk and alarm["member_name"] == "王强"
    assert datetime.fromisoformat(alarm["due_at"]) == world["now"] - timedelta(minutes=10)

    events = body["events"]
    ids = list(IncidentEvent.objects.filter(subdistrict=world["subdistrict"]).order_by("-pk").values_list("pk", flat=True))
    assert [e["id"] for e in events] == ids[:50]
    assert events[0]["id"] == body["last_event"]
    assert set(events[0]) == {"id", "incident", "number", "kind", "from", "to", "status", "at", "note", "data"}
    dispatched = next(e for e in events if e["kind"] == "dispatched")
    assert dispatched["data"]["member_name"] in ("王强", "李娜")


def test_the_state_costs_a_bounded_number_of_queries(world, django_assert_max_num_queries):
    client = api(world["disp"])
    client.get(state_url("WA"))
    with django_assert_max_num_queries(10):
        assert client.get(state_url("WA")).status_code == 200
    # More members, incidents and orders: the same queries.
    extra = [member(world, f"WA-X{i}", f"队员{i}") for i in range(20)]
    put_on_duty(*extra)
    for i in range(6):
        incident = incident_intake(channel=world["hotline"], category=world["category"], description=f"纠纷{i}",
                                   actor=world["taker"], location=WEST).incident
        incident_transition(incident_id=incident.pk, action="dispatch", actor=world["disp"],
                            members=extra[3 * i:3 * i + 3], method="radio")
    newest = IncidentEvent.objects.filter(subdistrict=world["subdistrict"]).latest("pk").pk
    with django_assert_max_num_queries(10):  # a wall that shows the newest event: built again
        body = client.get(state_url("WA"), {"after": newest}).json()
    assert len(body["incidents"]) == 9 and sum(m["status"] == "busy" for m in body["members"]) == 20


# --- the incident card -----------------------------------------------------------------------------

def test_the_card_has_the_description_and_the_timeline_with_actors(world):
    a = world["a"]
    response = api(world["disp"]).get(card_url("WA", a.pk))
    assert response.status_code == 200, response.content
    card = response.json()
    assert set(card) == field_names(WallIncidentCardSerializer)
    assert card["description"] == "两户邻居因噪音发生争执，" * 10
    assert len(card["orders"]) == 2 and card["deadline"] is not None
    timeline = card["timeline"]
    assert [e["id"] for e in timeline] == list(IncidentEvent.objects.filter(incident=a).order_by("pk")
                                               .values_list("pk", flat=True))
    assert timeline[0]["kind"] == "created" and timeline[0]["actor"] == "wa-taker"
    assert all(e["status"] == "dispatched" for e in timeline)  # the case's status now
    assert {e["actor"] for e in timeline if e["kind"] == "dispatched"} == {"wa-disp"}
    assert any(e["kind"] == "alarm" for e in timeline)


def test_unknown_subdistrict_unknown_or_foreign_incident_are_404(world):
    other = make_world("WB")
    foreign = Incident.objects.create(
        subdistrict=other["subdistrict"], number="WB-0001", channel=world["hotline"], category=world["category"],
        description="别的街道", location=WEST, reported_at=timezone.now())
    client = api(world["disp"])
    assert client.get(state_url("NOPE")).status_code == 404
    assert client.get(card_url("NOPE", world["a"].pk)).status_code == 404
    assert client.get(replay_url("NOPE"), {"date": "2026-11-01"}).status_code == 404
    assert client.get(card_url("WA", foreign.pk)).status_code == 404
    assert client.get(card_url("WB", foreign.pk)).status_code == 404  # another tenant's (geo/tenancy.py)
    assert api(make_user("wb-disp", UserRole.DISPATCHER)).get(card_url("WB", foreign.pk)).status_code == 200
    assert client.get(card_url("WA", 10**9)).status_code == 404
    # and the other sub-district's incidents are not on this board
    assert foreign.pk not in {i["id"] for i in client.get(state_url("WA")).json()["incidents"]}


@pytest.mark.parametrize("role", [UserRole.COMMAND_ROOM, UserRole.DISPATCHER, UserRole.CALL_TAKER, UserRole.LEADER])
def test_staff_roles_may_read_the_wall(world, role):
    user = make_user(f"wa-{role}", role)
    assert api(user).get(state_url("WA")).status_code == 200
    assert api(user).get(card_url("WA", world["a"].pk)).status_code == 200


@pytest.mark.parametrize("role", [UserRole.RESPONDER, UserRole.PLANNER, UserRole.DEPARTMENT, UserRole.INTEGRATION])
def test_other_roles_are_refused(world, role):
    user = make_user(f"wa-{role}", role, member=world["m3"] if role == UserRole.RESPONDER else None)
    client = api(user)
    assert client.get(state_url("WA")).status_code == 403
    # even the responder's own case
    assert client.get(card_url("WA", world["a"].pk)).status_code == 403
    assert client.get(replay_url("WA"), {"date": "2026-11-01"}).status_code == 403


def test_anonymous_is_refused(world):
    client = api()
    for url in (state_url("WA"), card_url("WA", world["a"].pk), replay_url("WA") + "?date=2026-11-01"):
        assert client.get(url).status_code in (401, 403)


# --- the replay ------------------------------------------------------------------------------------

def test_replay_of_yesterday_thins_the_tracks_and_keeps_to_the_subdistrict(world):
    yesterday = selectors.local_today() - timedelta(days=1)
    start, _end = selectors.local_day_bounds(yesterday)
    at = start + timedelta(hours=9)
    fixes = [PositionFix(member=world["m1"], recorded_at=at + timedelta(seconds=5 * k),
                         point=Point(W + 0.001 * k / 24, S + 0.005, srid=4326), received_at=at)
             for k in range(24)]  # two minutes, one fix every 5 s
    other = make_world("WC")
    fixes.append(PositionFix(member=other["member"], recorded_at=at, point=Point(W, S, srid=4326), received_at=at))
    fixes.append(PositionFix(member=world["m4"], recorded_at=start - timedelta(seconds=1),  # the day before
                             point=Point(W, S, srid=4326), received_at=at))
    PositionFix.objects.bulk_create(fixes)
    response = api(world["disp"]).get(replay_url("WA"), {"date": yesterday.isoformat()})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == field_names(ReplaySerializer)
    assert body["date"] == yesterday.isoformat()
    assert datetime.fromisoformat(body["start"]) == start
    assert datetime.fromisoformat(body["end"]) == start + timedelta(days=1)
    assert set(body["tracks"]) == {str(world["m1"].pk)}
    track = body["tracks"][str(world["m1"].pk)]
    assert len(track) == 8  # 120 s in slots of 15 s
    times = [datetime.fromisoformat(t) for t, _lon, _lat in track]
    assert times == sorted(times) and all(b - a >= timedelta(seconds=15) for a, b in zip(times, times[1:], strict=False))
    assert track[0][1:] == [round(W, 6), round(S + 0.005, 6)]


def test_replay_refuses_a_missing_malformed_or_future_date(world):
    client = api(world["disp"])
    tomorrow = selectors.local_today() + timedelta(days=1)
    for params, words in [({}, "Choose the day"), ({"date": "2026-13-01"}, "YYYY-MM-DD"),
                          ({"date": "yesterday"}, "YYYY-MM-DD"), ({"date": tomorrow.isoformat()}, "not come yet")]:
        response = client.get(replay_url("WA"), params)
        assert response.status_code == 400, params
        assert words in response.json()["date"][0], response.json()
    assert client.get(replay_url("WA"), {"date": selectors.local_today().isoformat()}).status_code == 200


# --- routes stored at dispatch, and a demo day replayed -----------------------------------------------

AT = datetime(2026, 11, 3, 10, 0, tzinfo=SHANGHAI)  # the demo's rosters are on duty (see test_recommend)


def near(a, b, tolerance: float = 2e-6) -> bool:
    return abs(a[0] - b[0]) <= tolerance and abs(a[1] - b[1]) <= tolerance


def test_dispatch_stores_each_orders_origin_and_road_route_to_the_scene(demo, db):
    rules_seed()
    taker = make_user("wr-taker", UserRole.CALL_TAKER)
    disp = make_user("wr-disp", UserRole.DISPATCHER)
    point = Place.objects.filter(kind="enterprise", contact__isnull=False).order_by("name").first().location
    incident = incident_intake(channel=Channel.objects.get(code="hotline_social_110"),
                               category=Category.objects.get(code="fire"), description="厂房起火",
                               actor=taker, location=point).incident
    rec = recommend(Incident.objects.select_related("category", "place").get(pk=incident.pk), at=AT)
    chosen = [Member.objects.get(pk=c.member_id) for c in rec.proposed]
    incident_transition(incident_id=incident.pk, action="dispatch", actor=disp, members=chosen, method="radio", at=AT)
    orders = {o.member_id: o for o in DispatchOrder.objects.filter(incident=incident)}
    assert set(orders) == {m.pk for m in chosen}
    scene = (round(point.x, 6), round(point.y, 6))
    for c in rec.proposed:
        order = orders[c.member_id]
        assert order.origin is not None and near(order.origin.coords, c.origin)
        assert order.route is not None and len(order.route) >= 2
        assert near(order.route.coords[0], order.origin.coords)  # from where they set out ...
        assert near(order.route.coords[-1], scene)  # ... to the scene
    # The wall shows the stored route with the order (the case is open: it is on the board).
    code = Subdistrict.objects.get(pk=incident.subdistrict_id).code
    body = api(disp).get(state_url(code)).json()
    item = next(i for i in body["incidents"] if i["id"] == incident.pk)
    shown = {o["member"]: o for o in item["orders"]}
    for member_id, order in orders.items():
        assert shown[member_id]["route"] == [list(p) for p in order.route.coords]
        assert shown[member_id]["eta"] is not None
    assert datetime.fromisoformat(item["deadline"]) == min(o.arrive_by for o in orders.values())


def test_replay_of_a_demo_history_day(demo, db, django_assert_max_num_queries):
    day = DEMO_ANCHOR - timedelta(days=3)
    sub = Subdistrict.objects.get(code="330110011")
    disp = make_user("wr-disp2", UserRole.DISPATCHER)
    client = api(disp)
    client.get(replay_url(sub.code), {"date": day.isoformat()})
    with django_assert_max_num_queries(8):
        response = client.get(replay_url(sub.code), {"date": day.isoformat()})
    assert response.status_code == 200, response.content
    body = response.json()
    start, end = selectors.local_day_bounds(day)
    expected = Incident.objects.filter(subdistrict=sub, reported_at__gte=start, reported_at__lt=end)
    assert len(body["incidents"]) == expected.count() > 10
    points = {i["id"]: i["point"] for i in body["incidents"]}
    for item in body["incidents"]:
        assert start <= datetime.fromisoformat(item["reported_at"]) < end
        statuses = item["statuses"]
        assert statuses[0][1] in (Status.NEW, Status.NEEDS_LOCATION, Status.ASSIGNED)
        assert [datetime.fromisoformat(t) for t, _s in statuses] == sorted(datetime.fromisoformat(t) for t, _s in statuses)
    orders = body["orders"]
    assert len(orders) == DispatchOrder.objects.filter(incident__in=expected).count() > 10
    routed = [o for o in orders if o["route"]]
    assert len(routed) >= 0.9 * len(orders)  # computed from the duty post or home: the history stored none
    for order in routed:
        assert len(order["route"]) >= 2 and near(order["route"][-1], points[order["incident"]])
        assert order["member_name"] and order["force"]
    assert len(json.dumps(body)) < 2_000_000


def test_the_wall_endpoints_are_in_the_openapi_schema(db):
    user = make_user("wa-schema", UserRole.DISPATCHER)
    response = api(user).get(reverse("schema"), {"format": "json"})
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    for path in ("/api/v1/wall/{code}/state/", "/api/v1/wall/{code}/incidents/{id}/", "/api/v1/wall/{code}/replay/"):
        assert "get" in paths[path], path
    assert any(p["name"] == "date" and p["required"] for p in paths["/api/v1/wall/{code}/replay/"]["get"]["parameters"])


# --- one snapshot shared by the walls (wall/snapshot.py) ---------------------------------------------

def test_walls_share_one_snapshot_never_older_than_what_the_asking_wall_shows(
        world, settings, django_assert_max_num_queries):
    settings.WALL_SNAPSHOT_SHARE_SECONDS = 60
    first = api(world["disp"]).get(state_url("WA"))
    assert first["Content-Type"] == "application/json"
    # A second wall within the time: the same bytes, with no query besides its own login's.
    with django_assert_max_num_queries(3):
        second = api(world["disp"]).get(state_url("WA"))
    assert second.content == first.content
    # A wall that accepts gzip gets the same JSON compressed once for all (a tenth of the bytes); one
    # that refuses it (q=0) gets it plain. Either way the answer varies by Accept-Encoding.
    gzipped = api(world["disp"]).get(state_url("WA"), HTTP_ACCEPT_ENCODING="br, gzip;q=0.8")
    assert gzipped["Content-Encoding"] == "gzip" and "Accept-Encoding" in gzipped["Vary"]
    assert gzip.decompress(gzipped.content) == first.content and len(gzipped.content) < len(first.content) / 3
    refused = api(world["disp"]).get(state_url("WA"), HTTP_ACCEPT_ENCODING="gzip;q=0, *")
    assert refused.content == first.content and "Content-Encoding" not in refused
    # A change without an event (a member's position) waits for the time limit...
    MemberPosition.objects.filter(member=world["m1"]).update(point=Point(W + 0.001, S + 0.001, srid=4326))
    assert api(world["disp"]).get(state_url("WA")).content == first.content
    # ...and so does an event, for a wall that has not seen it (a new page resumes its socket from
    # the snapshot's `last_event`, and gets the event there)...
    e = incident_intake(channel=world["hotline"], category=world["category"], description="新的一起", actor=world["taker"],
                        location=WEST).incident
    newest = IncidentEvent.objects.filter(incident=e).order_by("-pk").values_list("pk", flat=True).first()
    assert api(world["disp"]).get(state_url("WA")).content == first.content
    # ...but a wall that shows it (`after`) never gets a snapshot older than it: a new one is built,
    # with the new case and a later `last_event`, and the other walls share that one from then on.
    third = api(world["disp"]).get(state_url("WA"), {"after": newest}).json()
    assert third["last_event"] >= newest > first.json()["last_event"]
    assert e.pk in {i["id"] for i in third["incidents"]}
    m1 = next(m for m in third["members"] if m["id"] == world["m1"].pk)
    assert m1["point"] == [round(W + 0.001, 6), round(S + 0.001, 6)]
    assert api(world["disp"]).get(state_url("WA")).json() == third
    # Each language has its own: the labels are translated.
    zh = APIClient(HTTP_ACCEPT_LANGUAGE="zh-hans")
    zh.force_authenticate(world["disp"])
    assert zh.get(state_url("WA")).json()["incidents"][0]["status_label"] != third["incidents"][0]["status_label"]


def test_a_wall_that_names_an_event_no_snapshot_holds_gets_a_fresh_one_and_a_bad_after_is_refused(world, settings):
    settings.WALL_SNAPSHOT_SHARE_SECONDS = 60
    first = api(world["disp"]).get(state_url("WA")).json()
    # An id beyond every event: the build its request started answers it.
    fresh = api(world["disp"]).get(state_url("WA"), {"after": first["last_event"] + 10**6})
    assert fresh.status_code == 200 and fresh.json()["last_event"] == first["last_event"]
    for bad in ("-1", "abc", "1.5", str(2**63)):
        refused = api(world["disp"]).get(state_url("WA"), {"after": bad}, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert refused.status_code == 400, bad
        assert "after" in refused.json()


def test_a_shared_snapshot_is_rebuilt_after_its_time(world, settings):
    settings.WALL_SNAPSHOT_SHARE_SECONDS = 0.05
    api(world["disp"]).get(state_url("WA"))
    MemberPosition.objects.filter(member=world["m1"]).update(point=Point(W + 0.001, S + 0.001, srid=4326))
    time.sleep(0.1)
    body = api(world["disp"]).get(state_url("WA")).json()
    assert next(m for m in body["members"] if m["id"] == world["m1"].pk)["point"] == [round(W + 0.001, 6),
                                                                                    round(S + 0.001, 6)]
