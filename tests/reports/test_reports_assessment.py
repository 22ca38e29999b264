"""The year-end assessment (reports/assessment.py), its API, page and Excel file, on a hand-made
world (the ranking's, tests/reports/test_reports_ranking.py): every expected number is written here.

Rules under test (README "Monthly ranking, compliance and year-end assessment"): the orders of the
year counted as the monthly ranking counts them (on-site score: 40/30/30); the hand-overs created in
the year (off-site score: 30 % accepted in time, 40 % completed, 30 % completed on time; returned ones
out of the rates; an indicator without a denominator drops out); the score is the two weighted by
their numbers; cases, satisfaction and red flags beside."""

from datetime import date, datetime, timedelta
from io import BytesIO

import pytest
from django.conf import settings
from django.utils import timezone
from openpyxl import load_workbook
from rest_framework.test import APIClient

from config.roles import UserRole
from dispatch.models import DispatchOrder
from incidents.models import CallbackTask, Flow, Handover, Incident, Status
from reports import assessment
from reports.models import RankingPublication
from reports.periods import year_param
from tests.factories import SHANGHAI, make_user
from tests.ranking_world import WEST, make_ranking_world, order

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return make_ranking_world()

API = "/api/v1/reports/assessment/"
PAGE = "/reports/assessment/"
EXCEL = "/reports/assessment/excel/"


def at(month, day, hour=10, minute=0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=SHANGHAI)


def case(world, when, *, community=None, **fields) -> Incident:
    n = Incident.objects.count() + 1
    return Incident.objects.create(
        subdistrict=world["subdistrict"], number=f"AS{n:05d}", channel=world["channel"],
        category=world["category"], status=fields.pop("status", Status.IN_PROGRESS), flow=Flow.OFF_SITE,
        description="测试", location=WEST, grid=world["grids"][0], community=community or world["community"],
        reported_at=when, **fields)


def handover(world, unit, when, *, state, decided=None, completed=None, accept_in=30, report_in=48 * 60,
             community=None) -> Handover:
    """A hand-over to `unit` at `when`: decided `decided` minutes later, completed `completed`
    minutes later; acceptance and result deadlines `accept_in` and `report_in` minutes (None: none)."""
    incident = case(world, when, community=community)
    return Handover.objects.create(
        incident=incident, unit=unit, kind=Handover.Kind.ASSIGNMENT, state=state, reason="交办",
        created_at=when, accept_by=when + timedelta(minutes=accept_in) if accept_in is not None else None,
        deadline=when + timedelta(minutes=report_in) if report_in is not None else None,
        decided_at=when + timedelta(minutes=decided) if decided is not None else None,
        completed_at=when + timedelta(minutes=completed) if completed is not None else None,
        result="已办结" if state == Handover.State.COMPLETED else "",
        return_reason="非本单位职责" if state == Handover.State.RETURNED else "")


def callback(incident, when, *, state=CallbackTask.State.DONE, satisfaction=""):
    return CallbackTask.objects.create(incident=incident, phone="13900000000", state=state,
                                       satisfaction=satisfaction, created_at=when,
                                       done_at=when if state != CallbackTask.State.OPEN else None)


def plant(world):
    """2025, counted by hand:

    Departments
      测试派出所: orders — 3 arrived in time and resolved, 1 declined: 75 % each → 75.0; one
        hand-over accepted in time and completed, without a result deadline: acceptance 100 %,
        completion 100 %, on time — (drops out) → 100.0; score (75.0 × 4 + 100.0 × 1) / 5 = 80.0.
        Call-backs on its cases (no hand-over: the first to arrive was its officer): satisfied,
        dissatisfied, and one unreachable (not in the rate) → 50 %.
      网格中队: one order arrived 10 minutes late, resolved: 100 %, 0 %, 100 % → 70.0.
      平安办: no order; hand-overs — decided in 10 min, completed in 24 h (both in time);
        decided in 60 min (late), completed in 72 h (late); decided in 20 min, not completed;
        returned (out of the rates) → acceptance 2/3, completion 2/3, on time 1/3 →
        100 × (0.3 × 0.6667 + 0.4 × 0.6667 + 0.3 × 0.3333) = 56.7. One call-back, basically
        satisfied (its case's unit: the office's hand-over) → 100 %. Cases handed over: 4.
      Ranks: 派出所 1, 网格中队 2, 平安办 3.
    Villages/communities
      测试社区: 甲's two orders in time, resolved (100.0); one hand-over to its unit still pending
        (0 % each, 0.0) → (100 × 2 + 0 × 1) / 3 = 66.7. Cases: 网格中队 1 + 甲 2 + office 4 +
        police hand-over 1 + its own 1 = 9 (a merged duplicate, a case outside the jurisdiction
        and a 2024 case left out). Red flags: March, April and May (two of its leaders: once).
      第二村: 丙's order without a deadline, arrived, resolved → 100.0. Cases: 派出所's 4 + 丙's 1
        = 5. Call-backs: the police's cases are here → 50 %.
      Ranks: 第二村 1, 测试社区 2."""
    m = world["m"]
    c2 = world["c2"]
    police_cases = [order(world, m["P"], at(3, d), arrive=10, community=c2).incident for d in (2, 3, 4)]
    order(world, m["P"], at(3, 5), state=DispatchOrder.State.DECLINED, community=c2)
    callback(police_cases[0], at(3, 10), satisfaction=CallbackTask.Satisfaction.SATISFIED)
    callback(police_cases[1], at(3, 10), satisfaction=CallbackTask.Satisfaction.DISSATISFIED)
    callback(police_cases[2], at(3, 10), state=CallbackTask.State.UNREACHABLE)
    callback(police_cases[2], at(3, 11), state=CallbackTask.State.OPEN)
    handover(world, world["police"], at(4, 1), state=Handover.State.COMPLETED, decided=5, completed=60, report_in=None)
    order(world, world["member"], at(5, 1), arrive=40)  # the grid squad's grid worker
    office = world["office"]
    first = handover(world, office, at(6, 1), state=Handover.State.COMPLETED, decided=10, completed=24 * 60)
    handover(world, office, at(6, 2), state=Handover.State.COMPLETED, decided=60, completed=72 * 60)
    handover(world, office, at(6, 3), state=Handover.State.ACCEPTED, decided=20)
    handover(world, office, at(6, 4), state=Handover.State.RETURNED, decided=5)
    callback(first.incident, at(7, 1), satisfaction=CallbackTask.Satisfaction.BASICALLY_SATISFIED)
    order(world, m["A"], at(8, 1), arrive=10)
    order(world, m["A"], at(8, 2), arrive=20)
    handover(world, world["u1"], at(8, 3), state=Handover.State.PENDING)
    order(world, m["C"], at(9, 1, 22), deadline=None, arrive=30, community=c2)
    # Left out of the counts.
    kept = Incident.objects.filter(community=world["community"]).first()
    case(world, at(9, 2), status=Status.MERGED, merged_into=kept)
    case(world, at(9, 3), outside_jurisdiction=True)
    case(world, datetime(2024, 12, 31, 23, 0, tzinfo=SHANGHAI))
    # Red flags: the published months of 2025 (December 2024 is another year's).
    c1 = world["community"].pk
    for month, holders in ((3, [c1]), (4, [c1]), (5, [c1, c1]), (6, [c2.pk])):
        RankingPublication.objects.create(subdistrict=world["subdistrict"], month=date(2025, month, 1),
                                          published_at=timezone.now(), formula="f",
                                          board={"red_flag": [{"community_id": h} for h in holders]})
    RankingPublication.objects.create(subdistrict=world["subdistrict"], month=date(2024, 12, 1),
                                      published_at=timezone.now(), formula="f", board={"red_flag": [{"community_id": c1}]})


def report(world) -> dict:
    return assessment.assessment_report(subdistrict=world["subdistrict"], period=year_param("2025")).as_dict()


def by_name(table: dict) -> dict[str, dict]:
    return {r["name"]: r for r in table["rows"]}


def test_departments_on_orders_and_hand_overs(world):
    plant(world)
    r = report(world)
    assert r["running"] is False
    d = by_name(r["departments"])
    assert [(row["name"], row["rank"]) for row in r["departments"]["rows"]] == [
        ("测试派出所", 1), ("网格中队", 2), ("平安办", 3)]
    police = d["测试派出所"]
    assert (police["dispatched"], police["arrival_rate"], police["timeliness_rate"], police["disposal_rate"],
            police["orders_score"]) == (4, 0.75, 0.75, 0.75, 75.0)
    assert (police["handovers"], police["acceptance_rate"], police["completion_rate"], police["on_time_rate"],
            police["handovers_score"], police["score"]) == (1, 1.0, 1.0, None, 100.0, 80.0)
    assert (police["callbacks"], police["satisfied"], police["satisfaction_rate"]) == (2, 1, 0.5)
    assert (d["网格中队"]["orders_score"], d["网格中队"]["handovers_score"], d["网格中队"]["score"]) == (70.0, None, 70.0)
    office = d["平安办"]
    assert (office["handovers"], office["returned"], office["accept_due"], office["accepted_in_time"],
            office["completed"], office["report_due"], office["completed_in_time"]) == (3, 1, 3, 2, 2, 3, 1)
    assert (office["acceptance_rate"], office["completion_rate"], office["on_time_rate"]) == (0.6667, 0.6667, 0.3333)
    assert (office["orders_score"], office["handovers_score"], office["score"]) == (None, 56.7, 56.7)
    assert (office["cases"], office["satisfaction_rate"]) == (4, 1.0)
    assert office["grades"]["score"] == "poor" and police["grades"]["score"] == "fair"
    assert r["departments"]["no_work"] == []


def test_villages_and_communities_with_cases_satisfaction_and_red_flags(world):
    plant(world)
    c = by_name(report(world)["communities"])
    c1, c2 = c["测试社区"], c["第二村"]
    assert (c2["rank"], c2["score"], c2["timeliness_rate"], c2["cases"], c2["satisfaction_rate"], c2["red_flags"]) == (
        1, 100.0, None, 5, 0.5, 1)
    assert (c1["rank"], c1["orders_score"], c1["handovers"], c1["handovers_score"], c1["score"]) == (
        2, 100.0, 1, 0.0, 66.7)
    assert (c1["cases"], c1["callbacks"], c1["satisfaction_rate"], c1["red_flags"]) == (9, 1, 1.0, 3)


def test_a_unit_without_linkage_work_is_listed_not_ranked(world):
    order(world, world["m"]["P"], at(3, 2), arrive=10)
    r = report(world)
    assert [row["name"] for row in r["departments"]["rows"]] == ["测试派出所"]
    assert {row["name"] for row in r["departments"]["no_work"]} == {"网格中队", "平安办"}
    assert {row["name"] for row in r["communities"]["no_work"]} == {"测试社区", "第二村"}


def test_the_api_the_page_and_the_excel_file_say_the_same(world):
    plant(world)
    client = APIClient()
    client.force_login(make_user("as-leader", UserRole.LEADER))
    data = client.get(API, {"subdistrict": "RK", "year": "2025"}).json()
    assert by_name(data["departments"])["平安办"]["score"] == 56.7
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(PAGE, {"subdistrict": "RK", "year": "2025"})
    assert page.status_code == 200
    police = world["police"].pk
    assert f'data-testid="departments-{police}-score">80.0<' in page.text
    assert f'data-testid="departments-{police}-rank">1<' in page.text
    book = load_workbook(BytesIO(client.get(EXCEL, {"subdistrict": "RK", "year": "2025"}).content))
    assert book.sheetnames == ["Departments", "Villages and communities"]
    sheet = book["Departments"]
    assert [c.value for c in sheet[2]][:4] == ["Rank", "Department", "Kind", "Score"]
    excel = {row[1]: row for row in sheet.iter_rows(min_row=3, values_only=True)}
    for row in data["departments"]["rows"]:
        got = excel[row["name"]]
        assert (got[0], got[3], got[4], got[5], got[9], got[11], got[14], got[15], got[17]) == (
            row["rank"], row["score"], row["dispatched"], row["arrival_rate"], row["handovers"],
            row["acceptance_rate"], row["handovers_score"], row["cases"], row["satisfaction_rate"])
    villages = {row[1]: row for row in book["Villages and communities"].iter_rows(min_row=3, values_only=True)}
    assert villages["测试社区"][18] == 3 and villages["第二村"][0] == 1


def test_the_current_year_is_provisional_and_a_bad_year_is_400(world):
    client = APIClient()
    client.force_login(make_user("as-cr", UserRole.COMMAND_ROOM))
    this_year = str(timezone.localdate().year)
    assert client.get(API, {"subdistrict": "RK", "year": this_year}).json()["running"] is True
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert 'data-testid="assessment-running"' in client.get(PAGE, {"subdistrict": "RK"}).text
    for year in ("25", "20x5", "１２３４", "1999"):
        response = client.get(API, {"subdistrict": "RK", "year": year}, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400 and "YYYY" in response.json()["detail"]
        page = client.get(PAGE, {"subdistrict": "RK", "year": year})
        assert page.status_code == 400 and 'data-testid="period-error"' in page.text
