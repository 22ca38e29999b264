"""The planners' page (/planner/): login and the planner or command-room role required, its
configuration handed over through json_script (API URLs, words in the user's language), Leaflet and
Geoman from our own static files, the nav link only for those who may open it. The browser tests
(a shared vertex dragged, a split drawn, a stale save) are in tests/e2e/test_planner.py."""

import pytest
from django.urls import reverse

from config.roles import UserRole
from tests.factories import make_user
from tests.frontend.test_console_pages import json_script

pytestmark = [pytest.mark.django_db, pytest.mark.world(code="PL")]

URL = "/planner/"


def test_anonymous_goes_to_login(client, world):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", [UserRole.DISPATCHER, UserRole.CALL_TAKER, UserRole.LEADER, UserRole.RESPONDER,
                                  UserRole.DEPARTMENT, UserRole.INTEGRATION])
def test_other_roles_are_refused(client, world, role):
    client.force_login(make_user("u-" + role, role))
    assert client.get(URL).status_code == 403


@pytest.mark.parametrize("role", [UserRole.PLANNER, UserRole.COMMAND_ROOM])
def test_planners_and_the_command_room_get_the_page(client, world, role):
    client.force_login(make_user("u-" + role, role))
    response = client.get(URL, {"subdistrict": "PL"})
    assert response.status_code == 200
    assert '<html lang="zh-hans"' in response.text
    config = json_script(response, "planner-config")
    assert config["subdistrict"] == {"code": "PL", "name": world["subdistrict"].name}
    assert config["user"]["username"] == "u-" + role
    api = config["api"]
    assert api["versions"] == "/api/v1/planner/versions/"
    assert api["save"] == "/api/v1/planner/drafts/{id}/save/"
    assert api["split"] == "/api/v1/planner/drafts/{id}/split/"
    assert api["export"] == "/api/v1/planner/versions/{id}/export/"
    assert api["roads"] == reverse("geo:roads")
    assert config["presenceSeconds"] == 15
    # Every word the modules show comes from the server, in the user's language (Chinese by default).
    assert config["text"]["staleTitle"] and config["problemKinds"]["gap"]
    # Libraries from our own static files (npm), never from a CDN; our code as ES modules.
    assert "vendor/leaflet/leaflet.js" in response.text
    assert "vendor/geoman/leaflet-geoman.min.js" in response.text
    assert '<script type="module" src="/static/gridlink/planner/app.js"' in response.text
    assert "://cdn" not in response.text and "unpkg" not in response.text and "jsdelivr" not in response.text
    assert response.cookies.get("csrftoken"), "the CSRF cookie the saves send back"


def test_the_nav_links_to_the_page_for_planners_only(client, world, users):
    client.force_login(users.planner)
    assert 'data-testid="nav-planner"' in client.get(reverse("frontend:map")).text
    assert 'data-testid="nav-planner"' not in client.get(URL).text  # not to itself
    client.force_login(users.dispatcher)
    assert 'data-testid="nav-planner"' not in client.get(reverse("frontend:map")).text


def test_names_typed_by_people_are_escaped(client, world, users):
    world["subdistrict"].name = "<script>alert(1)</script>"
    world["subdistrict"].save()
    client.force_login(users.planner)
    response = client.get(URL)
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_an_unknown_sub_district_is_not_found(client, world, users):
    client.force_login(users.planner)
    assert client.get(URL, {"subdistrict": "BOGUS"}).status_code == 404
    assert client.get(URL).status_code == 200  # no code: the first sub-district
