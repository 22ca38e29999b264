"""The monthly ranking (reports/ranking.py), its publication, its API, page and Excel file, and the
compliance report, on a tiny hand-made world: every expected number is written here, counted by
hand from what `plant` creates.

Counting rules under test (README "Monthly ranking, compliance and year-end assessment"): an order
belongs to the local month of its dispatch; orders on a merged case and orders stood down before
they were due are left out; an order stood down after its deadline and a declined order count as
dispatched, not arrived; an order without a deadline counts in arrival and disposal only; disposed =
arrived and the case resolved; score = 100 × (0.4 arrival + 0.3 timeliness + 0.3 disposal), the
timeliness weight scaled away when no order had a deadline; ranks 1, 1, 3; the red flag to the
first, among ties the one with most orders."""

from io import BytesIO

import pytest
from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone, translation
from openpyxl import load_workbook
from rest_framework.test import APIClient

from config.errors import TransitionRefused
from config.roles import UserRole
from dispatch.models import DispatchOrder, MemberMessage
from incidents.models import Incident, Status
from reports import compliance, ranking
from reports.models import RankingPublication
from reports.periods import month_param, month_period
from reports.ranking_services import ranking_publish
from tests.factories import make_user, make_world
from tests.ranking_world import at, make_ranking_world, order

pytestmark = pytest.mark.django_db

API = "/api/v1/reports/ranking/"
PUBLISH = "/api/v1/reports/ranking/publish/"
PAGE = "/reports/ranking/"
EXCEL = "/reports/ranking/excel/"
COMPLIANCE_API = "/api/v1/reports/compliance/"
COMPLIANCE_PAGE = "/reports/compliance/"


@pytest.fixture
def world():
    return make_ranking_world()


def plant(world):
    """October 2026 (local time), counted by hand:

    A (C1, security director): 4 — in time ✓, in time ✓, 10 min late, no deadline; all arrived and
        resolved → dispatched 4, arrived 4, with a deadline 3, in time 2, disposed 4:
        100 %, 66.7 %, 100 % → 90.0
    B (C1): in time ✓; declined; stood down 10 min after dispatch (before its 30-minute deadline:
        left out); arrived in time on a case not resolved; declined on a case merged into another
        (left out) → 3, 2, 3, 2, 1: 66.7 %, 66.7 %, 33.3 % → 56.7
    C (C2): in time ✓; stood down 40 min after dispatch (after its deadline: counted, not arrived);
        in time ✓ → 3, 2, 3, 2, 2: 66.7 % each → 66.7
    D (C2): two orders without a deadline, arrived, resolved → 2, 2, 0, 0, 2: 100 %, —, 100 % → 100.0
        (timeliness drops out: (0.4 + 0.3) / 0.7)
    E (C2): three in time-or-late: 2 in time, 1 late, all resolved → 3, 3, 3, 2, 3 → 90.0
    F (C2, a security director by role): one order at 23:30 on 31 October, in time ✓ → 100.0; one
        at 00:10 on 1 November (November's)
    G: nothing in October. P (police station): in time ✓ and 20 min late, both resolved → 85.0.

    Ranks: D 1 (red flag: 2 orders against F's 1), F 1, A 3, E 3 (A first: 4 orders), C 5, B 6.
    All grid leaders: 16 dispatched, 14 arrived, 13 with a deadline, 9 in time, 13 disposed:
    87.5 %, 69.2 %, 81.3 % → 80.1.
    September: A one order in time ✓ (100.0, rank 1); C one declined (0.0, rank 2) — A's order at
    23:50 on 30 September is September's."""
    m = world["m"]
    oct_ = lambda day, hour=10, minute=0: at(10, day, hour, minute)  # noqa: E731
    # A
    order(world, m["A"], oct_(2), arrive=10)
    order(world, m["A"], oct_(3), arrive=30)  # on the deadline: in time
    order(world, m["A"], oct_(4), arrive=40)
    order(world, m["A"], oct_(5, 22), deadline=None, arrive=50)
    # B
    order(world, m["B"], oct_(2, 11), arrive=5)
    order(world, m["B"], oct_(6), state=DispatchOrder.State.DECLINED, resolved=False)
    order(world, m["B"], oct_(7), state=DispatchOrder.State.STOOD_DOWN, stood_down=10)
    world["b_unresolved"] = order(world, m["B"], oct_(8), arrive=20, resolved=False)
    kept = Incident.objects.get(number=world["b_unresolved"].incident.number)
    order(world, m["B"], oct_(9), state=DispatchOrder.State.DECLINED, resolved=False, status=Status.MERGED,
          merged_into=kept)
    # C
    order(world, m["C"], oct_(2, 12), arrive=15, grid="east")
    world["c_late_stand_down"] = order(world, m["C"], oct_(10), state=DispatchOrder.State.STOOD_DOWN, stood_down=40)
    order(world, m["C"], oct_(11), arrive=25)
    # D: no deadline
    order(world, m["D"], oct_(12, 22), deadline=None, arrive=20)
    order(world, m["D"], oct_(13, 23), deadline=None, arrive=35)
    # E
    order(world, m["E"], oct_(14), arrive=10)
    order(world, m["E"], oct_(15), arrive=12)
    order(world, m["E"], oct_(16), arrive=45)
    # F: the month's edges
    order(world, m["F"], oct_(31, 23, 30), arrive=10)
    order(world, m["F"], at(11, 1, 0, 10), state=DispatchOrder.State.DECLINED)
    # P
    order(world, m["P"], oct_(17), arrive=10)
    order(world, m["P"], oct_(18), arrive=50)
    # September
    order(world, m["A"], at(9, 30, 23, 50), arrive=10)
    order(world, m["C"], at(9, 12), state=DispatchOrder.State.DECLINED)


def board(world, month="2026-10") -> dict:
    return ranking.ranking_board(subdistrict=world["subdistrict"], period=month_param(month)).as_dict()


def rows(table: dict) -> dict[str, dict]:
    return {r["name"]: r for r in table["rows"]}


def numbers(row: dict) -> tuple:
    return (row["dispatched"], row["arrived"], row["due"], row["timely"], row["disposed"], row["arrival_rate"],
            row["timeliness_rate"], row["disposal_rate"], row["score"], row["rank"])


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- the rates and the ranking -----------------------------------------------------------------------

def test_each_rate_score_and_rank_of_the_grid_leaders(world):
    plant(world)
    b = board(world)
    leaders = rows(b["tables"]["leaders"])
    assert numbers(leaders["甲"]) == (4, 4, 3, 2, 4, 1.0, 0.6667, 1.0, 90.0, 3)
    assert numbers(leaders["乙"]) == (3, 2, 3, 2, 1, 0.6667, 0.6667, 0.3333, 56.7, 6)
    assert numbers(leaders["丙"]) == (3, 2, 3, 2, 2, 0.6667, 0.6667, 0.6667, 66.7, 5)
    assert numbers(leaders["丁"]) == (2, 2, 0, 0, 2, 1.0, None, 1.0, 100.0, 1)
    assert numbers(leaders["戊"]) == (3, 3, 3, 2, 3, 1.0, 0.6667, 1.0, 90.0, 3)
    assert numbers(leaders["己"]) == (1, 1, 1, 1, 1, 1.0, 1.0, 1.0, 100.0, 1)
    assert "警" not in leaders  # a police officer is no grid leader
    assert leaders["甲"]["security_director"] and not leaders["乙"]["security_director"]
    assert leaders["甲"]["community"] == "测试社区" and leaders["丙"]["community"] == "第二村"
    # The order of the table: by score, then by orders; equal scores share the rank (1, 1, 3).
    assert [r["name"] for r in b["tables"]["leaders"]["rows"]] == ["丁", "己", "甲", "戊", "丙", "乙"]
    assert [r["rank"] for r in b["tables"]["leaders"]["rows"]] == [1, 1, 3, 3, 5, 6]
    total = b["tables"]["leaders"]["total"]
    assert numbers(total)[:9] == (16, 14, 13, 9, 13, 0.875, 0.6923, 0.8125, 80.1)
    # Grades: good from 90 %, fair from 75 %, poor below; the score from 90 and 75.
    assert leaders["乙"]["grades"] == {"arrival": "poor", "timeliness": "poor", "disposal": "poor", "score": "poor"}
    assert leaders["甲"]["grades"] == {"arrival": "good", "timeliness": "poor", "disposal": "good", "score": "good"}
    assert leaders["丁"]["grades"]["timeliness"] == ""


def test_the_red_flag_goes_to_the_first_with_the_most_orders_and_the_lists_name_causes(world):
    plant(world)
    b = board(world)
    assert [r["name"] for r in b["red_flag"]] == ["丁"]  # 丁 and 己 both 100.0: 丁 had 2 orders, 己 1
    leaders = rows(b["tables"]["leaders"])
    assert leaders["丁"]["red_flag"] and not leaders["己"]["red_flag"]
    assert [r["name"] for r in b["red_list"]] == ["丁", "己", "甲", "戊", "丙"]
    assert [r["name"] for r in b["black_list"]] == ["乙"]
    cause = b["black_list"][0]["cause"]
    # 乙: arrival 66.7 % (all 87.5 %), timeliness 66.7 % (69.2 %), disposal 33.3 % (81.3 %): disposal
    # is the furthest below.
    assert (cause["indicator"], cause["rate"], cause["average"]) == ("disposal", 0.3333, 0.8125)
    assert [o["state"] for o in cause["not_arrived"]] == ["declined"]
    assert cause["late"] == []
    assert [o["number"] for o in cause["unresolved"]] == [world["b_unresolved"].incident.number]


def test_a_tie_for_the_flag_with_equal_orders_is_shared(world):
    m = world["m"]
    order(world, m["A"], at(10, 3), arrive=5)
    order(world, m["C"], at(10, 4), arrive=5)
    b = board(world)
    assert [r["rank"] for r in b["tables"]["leaders"]["rows"]] == [1, 1]
    assert sorted(r["name"] for r in b["red_flag"]) == ["丙", "甲"]


def test_a_leader_without_orders_is_listed_not_ranked(world):
    plant(world)
    b = board(world)
    idle = b["tables"]["leaders"]["no_orders"]
    assert [r["name"] for r in idle] == ["庚"]  # 辛 is inactive and had no order: not listed
    assert "庚" not in rows(b["tables"]["leaders"])
    # A month with no order at all: everybody listed, nobody ranked, no flag.
    empty = board(world, "2026-08")
    assert empty["tables"]["leaders"]["rows"] == [] and empty["red_flag"] == [] and empty["black_list"] == []
    assert {r["name"] for r in empty["tables"]["leaders"]["no_orders"]} == {"甲", "乙", "丙", "丁", "戊", "己", "庚"}


def test_stand_downs_declines_merged_cases_and_orders_without_a_deadline(world):
    m = world["m"]
    # Stood down before the deadline: left out entirely; after it: counted, not arrived, not in time.
    order(world, m["A"], at(10, 2), state=DispatchOrder.State.STOOD_DOWN, stood_down=29)
    order(world, m["A"], at(10, 3), state=DispatchOrder.State.STOOD_DOWN, stood_down=31)
    # Stood down without a deadline: left out.
    order(world, m["A"], at(10, 4, 22), deadline=None, state=DispatchOrder.State.STOOD_DOWN, stood_down=60)
    # Declined: counted, not arrived.
    order(world, m["A"], at(10, 5), state=DispatchOrder.State.DECLINED)
    # On a merged case: left out, whatever its state.
    kept = order(world, m["B"], at(10, 6), arrive=5).incident
    order(world, m["A"], at(10, 6), state=DispatchOrder.State.DECLINED, status=Status.MERGED, merged_into=kept,
          resolved=False)
    # Without a deadline, arrived and resolved: arrival and disposal only.
    order(world, m["A"], at(10, 7, 22), deadline=None, arrive=90)
    # Still on the way when computed: counted, not arrived (yet).
    order(world, m["A"], at(10, 8), state=DispatchOrder.State.ACCEPTED)
    a = rows(board(world)["tables"]["leaders"])["甲"]
    # counted: stood down late, declined, no deadline arrived, on the way → 4; arrived 1; with a
    # deadline 3 (the no-deadline one is not); in time 0; disposed 1.
    assert numbers(a)[:8] == (4, 1, 3, 0, 1, 0.25, 0.0, 0.25)
    assert a["score"] == 17.5  # 100 × (0.4 × 0.25 + 0 + 0.3 × 0.25)


def test_the_same_by_village_department_and_unit(world):
    plant(world)
    b = board(world)
    communities = rows(b["tables"]["communities"])
    # 测试社区: 甲 + 乙 = 7, 6, 6, 4, 5 → 85.7 %, 66.7 %, 71.4 % → 75.7; 第二村: 丙丁戊己 = 9, 8, 7, 5, 8 → 83.7.
    assert numbers(communities["测试社区"]) == (7, 6, 6, 4, 5, 0.8571, 0.6667, 0.7143, 75.7, 2)
    assert numbers(communities["第二村"]) == (9, 8, 7, 5, 8, 0.8889, 0.7143, 0.8889, 83.7, 1)
    departments = rows(b["tables"]["departments"])
    assert list(departments) == ["测试派出所"]  # community units are no departments
    assert numbers(departments["测试派出所"]) == (2, 2, 2, 1, 2, 1.0, 0.5, 1.0, 85.0, 1)
    assert {r["name"] for r in b["tables"]["departments"]["no_orders"]} == {"平安办", "网格中队"}
    units = rows(b["tables"]["units"])
    assert [(name, r["rank"]) for name, r in units.items()] == [("测试派出所", 1), ("第二村网格", 2), ("测试社区网格", 3)]
    assert b["tables"]["units"]["total"]["dispatched"] == 18


def test_change_against_the_month_before(world):
    plant(world)
    leaders = rows(board(world)["tables"]["leaders"])
    # September computed now: 甲 100.0 rank 1, 丙 0.0 rank 2.
    assert (leaders["甲"]["previous_rank"], leaders["甲"]["rank_change"], leaders["甲"]["score_change"]) == (1, -2, -10.0)
    assert (leaders["丙"]["previous_rank"], leaders["丙"]["rank_change"], leaders["丙"]["score_change"]) == (2, -3, 66.7)
    assert leaders["丁"]["previous_rank"] is None and leaders["丁"]["rank_change"] is None
    b = board(world)
    assert b["previous_month"] == "2026-09" and b["previous_source"] == "computed"


# --- publishing ----------------------------------------------------------------------------------------

def test_a_published_ranking_stays_as_published(world):
    plant(world)
    leader = make_user("rk-leader", UserRole.LEADER)
    response = api(leader).post(PUBLISH + "?subdistrict=RK", {"month": "2026-10"}, format="json",
                                HTTP_IDEMPOTENCY_KEY="publish-1")
    assert response.status_code == 201, response.content
    published = response.json()["board"]
    assert rows(published["tables"]["leaders"])["乙"]["score"] == 56.7
    publication = RankingPublication.objects.get(subdistrict=world["subdistrict"])
    assert publication.published_by == leader and len(publication.outcomes) == 18

    # New data: 乙's unresolved case is resolved, and a late order of 乙 in October is recorded.
    Incident.objects.filter(pk=world["b_unresolved"].incident_id).update(
        status=Status.RESOLVED, resolved_at=at(10, 8, 12))
    order(world, world["m"]["B"], at(10, 20), arrive=5)
    assert rows(board(world)["tables"]["leaders"])["乙"]["score"] != 56.7  # live numbers moved

    shown = api(leader).get(API, {"subdistrict": "RK", "month": "2026-10"}).json()
    assert shown["published"] is True and shown["published_by"] == "rk-leader"
    assert shown["changed_since_publication"] == 2
    assert rows(shown["board"]["tables"]["leaders"])["乙"]["score"] == 56.7
    assert shown["board"] == published

    client = APIClient()
    client.force_login(leader)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the page's language, as the user chose it
    page = client.get(PAGE, {"subdistrict": "RK", "month": "2026-10"})
    assert page.status_code == 200
    assert 'data-published="true"' in page.text and "2 orders changed since publication; not counted." in page.text
    assert 'data-testid="publish"' not in page.text
    # The month after compares with the publication.
    after = ranking.ranking_board(subdistrict=world["subdistrict"], period=month_param("2026-11")).as_dict()
    assert after["previous_source"] == "published"
    assert rows(after["tables"]["leaders"])["己"]["previous_rank"] == 1

    # Once only: 409 with the reason.
    with translation.override("en"):
        again = api(leader).post(PUBLISH + "?subdistrict=RK", {"month": "2026-10"}, format="json",
                                 HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 409
    assert "was published on" in again.json()["detail"] and again.json()["code"] == "published"

    # The database refuses to change or delete it.
    for change in (lambda: RankingPublication.objects.filter(pk=publication.pk).update(formula="x"),
                   lambda: RankingPublication.objects.filter(pk=publication.pk).delete()):
        with pytest.raises(DatabaseError), transaction.atomic():
            change()
    assert RankingPublication.objects.get(pk=publication.pk).board == publication.board


def test_publishing_tells_every_ranked_leader_their_rank_once(world):
    plant(world)
    period = month_param("2026-10")
    with translation.override("en"):
        expected = ranking.ranking_board(subdistrict=world["subdistrict"], period=period)
        ranking_publish(subdistrict=world["subdistrict"], period=period, actor=make_user("rk-cr", UserRole.COMMAND_ROOM))
    ranked = [r for r in expected.leaders.rows if r.rank is not None]
    messages = {m.member_id: m for m in MemberMessage.objects.filter(kind=MemberMessage.Kind.RANKING)}
    assert set(messages) == {r.id for r in ranked}, "every ranked leader, and nobody else"
    assert not {r.id for r in expected.leaders.no_orders} & set(messages), "a leader without orders is not told"
    for row in ranked:
        message = messages[row.id]
        assert message.title == f"Ranking 2026-10: No. {row.rank} of {len(ranked)}, score {row.score}"
        assert message.subdistrict_id == world["subdistrict"].pk and message.incident_id is None
    (flag,) = expected.red_flag
    assert "You hold the rotating red flag this month." in messages[flag.id].body
    assert expected.black_list, "the planted month has laggards"
    for row, cause in expected.black_list:
        body = messages[row.id].body
        assert body.startswith(f"Orders {row.dispatched};") and "On the black list: " in body
        for failed in cause["not_arrived"] + cause["late"] + cause["unresolved"]:
            assert failed["number"] in body, "the cause names its cases"
    assert "red flag" not in messages[expected.black_list[0][0].id].body

    # Published once, told once.
    with pytest.raises(TransitionRefused):
        ranking_publish(subdistrict=world["subdistrict"], period=period, actor=make_user("rk-cr2", UserRole.COMMAND_ROOM))
    assert MemberMessage.objects.filter(kind=MemberMessage.Kind.RANKING).count() == len(ranked)


def test_a_month_not_ended_cannot_be_published(world):
    now = timezone.localdate()
    current = month_period(now)
    with translation.override("en"):
        response = api(make_user("rk-cr", UserRole.COMMAND_ROOM)).post(
            PUBLISH + "?subdistrict=RK", {"month": current.key}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "has not ended" in response.json()["detail"]
    assert not RankingPublication.objects.exists()
    shown = ranking.ranking_shown(subdistrict=world["subdistrict"], period=current)
    assert shown.publishable is False and shown.published is False


def test_two_publications_at_once_keep_one(world):
    plant(world)
    user = make_user("rk-cr", UserRole.COMMAND_ROOM)
    period = month_param("2026-10")
    ranking_publish(subdistrict=world["subdistrict"], period=period, actor=user)
    with pytest.raises(TransitionRefused):
        ranking_publish(subdistrict=world["subdistrict"], period=period, actor=user)
    assert RankingPublication.objects.count() == 1


# --- the page, the API, Excel, roles and bad input --------------------------------------------------------

def test_the_page_shows_the_board_with_the_publish_button_for_governance(world):
    plant(world)
    client = APIClient()
    client.force_login(make_user("rk-cr", UserRole.COMMAND_ROOM))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(PAGE, {"subdistrict": "RK", "month": "2026-10"})
    assert page.status_code == 200
    text = page.text
    a = world["m"]["A"].pk
    assert f'data-testid="leaders-{a}-score">90.0<' in text
    assert f'data-testid="leaders-{a}-timeliness">66.7%<' in text
    assert f'data-testid="red-flag-{world["m"]["D"].pk}"' in text
    assert f'data-testid="cause-{world["m"]["B"].pk}-indicator" data-indicator="disposal"' in text
    assert 'data-testid="leaders-no-orders"' in text and "庚" in text
    assert 'data-testid="publish"' in text and 'id="ranking-publish-config"' in text
    assert "Score = 100 × (40 % × arrival rate + 30 % × timeliness rate + 30 % × disposal rate)" in text
    assert 'data-testid="section-definitions"' in text
    # A dispatcher reads it, without the button.
    client.force_login(make_user("rk-disp", UserRole.DISPATCHER))
    page = client.get(PAGE, {"subdistrict": "RK", "month": "2026-10"})
    assert page.status_code == 200 and 'data-testid="publish"' not in page.text


def test_the_excel_file_holds_the_numbers_of_the_page(world):
    plant(world)
    client = APIClient()
    client.force_login(make_user("rk-cr", UserRole.COMMAND_ROOM))
    shown = client.get(API, {"subdistrict": "RK", "month": "2026-10"}).json()
    # In English here (the headers follow the page's language; Chinese by default).
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(EXCEL, {"subdistrict": "RK", "month": "2026-10"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    book = load_workbook(BytesIO(response.content))
    assert book.sheetnames == ["Grid leaders", "Red and black list", "Villages and communities", "Departments",
                               "Units", "Definitions"]
    sheet = book["Grid leaders"]
    header = [c.value for c in sheet[2]]
    assert header[:6] == ["Rank", "Red flag", "Name", "Staff number", "Village/community", "Unit"]
    excel_rows = {r[2]: r for r in sheet.iter_rows(min_row=3, values_only=True)}
    for row in shown["board"]["tables"]["leaders"]["rows"]:
        got = excel_rows[row["name"]]
        assert (got[0], got[6], got[7], got[8], got[9], got[10]) == (
            row["rank"], row["dispatched"], row["arrived"], row["due"], row["timely"], row["disposed"])
        assert (got[11], got[12], got[13], got[14]) == (
            row["arrival_rate"], row["timeliness_rate"], row["disposal_rate"], row["score"])
    assert excel_rows["丁"][1] == "★" and excel_rows["庚"][6] == 0
    assert sheet.cell(row=3, column=12).number_format == "0.0%"
    black = [r for r in book["Red and black list"].iter_rows(min_row=3, values_only=True) if r[0] == "Black list"]
    assert [r[2] for r in black] == ["乙"] and world["b_unresolved"].incident.number in black[0][8]
    communities = {r[1]: r for r in book["Villages and communities"].iter_rows(min_row=3, values_only=True)}
    assert communities["第二村"][0] == 1 and communities["第二村"][11] == 83.7
    # Chinese by default: the page's language.
    chinese = APIClient()
    chinese.force_login(make_user("rk-cr2", UserRole.COMMAND_ROOM))
    book = load_workbook(BytesIO(chinese.get(EXCEL, {"subdistrict": "RK", "month": "2026-10"}).content))
    with translation.override("zh-hans"):
        title, headers = translation.gettext("Grid leaders"), [translation.gettext(h) for h in ("Rank", "Name")]
    assert [book[title].cell(row=2, column=1).value, book[title].cell(row=2, column=3).value] == headers


@pytest.mark.parametrize("role", [UserRole.CALL_TAKER, UserRole.RESPONDER, UserRole.PLANNER, UserRole.DEPARTMENT])
def test_other_roles_are_refused(world, role):
    user = make_user("rk-" + role, role)
    client = APIClient()
    client.force_login(user)
    for url in (API, COMPLIANCE_API, "/api/v1/reports/assessment/", PAGE, EXCEL, COMPLIANCE_PAGE,
                "/reports/compliance/excel/", "/reports/assessment/", "/reports/assessment/excel/"):
        assert client.get(url, {"subdistrict": "RK"}).status_code == 403, url
    assert api(user).post(PUBLISH + "?subdistrict=RK", {"month": "2026-10"}, format="json").status_code == 403


def test_a_dispatcher_reads_but_may_not_publish(world):
    user = make_user("rk-disp", UserRole.DISPATCHER)
    assert api(user).get(API, {"subdistrict": "RK", "month": "2026-10"}).status_code == 200
    assert api(user).post(PUBLISH + "?subdistrict=RK", {"month": "2026-10"}, format="json").status_code == 403
    assert not RankingPublication.objects.exists()


def test_unknown_subdistrict_and_another_subdistricts_unit_are_404(world):
    other = make_world("RZ")
    user = make_user("rk-cr", UserRole.COMMAND_ROOM)
    client = APIClient()
    client.force_login(user)
    for url in (API, COMPLIANCE_API, "/api/v1/reports/assessment/", PAGE, COMPLIANCE_PAGE, "/reports/assessment/"):
        assert client.get(url, {"subdistrict": "NOPE"}).status_code == 404, url
    assert client.post(PUBLISH + "?subdistrict=NOPE", {"month": "2026-10"}, format="json").status_code == 404
    foreign = other["unit"].pk
    assert client.get(COMPLIANCE_API, {"subdistrict": "RK", "unit": foreign}).status_code == 404
    assert client.get(COMPLIANCE_PAGE, {"subdistrict": "RK", "unit": foreign}).status_code == 404


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "26-10", "2026-１０", "abc", "1999-12"])
def test_a_bad_month_is_400_with_a_message(world, month):
    client = APIClient()
    client.force_login(make_user("rk-cr", UserRole.COMMAND_ROOM))
    response = client.get(API, {"subdistrict": "RK", "month": month}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "YYYY-MM" in response.json()["detail"]
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(PAGE, {"subdistrict": "RK", "month": month})
    assert page.status_code == 400 and 'data-testid="period-error"' in page.text and "YYYY-MM" in page.text
    published = client.post(PUBLISH + "?subdistrict=RK", {"month": month}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert published.status_code == 400 and not RankingPublication.objects.exists()
    assert client.get(COMPLIANCE_API, {"subdistrict": "RK", "month": month}).status_code == 400
    assert client.get(COMPLIANCE_API, {"subdistrict": "RK", "unit": "x1"}).status_code == 400


# --- compliance ---------------------------------------------------------------------------------------------

def test_compliance_per_person_and_per_grid_with_the_orders_behind_the_flags(world):
    m = world["m"]
    verified = order(world, m["A"], at(10, 2), arrive=10, distance=45.0)
    far = order(world, m["A"], at(10, 3), arrive=20, distance=812.4, flagged=True, grid="east")
    late = order(world, m["A"], at(10, 4), arrive=42)  # no position, 12 min late
    order(world, m["A"], at(10, 5), state=DispatchOrder.State.DECLINED)
    order(world, m["P"], at(10, 6), arrive=5, distance=10.0, grid="east")
    order(world, m["P"], at(10, 7), state=DispatchOrder.State.STOOD_DOWN, stood_down=5)  # left out
    report = compliance.compliance_report(subdistrict=world["subdistrict"], period=month_param("2026-10")).as_dict()
    people = {r["name"]: r for r in report["members"]}
    a = people["甲"]
    assert (a["dispatched"], a["arrived"], a["verified"], a["no_position"], a["flagged"], a["late"]) == (4, 3, 1, 1, 1, 1)
    assert (a["verified_rate"], a["on_time_rate"]) == (0.3333, 0.6667)
    assert a["flagged_orders"][0]["number"] == far.incident.number and a["flagged_orders"][0]["distance_m"] == 812
    assert a["late_orders"] == [{"number": late.incident.number, "minutes": 12}]
    assert [r["name"] for r in report["members"]] == ["甲", "警"]  # flags first
    grids = {r["code"]: r for r in report["grids"]}
    west, east = grids["RK-G1"], grids["RK-G2"]
    assert (west["dispatched"], west["arrived"], west["verified"], west["late"]) == (3, 2, 1, 1)
    assert (east["dispatched"], east["arrived"], east["verified"], east["flagged"]) == (2, 2, 1, 1)
    assert report["total"]["dispatched"] == 5 and verified.incident.number not in str(report["grids"])

    # One unit only; the API and the page say the same.
    only = compliance.compliance_report(subdistrict=world["subdistrict"], period=month_param("2026-10"),
                                        unit=world["police"]).as_dict()
    assert [r["name"] for r in only["members"]] == ["警"] and only["total"]["dispatched"] == 1
    client = APIClient()
    client.force_login(make_user("rk-leader", UserRole.LEADER))
    got = client.get(COMPLIANCE_API, {"subdistrict": "RK", "month": "2026-10"}).json()
    assert {r["name"]: r["flagged"] for r in got["members"]} == {"甲": 1, "警": 0}
    page = client.get(COMPLIANCE_PAGE, {"subdistrict": "RK", "month": "2026-10"}).text
    assert f'data-testid="members-{m["A"].pk}-far"' in page and far.incident.number in page
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    excel = client.get("/reports/compliance/excel/", {"subdistrict": "RK", "month": "2026-10",
                                                      "unit": world["police"].pk})
    book = load_workbook(BytesIO(excel.content))
    sheet = book["Per person"]
    assert [r[0] for r in sheet.iter_rows(min_row=3, values_only=True)] == ["警", "Total"]
