"""The shared fixtures themselves (tests/fixtures_shared.py, documented in tests/conftest.py): a
user per role, made when asked, with its links; the clients logged in as them; the second
sub-district; the `world` marker."""

import pytest
from django.urls import reverse

from config.roles import UserRole, user_roles
from dispatch.models import DutyShift, Unit
from tests.fixtures_shared import USERNAMES

pytestmark = pytest.mark.django_db

INCIDENTS = reverse("incidents:incidents")


def test_the_world_and_its_users_are_made_when_asked(world, users):
    from django.contrib.auth.models import User

    assert world["subdistrict"].code == "T1" and {"district", "joint", "hotline"} <= set(world)
    assert not User.objects.exists() and "office" not in world
    assert not DutyShift.objects.exists()  # off duty unless the marker says so
    for role in UserRole:
        user = users[role]
        assert user.username == USERNAMES[role] and user_roles(user) == {role.value}
        assert user.check_password(f"pw-{user.username}")
        assert users[role] == user == getattr(users, role.value)  # made once
    assert users.responder.member == world["member"]
    assert users.department.member == world["officer"] and world["officer"].unit == world["office"]
    assert world["office"].kind == Unit.Kind.LABOUR_SECURITY
    assert not hasattr(users, "mayor")


@pytest.mark.world(code="LD", other_code="LZ", on_duty=True)
def test_the_marker_sets_the_codes_and_puts_the_members_on_duty(world, users, other_world):
    assert (world["subdistrict"].code, other_world["subdistrict"].code) == ("LD", "LZ")
    assert DutyShift.objects.filter(member=world["member"]).exists()
    assert DutyShift.objects.filter(member=users.department.member).exists()
    assert not DutyShift.objects.filter(member=other_world["member"]).exists()


def test_the_api_client_is_authenticated_as_the_role_in_english(world, api_as, users):
    assert api_as().get(INCIDENTS, {"subdistrict": "T1"}).status_code in (401, 403)
    assert api_as("dispatcher").get(INCIDENTS, {"subdistrict": "T1"}).status_code == 200
    refused = api_as(UserRole.PLANNER).post(INCIDENTS, {}, format="json")
    assert refused.status_code == 403 and refused["Content-Language"] == "en"
    assert api_as(users.command_room, language=None).get(INCIDENTS, {"subdistrict": "T1"})["Content-Language"] == (
        "zh-hans")


def test_the_page_client_is_logged_in_as_the_role(world, page_as, other_world):
    assert page_as().get("/planner/").status_code == 302
    assert page_as("dispatcher").get("/planner/").status_code == 403
    assert page_as("planner").get("/planner/", {"subdistrict": world["subdistrict"].code}).status_code == 200
    # the role's users work in the world's sub-district only: another's is unknown to them
    assert page_as("planner").get("/planner/", {"subdistrict": other_world["subdistrict"].code}).status_code == 404
