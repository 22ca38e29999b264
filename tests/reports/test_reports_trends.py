"""Year over year and satisfaction (reports/trends.py, its API, page and Excel file) on hand-made data:
every expected number is written here, counted by hand from what each test plants.

Counting rules under test (README "Year over year and hot spots"): a case counts in the local month
of its report, in its category's statistic group; merged duplicates and cases outside the
jurisdiction are left out; the zero-growth target is "no more than last year"; grids are those of
the version in force at the year's end (a case placed by its point, or by its grid's code without a
point); the satisfaction rate is (satisfied + basically satisfied) / call-backs that reached the
person, by the month of the call-back and by the case's unit."""

from datetime import datetime, timedelta
from io import BytesIO
from itertools import count

import pytest
from django.conf import settings
from django.contrib.gis.geos import Point
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from config.errors import DomainError
from config.roles import UserRole
from dispatch.models import DispatchOrder, Unit
from geo.models import BoundaryVersion, Grid
from incidents.models import CallbackTask, Category, Flow, Handover, Incident, Status
from reports import trends
from reports.periods import year_param
from tests.factories import SHANGHAI, E, N, S, W, box, make_user, make_world

pytestmark = pytest.mark.django_db

MID_LON, MID_LAT = (W + E) / 2, (S + N) / 2
WEST = Point(W + 0.004, MID_LAT, srid=4326)  # in grid YY-G1 of version 1
_numbers = count(1)


def at(year, month, day, hour=10, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def world():
    world = make_world("YY")
    cats = {"petition": world["category"]}
    for group, scope, police in [("labour", "non_police", False), ("fire", "fire", False),
                                 ("public_order", "police", True), ("traffic", "traffic", False)]:
        cats[group] = Category.objects.create(code=f"t_{group}", name=f"测试{group}", name_en=group, scope=scope,
                                              is_police=police, statistic_group=group)
    world["cats"] = cats
    return world


def case(world, group, when, *, point=WEST, grid="west", status=Status.NEW, flow=Flow.ON_SITE, **fields):
    grid_obj = {"west": world["grids"][0], "east": world["grids"][1], None: None}.get(grid, grid)
    return Incident.objects.create(
        subdistrict=fields.pop("subdistrict", world["subdistrict"]), number=f"YY{next(_numbers):07d}",
        channel=world["channel"], category=world["cats"][group], status=status, flow=flow,
        description="测试", location=point, grid=grid_obj, reported_at=when, **fields)


def plant(world, group, when, n=1, **kw):
    return [case(world, group, when + timedelta(minutes=i), **kw) for i in range(n)]


def plant_two_years(world):
    """2023 against 2024, counted by hand:

    petition  Jan 2 → 2 (0 %, good); Mar 4 → 5 (+25 %, poor); Apr 0 → 1 (new: the case of
              1 April 00:10 local, 31 March 16:10 UTC; the case of 31 March 23:30 is March's)
    labour    Mar 0 → 2 (new, poor)
    fire      Jun 10 → 11 (+10 %: at the threshold, fair)
    public order (a police-type category) Dec 3 → 1 (−66.7 %, good)
    traffic   nothing either year (0 %, good)
    year to date: petition 6 → 8 (+33.3 %), labour 0 → 2 (new), fire 10 → 11 (+10 %),
    public order 3 → 1, traffic 0 → 0, other 0 → 0; all 19 → 22 (+15.8 %, poor).
    Not counted: a merged duplicate, a case outside the jurisdiction, another sub-district's case."""
    plant(world, "petition", at(2023, 1, 5), 2)
    plant(world, "petition", at(2024, 1, 6), 2)
    plant(world, "petition", at(2023, 3, 8), 4)
    kept = plant(world, "petition", at(2024, 3, 8), 4)
    case(world, "petition", at(2024, 3, 31, 23, 30))
    case(world, "petition", at(2024, 4, 1, 0, 10))
    plant(world, "labour", at(2024, 3, 12), 2)
    plant(world, "fire", at(2023, 6, 1), 10)
    plant(world, "fire", at(2024, 6, 2), 11)
    plant(world, "public_order", at(2023, 12, 30), 3)
    case(world, "public_order", at(2024, 12, 31, 23, 59))
    # Left out everywhere:
    case(world, "petition", at(2024, 3, 9), status=Status.MERGED, merged_into=kept[0])
    case(world, "petition", at(2024, 3, 9), outside_jurisdiction=True)
    other = make_world("ZZ")
    case(world, "petition", at(2024, 3, 9), subdistrict=other["subdistrict"], grid=other["grids"][0])


def test_counts_by_group_and_month_against_last_year(world):
    plant_two_years(world)
    report = trends.year_over_year(subdistrict=world["subdistrict"], period=year_param("2024"))
    groups = {g.code: g for g in report.groups}
    assert [g.code for g in report.groups] == ["petition", "labour", "fire", "public_order", "traffic", "other",
                                               "total"]
    assert all(m.state == "done" for g in report.groups for m in g.months)

    def month(code, n):
        v = groups[code].months[n - 1].value
        return v.this, v.last, None if v.change is None else round(v.change, 4), v.new, v.within, v.grade

    assert month("petition", 1) == (2, 2, 0.0, False, True, "good")
    assert month("petition", 2) == (0, 0, 0.0, False, True, "good")
    assert month("petition", 3) == (5, 4, 0.25, False, False, "poor")
    assert month("petition", 4) == (1, 0, None, True, False, "poor")
    assert month("labour", 3) == (2, 0, None, True, False, "poor")
    assert month("fire", 6) == (11, 10, 0.1, False, False, "fair")
    assert month("public_order", 12) == (1, 3, -0.6667, False, True, "good")
    assert all(month("traffic", n) == (0, 0, 0.0, False, True, "good") for n in range(1, 13))
    assert month("total", 3) == (7, 4, 0.75, False, False, "poor")
    assert month("total", 6) == (11, 10, 0.1, False, False, "fair")

    ytd = {code: (g.ytd.this, g.ytd.last, g.ytd.text) for code, g in groups.items()}
    assert ytd == {"petition": (8, 6, "+33.3%"), "labour": (2, 0, ytd["labour"][2]), "fire": (11, 10, "+10.0%"),
                   "public_order": (1, 3, "-66.7%"), "traffic": (0, 0, "0.0%"), "other": (0, 0, "0.0%"),
                   "total": (22, 19, "+15.8%")}
    assert groups["labour"].ytd.new and groups["labour"].ytd.grade == "poor"
    assert [groups[c].ytd.within for c in ("petition", "labour", "fire", "public_order", "traffic", "total")] == [
        False, False, False, True, True, False]
    # The month table holds the same numbers, a row per month, a cell per group in the groups' order.
    march = report.month_rows[2]
    assert march["key"] == "2024-03" and [c.this for c in march["cells"]] == [5, 2, 0, 0, 0, 0, 7]


def test_a_running_year_compares_to_the_same_instant_last_year(world):
    """Now 15 March 2024, noon: February has ended (1 → 1); March runs (2 so far against last year's
    1 before 15 March noon — its 3 later cases are not compared); April has not begun (last year's 1
    is its target); year to date 3 against 2."""
    case(world, "petition", at(2023, 2, 10))
    case(world, "petition", at(2024, 2, 11))
    plant(world, "petition", at(2024, 3, 10), 2)
    case(world, "petition", at(2023, 3, 10))
    plant(world, "petition", at(2023, 3, 20), 3)
    case(world, "petition", at(2023, 4, 5))
    now = at(2024, 3, 15, 12, 0)
    report = trends.year_over_year(subdistrict=world["subdistrict"], period=year_param("2024"), now=now)
    petition = report.groups[0]
    assert [m.state for m in petition.months[:5]] == ["done", "done", "running", "future", "future"]
    feb, mar, apr = (petition.months[n].value for n in (1, 2, 3))
    assert (feb.this, feb.last, feb.change) == (1, 1, 0.0)
    assert (mar.this, mar.last, mar.change, mar.grade) == (2, 1, 1.0, "poor")
    assert (apr.this, apr.last, apr.within, apr.grade, apr.text) == (None, 1, None, "", "")
    assert (petition.ytd.this, petition.ytd.last, petition.ytd.change) == (3, 2, 0.5)
    assert report.as_of == now and report.compared_until == at(2023, 3, 15, 12, 0)
    with pytest.raises(DomainError):
        trends.year_over_year(subdistrict=world["subdistrict"], period=year_param("2025"), now=now)


def test_a_year_back_from_29_february_is_28_february():
    assert trends.year_back(at(2024, 2, 29, 10, 0)) == at(2023, 2, 28, 10, 0)
    assert trends.year_back(at(2025, 1, 1, 0, 0)) == at(2024, 1, 1, 0, 0)


def test_grids_are_counted_on_the_version_in_force_at_the_year_end(world):
    """Version 2 (in force from 1 July 2024) has YY-G1 (the north half) and YY-G3 (the south half).
    A: 2024, point south-west, recorded on version 1's YY-G1 → version 2's YY-G3 (its point, not its code)
    B: 2023, point north-east, version 1's YY-G2 → YY-G1 (last year)
    C: 2024, point north-west, recorded on version 2's YY-G1 → YY-G1
    D: 2024, off-site without a point, version 1's YY-G1 → YY-G1 by its code
    E: 2024, off-site without a point, version 1's YY-G2 → no such code: not placed
    F: 2023, off-site, no point, no grid → not placed
    YY-G1: 2 against 1 (+100 %); YY-G3: 1 against 0 (new); not placed: 1 against 1."""
    v2 = BoundaryVersion.objects.create(subdistrict=world["subdistrict"], number=2,
                                        status=BoundaryVersion.Status.PUBLISHED, effective_from=at(2024, 7, 1, 0, 0),
                                        published_at=at(2024, 6, 20))
    north = Grid.objects.create(version=v2, subdistrict=world["subdistrict"], community=world["community"],
                                code="YY-G1", name="北网格", boundary=box(W, MID_LAT, E, N))
    Grid.objects.create(version=v2, subdistrict=world["subdistrict"], community=world["community"],
                        code="YY-G3", name="南网格", boundary=box(W, S, E, MID_LAT))
    case(world, "petition", at(2024, 5, 1), point=Point(W + 0.002, S + 0.002, srid=4326), grid="west")
    case(world, "petition", at(2023, 5, 1), point=Point(E - 0.002, N - 0.002, srid=4326), grid="east")
    case(world, "petition", at(2024, 8, 1), point=Point(W + 0.002, N - 0.002, srid=4326), grid=north)
    off = {"point": None, "flow": Flow.OFF_SITE, "status": Status.ASSIGNED}
    case(world, "petition", at(2024, 2, 1), grid="west", **off)
    case(world, "petition", at(2024, 2, 2), grid="east", **off)
    case(world, "petition", at(2023, 2, 1), grid=None, **off)
    report = trends.year_over_year(subdistrict=world["subdistrict"], period=year_param("2024"))
    assert report.grid_version == 2
    grids = {g.code: (g.name, g.value.this, g.value.last, g.value.text) for g in report.grids}
    assert grids == {"YY-G1": ("北网格", 2, 1, "+100.0%"), "YY-G3": ("南网格", 1, 0, grids["YY-G3"][3])}
    assert report.grids[1].value.new
    assert (report.unplaced.this, report.unplaced.last) == (1, 1)
    assert sum(g.value.this for g in report.grids) + report.unplaced.this == report.total.ytd.this == 4
    assert sum(g.value.last for g in report.grids) + report.unplaced.last == report.total.ytd.last == 2


# --- satisfaction --------------------------------------------------------------------------------------

def callback(incident, when, state, satisfaction=""):
    return CallbackTask.objects.create(incident=incident, state=state, satisfaction=satisfaction,
                                       created_at=when - timedelta(hours=2),
                                       done_at=None if state == CallbackTask.State.OPEN else when)


def arrived(incident, member, when):
    DispatchOrder.objects.create(incident=incident, member=member, method=DispatchOrder.Method.APP,
                                 state=DispatchOrder.State.ARRIVED, dispatched_at=when,
                                 arrived_at=when + timedelta(minutes=10))


def plant_callbacks(world):
    """Units: the grid squad (its member arrives on X1, X3 and Y1), the police station (X2's
    transfer, accepted, wins over the member's arrival; X3's transfer was returned: not its unit).
    May 2024: X1 satisfied ×2, basically, dissatisfied, unreachable; X2 satisfied ×2 → 5 of 6 (83.3 %)
    June 2024: X3 dissatisfied, X4 (no unit) satisfied → 1 of 2 (50 %); an open call-back: not counted
    May 2023: Y1 satisfied, dissatisfied → 1 of 2 (50 %)
    2024: 6 of 8 (75 %) against 2023's 50 % (+25 points). By unit: grid squad 3 of 5 (60 %, last year
    50 %), police station 2 of 2, no unit 1 of 1."""
    S_, B, D = (CallbackTask.Satisfaction.SATISFIED, CallbackTask.Satisfaction.BASICALLY_SATISFIED,
                CallbackTask.Satisfaction.DISSATISFIED)
    done, unreachable = CallbackTask.State.DONE, CallbackTask.State.UNREACHABLE
    member, squad = world["member"], world["unit"]
    police = Unit.objects.create(subdistrict=world["subdistrict"], code="YY-P", name="测试派出所",
                                 kind=Unit.Kind.POLICE_STATION)
    x1, x2, x3, x4 = (case(world, "petition", at(2024, 5, d)) for d in (1, 2, 3, 4))
    y1 = case(world, "petition", at(2023, 5, 1))
    for incident in (x1, x2, x3, y1):
        arrived(incident, member, incident.reported_at)
    Handover.objects.create(incident=x2, unit=police, kind=Handover.Kind.TRANSFER, state=Handover.State.ACCEPTED,
                            reason="移交", created_at=at(2024, 5, 2, 12))
    Handover.objects.create(incident=x3, unit=police, kind=Handover.Kind.TRANSFER, state=Handover.State.RETURNED,
                            reason="移交", return_reason="不属职责", created_at=at(2024, 5, 3, 12))
    for satisfaction in (S_, S_, B, D):
        callback(x1, at(2024, 5, 20), done, satisfaction)
    callback(x1, at(2024, 5, 21), unreachable)
    callback(x2, at(2024, 5, 22), done, S_)
    callback(x2, at(2024, 5, 31, 23, 50), done, S_)  # still May, local time
    callback(x3, at(2024, 6, 1, 0, 5), done, D)  # June, local time
    callback(x4, at(2024, 6, 2), done, S_)
    callback(x4, at(2024, 6, 3), CallbackTask.State.OPEN)
    callback(y1, at(2023, 5, 20), done, S_)
    callback(y1, at(2023, 5, 21), done, D)
    return {"squad": squad, "police": police}


def test_satisfaction_rate_by_month_and_by_unit(world, monkeypatch):
    units = plant_callbacks(world)
    monkeypatch.setattr(trends, "SATISFACTION_MIN_CALLBACKS", 1)
    report = trends.year_over_year(subdistrict=world["subdistrict"], period=year_param("2024"))
    may, june = report.satisfaction_months[4], report.satisfaction_months[5]
    assert (may.value.done, may.value.satisfied, may.value.basically, may.value.dissatisfied,
            may.value.unreachable) == (6, 4, 1, 1, 1)
    assert round(may.value.rate, 4) == 0.8333 and may.value.last_rate == 0.5 and may.value.grade == "fair"
    assert round(may.value.change_pp, 2) == 33.33 and may.last.done == 2
    assert (june.value.done, june.value.rate, june.value.last_rate, june.value.grade) == (2, 0.5, None, "poor")
    assert report.satisfaction_months[0].value.rate is None and report.satisfaction_months[0].value.grade == ""
    total = report.satisfaction_total
    assert (total.done, total.unreachable, total.rate, total.last_rate, total.change_pp) == (8, 1, 0.75, 0.5, 25.0)
    by_unit = {u.unit_id: (u.value.done, u.value.rate, u.value.last_rate, u.value.grade)
               for u in report.satisfaction_units}
    assert by_unit == {units["squad"].pk: (5, 0.6, 0.5, "poor"), units["police"].pk: (2, 1.0, None, "good"),
                       None: (1, 1.0, None, "good")}
    assert report.satisfaction_units[0].unit_id == units["squad"].pk  # lowest rate first
    assert report.satisfaction_units[0].name == "网格中队"


def test_units_with_few_call_backs_are_not_graded(world):
    plant_callbacks(world)
    report = trends.year_over_year(subdistrict=world["subdistrict"], period=year_param("2024"))
    assert report.graded_units == [] and len(report.small_units) == 3
    assert all(u.value.grade == "" for u in report.small_units)
    assert [u.value.done for u in report.small_units] == [5, 2, 1]  # the most call-backs first


# --- API, page, Excel ----------------------------------------------------------------------------------

API = "/api/v1/reports/trends/"
PAGE = "/reports/trends/"


def test_api_answers_the_planted_numbers(client, world):
    plant_two_years(world)
    client.force_login(make_user("u-leader", UserRole.LEADER))
    data = client.get(API, {"subdistrict": "YY", "year": "2024"}).json()
    assert data["year"] == "2024" and data["subdistrict"] == "YY"
    groups = {g["code"]: g for g in data["groups"]}
    assert groups["petition"]["ytd"] == {"this": 8, "last": 6, "change": pytest.approx(1 / 3), "new": False,
                                         "within": False, "grade": "poor"}
    assert groups["fire"]["months"][5]["value"]["grade"] == "fair"
    assert [m["value"]["this"] for m in groups["total"]["months"]] == [2, 0, 7, 1, 0, 11, 0, 0, 0, 0, 0, 1]
    assert [m["value"]["last"] for m in groups["total"]["months"]] == [2, 0, 4, 0, 0, 10, 0, 0, 0, 0, 0, 3]
    assert data["grid_version"] == 1 and {g["code"] for g in data["grids"]} == {"YY-G1", "YY-G2"}
    assert sum(g["value"]["this"] for g in data["grids"]) == 22


@pytest.mark.parametrize("year, message", [("24", "YYYY"), ("2101", "YYYY"), ("2099", "not begun")])
def test_a_bad_year_is_400(client, world, year, message):
    client.force_login(make_user("u-cr", UserRole.COMMAND_ROOM))
    response = client.get(API, {"subdistrict": "YY", "year": year}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and message in response.json()["detail"]
    page = client.get(PAGE, {"subdistrict": "YY", "year": year}, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 400 and 'data-testid="period-error"' in page.text
    assert client.get(reverse("reports_page:trends-excel"), {"subdistrict": "YY", "year": year}).status_code == 400


@pytest.mark.parametrize("role", [UserRole.CALL_TAKER, UserRole.PLANNER, UserRole.RESPONDER, UserRole.DEPARTMENT])
def test_other_roles_are_refused(client, world, role):
    client.force_login(make_user("u-" + role, role))
    assert client.get(API, {"subdistrict": "YY"}).status_code == 403
    assert client.get(PAGE, {"subdistrict": "YY"}).status_code == 403
    assert client.get(reverse("reports_page:trends-excel"), {"subdistrict": "YY"}).status_code == 403


def test_unknown_subdistrict_is_404(client, world):
    client.force_login(make_user("u-cr", UserRole.COMMAND_ROOM))
    assert client.get(API, {"subdistrict": "NOPE"}).status_code == 404
    assert client.get(PAGE, {"subdistrict": "NOPE"}).status_code == 404


def test_page_shows_the_numbers_and_hands_them_to_the_charts(client, world):
    plant_two_years(world)
    plant_callbacks(world)
    client.force_login(make_user("u-cr", UserRole.COMMAND_ROOM))
    response = client.get(PAGE, {"subdistrict": "YY", "year": "2024"})
    assert response.status_code == 200
    text = response.text
    assert 'data-testid="reports-nav-trends"' in text and 'aria-current="page"' in text
    # The two years' cases and the call-backs' five cases (four in May 2024, one in May 2023).
    assert '<td class="num" data-testid="group-petition-this">12</td>' in text
    assert '<td class="num" data-testid="group-petition-last">7</td>' in text
    assert '<td class="num" data-testid="group-total-change">+30.0%</td>' in text
    assert 'class="rp-grade-fair" data-testid="group-fire"' in text
    assert 'data-testid="month-2024-03"' in text and 'data-testid="grid-YY-G1"' in text
    assert 'data-testid="satisfaction-2024-05"' in text and "83.3%" in text
    assert "gridlink/reports/trends.js" in text and 'id="trends-config"' in text
    assert 'href="/reports/trends/excel/?subdistrict=YY&amp;year=2024"' in text
    assert 'data-testid="year-previous"' in text


def test_excel_opens_and_holds_the_page_numbers(client, world):
    plant_two_years(world)
    plant_callbacks(world)
    client.force_login(make_user("u-cr", UserRole.COMMAND_ROOM))
    api = client.get(API, {"subdistrict": "YY", "year": "2024"}).json()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the page's language, as the user chose it
    response = client.get(reverse("reports_page:trends-excel"), {"subdistrict": "YY", "year": "2024"})
    assert response.status_code == 200
    assert "year-over-year-2024.xlsx" in response["Content-Disposition"]
    book = load_workbook(BytesIO(response.content))
    assert book.sheetnames == ["By group", "By month", "By grid", "Satisfaction by month", "Satisfaction by unit"]
    groups = book["By group"]
    assert "2024" in groups["A1"].value
    assert [c.value for c in groups[2]] == ["Statistic group", "This year", "Last year", "Change", "Note",
                                            "Within the zero-growth target"]
    rows = [r[1:] for r in groups.iter_rows(min_row=3, values_only=True)]
    assert len(rows) == len(api["groups"]) == 7
    for group, row in zip(api["groups"], rows, strict=True):  # the same order: the groups, then all
        this, last, change, _note, _within = row
        assert (this, last) == (group["ytd"]["this"], group["ytd"]["last"])
        assert change == (pytest.approx(group["ytd"]["change"]) if group["ytd"]["change"] is not None else None)
    assert groups["D3"].number_format == "0.0%"
    months = list(book["By month"].iter_rows(min_row=3, values_only=True))
    assert len(months) == 12 * 7
    with translation.override("en"):
        names = trends.group_names()
    assert ("2024-03", names["petition"], 5, 4, 0.25, None, "no") in months
    grids = {r[0]: r[3:5] for r in book["By grid"].iter_rows(min_row=3, values_only=True)}
    assert grids["YY-G1"] == (api["grids"][0]["value"]["this"], api["grids"][0]["value"]["last"])
    sat = {r[0]: r for r in book["Satisfaction by month"].iter_rows(min_row=3, values_only=True)}
    assert sat["2024-05"][1:6] == (6, 4, 1, 1, 1) and sat["2024-05"][6] == pytest.approx(5 / 6)
    assert sat["Year to date"][6] == 0.75 and sat["Year to date"][8] == 25.0
    units = {r[0]: r[1] for r in book["Satisfaction by unit"].iter_rows(min_row=3, values_only=True)}
    assert units["网格中队"] == 5 and units["测试派出所"] == 2


def test_excel_headers_are_in_the_pages_language_chinese_by_default(client, world):
    client.force_login(make_user("u-cr", UserRole.COMMAND_ROOM))
    response = client.get(reverse("reports_page:trends-excel"), {"subdistrict": "YY", "year": "2024"})
    book = load_workbook(BytesIO(response.content))
    with translation.override("zh-hans"):
        expected = [translation.gettext(h) for h in ("Statistic group", "This year", "Last year", "Change")]
        title = translation.gettext("By group")
    assert [c.value for c in book[title][2]][:4] == expected
