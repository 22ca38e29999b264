"""The map page and the login page, rendered by Django (the browser tests are in tests/e2e)."""

import json
import re

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import translation

from config.roles import UserRole
from geo.models import Subdistrict, Tenancy
from tests.factories import make_world

pytestmark = pytest.mark.django_db

TITLE = "Incident Linkage Command Platform"


def login(client, *roles: str) -> User:
    """A user of these roles working in every sub-district there is (geo/tenancy.py), logged in."""
    user = User.objects.create_user(username="wang", password="not-used-here", first_name="王")  # noqa: S106
    for role in roles:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    Tenancy.objects.bulk_create([Tenancy(user=user, subdistrict=sub) for sub in Subdistrict.objects.all()])
    client.force_login(user)
    return user


def map_config(response) -> dict:
    match = re.search(r'<script id="map-config" type="application/json">(.*?)</script>', response.text, re.S)
    assert match, "the page hands its data to the script through json_script"
    return json.loads(match.group(1))


def test_anonymous_goes_to_login(client):
    response = client.get(reverse("frontend:map"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "next=/" in response["Location"]


def test_login_page_renders_in_chinese_by_default(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in response.text
    assert 'name="username"' in response.text and 'name="password"' in response.text


def test_login_errors_are_shown(client):
    User.objects.create_user(username="wang", password="right-password-1")  # noqa: S106
    response = client.post(reverse("login"), {"username": "wang", "password": "wrong"})
    assert response.status_code == 200
    assert 'class="form-errors"' in response.text
    response = client.post(reverse("login"), {"username": "wang", "password": "right-password-1"})
    assert response.status_code == 302 and response["Location"] == reverse("frontend:map")


def test_map_page_for_a_logged_in_user(client):
    world = make_world("P1")
    login(client, UserRole.COMMAND_ROOM)
    response = client.get(reverse("frontend:map"), {"subdistrict": "P1"})
    assert response.status_code == 200
    assert 'id="map"' in response.text
    assert "王" in response.text  # the user's name in the header
    assert world["subdistrict"].name in response.text
    assert 'action="/accounts/logout/" method="post"' in response.text
    # Leaflet comes from our own static files, never from a CDN.
    assert "vendor/leaflet/leaflet.js" in response.text
    assert "unpkg" not in response.text and "cdn" not in response.text.lower()

    config = map_config(response)
    assert config["api"] == {
        "subdistricts": "/api/v1/geo/subdistricts/",
        "communities": "/api/v1/geo/communities/",
        "grids": "/api/v1/geo/grids/",
        "roads": "/api/v1/geo/roads/",
        "waters": "/api/v1/geo/waters/",
        "places": "/api/v1/geo/places/",
        "members": "/api/v1/dispatch/members/",
    }
    assert config["subdistrict"] == {"code": "P1", "name": world["subdistrict"].name}
    assert config["tiles"] is None
    assert set(config["layers"]) >= {
        "boundary",
        "communities",
        "grids",
        "roads",
        "waters",
        "places",
        "members",
    }


def test_map_page_hides_members_from_other_roles(client):
    make_world("P1")
    login(client, UserRole.PLANNER)
    config = map_config(client.get(reverse("frontend:map")))
    assert config["api"]["members"] is None


def test_map_page_of_no_subdistrict_renders_and_of_one_not_theirs_is_404(client):
    login(client, UserRole.PLANNER)  # before any sub-district exists: works nowhere
    response = client.get(reverse("frontend:map"))
    assert response.status_code == 200
    assert map_config(response)["subdistrict"] is None
    make_world("P1")  # another's (the user's rows were made before it)
    assert client.get(reverse("frontend:map"), {"subdistrict": "nowhere"}).status_code == 404
    assert client.get(reverse("frontend:map"), {"subdistrict": "P1"}).status_code == 404


def test_tile_layer_only_when_configured(client, settings):
    login(client, UserRole.COMMAND_ROOM)
    settings.TILE_URL = "https://tiles.example.internal/{z}/{x}/{y}.png"
    settings.TILE_ATTRIBUTION = "内网底图"
    config = map_config(client.get(reverse("frontend:map")))
    assert config["tiles"] == {"url": settings.TILE_URL, "attribution": "内网底图", "datum": "WGS84"}


def test_language_switch(client):
    login(client, UserRole.COMMAND_ROOM)
    chinese = client.get(reverse("frontend:map")).text
    assert '<html lang="zh-hans">' in chinese
    with translation.override("zh-hans"):
        chinese_title = translation.gettext(TITLE)
    assert chinese_title in chinese

    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("frontend:map")})
    assert response.status_code == 302
    english = client.get(reverse("frontend:map")).text
    assert '<html lang="en">' in english
    assert TITLE in english
    if chinese_title != TITLE:  # once the zh-hans catalogue translates it
        assert chinese_title not in english
