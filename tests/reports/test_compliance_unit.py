"""The arrival compliance for a unit's office (reports.access.compliance_own_unit): a unit leader
(member role `unit_leader`) or a department login, linked to an active member, reads the compliance
of their own unit only — the API, the page and its Excel file, with the unit fixed; another unit or
sub-district is 404. The report roles keep every unit; a plain responder, a shift leader and a
department login without a member stay refused (403). The department queue (/dept/) and the
responders' app (/m/) link them to the page.

The world is tests/ranking_world.py's (RK): 测试社区网格 (u1: 甲, 乙, …), 第二村网格 (u2: 丙, 丁, …) and a
police station (警), each with orders in October 2026."""

from io import BytesIO

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework.test import APIClient

from config.roles import UserRole
from dispatch.models import Force, Role
from tests.factories import make_user, make_world
from tests.ranking_world import at, make_ranking_world, member, order

pytestmark = pytest.mark.django_db

API = "/api/v1/reports/compliance/"
PAGE = "/reports/compliance/"
EXCEL = "/reports/compliance/excel/"
OCTOBER = {"subdistrict": "RK", "month": "2026-10"}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world():
    """The ranking's world with orders in October for both villages' units and the police, and the
    logins: 队长 (unit leader of u1, a responder's login), 文书 (a department login of u2), 队员 (a plain
    responder of u1), 值班长 (a shift leader of u1), an inactive unit leader of u1, the command room."""
    world = make_ranking_world()
    m, u1, u2 = world["m"], world["u1"], world["u2"]
    order(world, m["A"], at(10, 2), arrive=10, distance=40.0)
    order(world, m["A"], at(10, 3), arrive=45)  # late, no position
    order(world, m["B"], at(10, 4), arrive=5, distance=900.0, flagged=True, grid="east")
    order(world, m["C"], at(10, 5), arrive=10, distance=30.0, grid="east")
    order(world, m["D"], at(10, 6), arrive=50)  # late
    order(world, m["P"], at(10, 7), arrive=5, distance=12.0)
    leader = member(world, "队长", u1, force=Force.GRID_WORKER, roles=[Role.UNIT_LEADER])
    clerk = member(world, "文书", u2, force=Force.OFFICE_STAFF)
    plain = member(world, "队员", u1, force=Force.GRID_WORKER)
    shift = member(world, "值班长", u1, force=Force.GRID_WORKER, roles=[Role.SHIFT_LEADER])
    gone = member(world, "老队长", u1, force=Force.GRID_WORKER, roles=[Role.UNIT_LEADER], active=False)
    world["users"] = {
        "leader": make_user("cu-leader", UserRole.RESPONDER, member=leader),
        "clerk": make_user("cu-clerk", UserRole.DEPARTMENT, member=clerk),
        "plain": make_user("cu-plain", UserRole.RESPONDER, member=plain),
        "shift": make_user("cu-shift", UserRole.RESPONDER, member=shift),
        "gone": make_user("cu-gone", UserRole.RESPONDER, member=gone),
        "unlinked_dept": make_user("cu-dept", UserRole.DEPARTMENT),
        "command": make_user("cu-cr", UserRole.COMMAND_ROOM),
    }
    return world


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def browser(user, language="en") -> Client:
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def people(report: dict) -> set[str]:
    return {r["name"] for r in report["members"]}


def test_a_unit_leader_reads_the_compliance_of_their_own_unit_only(world):
    client, u1 = api(world["users"]["leader"]), world["u1"]
    report = client.get(API, OCTOBER).json()
    assert report["unit"] == {"id": u1.pk, "name": u1.name}
    assert people(report) == {"甲", "乙"}  # u1's members with orders; none of u2's nor the police's
    total = report["total"]
    assert (total["dispatched"], total["arrived"], total["verified"], total["flagged"], total["late"]) == (3, 3, 1, 1, 1)
    assert {r["code"]: r["dispatched"] for r in report["grids"]} == {"RK-G1": 2, "RK-G2": 1}
    # Their own unit named, the sub-district named or not: the same.
    assert client.get(API, OCTOBER | {"unit": u1.pk}).json()["members"] == report["members"]
    assert client.get(API, {"month": "2026-10"}).json()["members"] == report["members"]


def test_a_department_login_reads_its_own_unit(world):
    report = api(world["users"]["clerk"]).get(API, OCTOBER).json()
    assert report["unit"]["id"] == world["u2"].pk and people(report) == {"丙", "丁"}
    assert report["total"]["dispatched"] == 2 and report["total"]["late"] == 1


def test_another_unit_or_sub_district_is_404_never_a_switch(world):
    other = make_world("RZ")
    client = api(world["users"]["leader"])
    for unit in (world["u2"], world["police"], world["office"], other["unit"]):
        assert client.get(API, OCTOBER | {"unit": unit.pk}).status_code == 404, unit.name
    assert client.get(API, OCTOBER | {"unit": 999999}).status_code == 404
    assert client.get(API, {"subdistrict": "RZ", "month": "2026-10"}).status_code == 404
    assert client.get(API, {"subdistrict": "NOPE", "month": "2026-10"}).status_code == 404
    # A malformed unit or month is still 400.
    assert client.get(API, OCTOBER | {"unit": "x1"}).status_code == 400
    assert client.get(API, {"subdistrict": "RK", "month": "2026-13"}).status_code == 400


def test_the_excel_file_is_scoped_the_same(world):
    client = browser(world["users"]["leader"])
    response = client.get(EXCEL, OCTOBER)
    assert response.status_code == 200
    book = load_workbook(BytesIO(response.content))
    names = [r[0] for r in book["Per person"].iter_rows(min_row=3, values_only=True)]
    assert sorted(names[:-1]) == ["乙", "甲"] and names[-1] == "Total"
    assert world["u1"].name in book["Per person"].cell(row=1, column=1).value
    assert client.get(EXCEL, OCTOBER | {"unit": world["u1"].pk}).status_code == 200
    assert client.get(EXCEL, OCTOBER | {"unit": world["u2"].pk}).status_code == 404
    assert client.get(EXCEL, {"subdistrict": "RZ-none", "month": "2026-10"}).status_code == 404


def test_the_page_shows_their_unit_fixed_without_the_picker(world):
    client = browser(world["users"]["leader"])
    response = client.get(PAGE, OCTOBER)
    assert response.status_code == 200
    html = response.text
    assert f'data-testid="unit-fixed" data-unit="{world["u1"].pk}"' in html
    assert 'data-testid="unit-select"' not in html and world["u2"].name not in html
    assert f'data-testid="members-{world["m"]["A"].pk}-' in html and "丙" not in html
    # Of the reports' navigation only this page; the Excel link keeps their unit.
    assert 'data-testid="reports-nav-compliance"' in html and 'data-testid="reports-nav-ranking"' not in html
    assert f"unit={world['u1'].pk}" in html
    # Another unit: 404, with the message and still no picker.
    refused = client.get(PAGE, OCTOBER | {"unit": world["u2"].pk})
    assert refused.status_code == 404 and 'data-testid="unit-select"' not in refused.text
    assert client.get(PAGE, {"subdistrict": "NOPE"}).status_code == 404
    # The other reports stay closed to them.
    for url in ("/reports/", "/reports/ranking/", "/reports/assessment/", "/api/v1/reports/ranking/"):
        assert client.get(url, {"subdistrict": "RK"}).status_code == 403, url


@pytest.mark.parametrize("who", ["plain", "shift", "gone", "unlinked_dept"])
def test_nobody_else_gains_access(world, who):
    user = world["users"][who]
    assert api(user).get(API, OCTOBER).status_code == 403
    client = browser(user)
    for url in (PAGE, EXCEL):
        assert client.get(url, OCTOBER).status_code == 403, url
        assert client.get(url, OCTOBER | {"unit": world["u1"].pk}).status_code == 403, url


def test_the_command_room_still_reads_every_unit(world):
    client = api(world["users"]["command"])
    report = client.get(API, OCTOBER).json()
    assert report["unit"] is None and people(report) == {"甲", "乙", "丙", "丁", "警"}
    assert report["total"]["dispatched"] == 6
    assert people(client.get(API, OCTOBER | {"unit": world["u2"].pk}).json()) == {"丙", "丁"}
    page = browser(world["users"]["command"]).get(PAGE, OCTOBER).text
    assert 'data-testid="unit-select"' in page and 'data-testid="unit-fixed"' not in page
    assert 'data-testid="reports-nav-ranking"' in page


def test_the_department_queue_and_the_phone_link_to_the_page(world):
    compliance = reverse("reports_page:compliance")
    queue = browser(world["users"]["clerk"]).get(reverse("dept:queue"))
    assert queue.status_code == 200
    assert 'data-testid="nav-compliance"' in queue.text and f'href="{compliance}"' in queue.text
    phone = browser(world["users"]["leader"]).get(reverse("mobile:app"))
    assert phone.status_code == 200 and 'data-testid="team-compliance"' in phone.text
    # The page does not link to itself; nobody else is offered the link.
    assert 'data-testid="nav-compliance"' not in browser(world["users"]["leader"]).get(PAGE, OCTOBER).text
    for who in ("plain", "shift"):
        client = browser(world["users"][who])
        assert 'data-testid="team-compliance"' not in client.get(reverse("mobile:app")).text
        assert 'data-testid="nav-compliance"' not in client.get(reverse("dept:queue")).text
    command = browser(world["users"]["command"]).get("/", {"subdistrict": "RK"}).text
    assert 'data-testid="nav-compliance"' not in command and 'data-testid="nav-reports"' in command
