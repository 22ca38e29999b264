"""The wall map page (/wall/): login and a staff role required, its configuration handed over
through json_script, the nav link only for those who may open it (the browser tests are in
tests/e2e/test_wall.py)."""


import pytest
from django.urls import reverse

from config.roles import STAFF_ROLES, UserRole
from tests.factories import make_channels, make_user, make_world
from tests.frontend.test_console_pages import json_script

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    world = make_world("WP")
    world["channels"] = make_channels()
    return world


def test_anonymous_goes_to_login(client, world):
    response = client.get(reverse("wallpage:wall"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "next=/wall/" in response["Location"]


@pytest.mark.parametrize("role", [UserRole.PLANNER, UserRole.RESPONDER, UserRole.DEPARTMENT, UserRole.INTEGRATION])
def test_other_roles_are_refused(client, world, role):
    client.force_login(make_user("u-" + role, role))
    assert client.get(reverse("wallpage:wall")).status_code == 403


def test_a_user_without_a_role_is_refused(client, world):
    client.force_login(make_user("nobody"))
    assert client.get(reverse("wallpage:wall")).status_code == 403


@pytest.mark.parametrize("role", sorted(STAFF_ROLES))
def test_staff_roles_get_the_wall(client, world, role):
    client.force_login(make_user("u-" + role, role))
    response = client.get(reverse("wallpage:wall"), {"subdistrict": "WP"})
    assert response.status_code == 200
    config = json_script(response, "wall-config")
    assert config["subdistrict"]["code"] == "WP"
    assert config["socket"] == "/ws/wall/WP/"
    assert config["api"]["state"] == "/api/v1/wall/WP/state/"
    assert config["api"]["incident"] == "/api/v1/wall/WP/incidents/{id}/"
    assert config["api"]["replay"] == "/api/v1/wall/WP/replay/"
    assert config["map"]["api"]["grids"] == reverse("geo:grids")
    # Every word the script shows comes from the server, in the user's language.
    assert config["text"]["live"] and config["text"]["reconnecting"]
    # Libraries come from our own static files (npm), never from a CDN.
    assert "vendor/echarts/echarts.min.js" in response.text
    assert "vendor/leaflet/leaflet.js" in response.text
    assert "://cdn" not in response.text and "unpkg" not in response.text and "jsdelivr" not in response.text


def test_the_script_is_a_module_fed_by_json_script_only(client, world):
    """wall.js is an ES module reading #wall-config and the shared #gridlink-shared (statuses,
    their groups, the time zone, the glyphs: the server's, not copies in JavaScript); no
    window.GridLink script, no data-text-* attributes."""
    client.force_login(make_user("cmd-m", UserRole.COMMAND_ROOM))
    response = client.get(reverse("wallpage:wall"))
    assert '<script type="module" src="/static/wall/wall.js">' in response.text
    assert "gridlink/basemap.js" not in response.text
    assert "data-text-" not in response.text
    shared = json_script(response, "gridlink-shared")
    assert shared["timeZone"] == "Asia/Shanghai"
    assert "closed" not in shared["statusGroups"]["open"] and "new" in shared["statusGroups"]["open"]
    assert shared["categoryGlyphs"]["fire"]
    assert "statuses" not in json_script(response, "wall-config")  # one source: #gridlink-shared


def test_the_page_is_chinese_by_default(client, world):
    client.force_login(make_user("cmd", UserRole.COMMAND_ROOM))
    response = client.get(reverse("wallpage:wall"))
    assert '<html lang="zh-hans"' in response.text


def test_the_nav_links_to_the_wall_for_staff_only(client, world):
    client.force_login(make_user("disp", UserRole.DISPATCHER))
    assert 'data-testid="nav-wall"' in client.get(reverse("frontend:map")).text
    client.force_login(make_user("plan", UserRole.PLANNER))
    assert 'data-testid="nav-wall"' not in client.get(reverse("frontend:map")).text


def test_names_typed_by_people_are_escaped(client, world):
    world["subdistrict"].name = "<script>alert(1)</script>"
    world["subdistrict"].save()
    client.force_login(make_user("cmd2", UserRole.COMMAND_ROOM))
    response = client.get(reverse("wallpage:wall"))
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text  # shown, as text
