"""The governance reports' shell (/reports/): login and a report role required, the reports'
navigation (only routed reports), the nav link in the header only for those roles, the A4 print
stylesheet. Each report's own page is tested beside its numbers (tests/reports/test_reports_*.py)."""

import pytest
from django.urls import reverse

from config.roles import UserRole
from frontend.reports_views import report_pages
from tests.factories import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.world(code="RP")]

URL = "/reports/"


def test_anonymous_goes_to_login(client, world):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", [UserRole.CALL_TAKER, UserRole.PLANNER, UserRole.RESPONDER, UserRole.DEPARTMENT,
                                  UserRole.INTEGRATION])
def test_other_roles_are_refused(client, world, role):
    client.force_login(make_user("u-" + role, role))
    assert client.get(URL).status_code == 403
    assert 'data-testid="nav-reports"' not in client.get("/").text


@pytest.mark.parametrize("role", [UserRole.COMMAND_ROOM, UserRole.LEADER, UserRole.DISPATCHER])
def test_report_roles_get_the_index_with_every_routed_report(client, world, role):
    client.force_login(make_user("u-" + role, role))
    response = client.get(URL, {"subdistrict": "RP"})
    assert response.status_code == 200 and '<html lang="zh-hans"' in response.text
    assert 'data-testid="nav-reports"' in response.text
    assert world["subdistrict"].name in response.text
    for page in report_pages():
        assert f'data-testid="reports-index-{page["name"]}"' in response.text
        assert f'href="{page["url"]}?subdistrict=RP"' in response.text  # the navigation keeps the sub-district
    assert 'media="print"' in response.text and "gridlink/reports/print.css" in response.text


def test_an_unknown_subdistrict_is_404(client, world, users):
    client.force_login(users.command_room)
    assert client.get(URL, {"subdistrict": "NOPE"}).status_code == 404
