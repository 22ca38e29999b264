"""Where each user lands (issue 10): `/` and a login without `next` take a responder to the
responders' app (/m/), a department user of a unit to its queue (/dept/); the desks keep the map.
A login's `next`, when given and allowed, still wins. The header offers /m/ and /dept/ only to
those whom those pages admit."""

import pytest
from django.test import Client
from django.urls import reverse

from config.roles import UserRole
from dispatch.models import Member
from tests.factories import add_member, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.world(code="LD")]


@pytest.fixture
def world(world, users):
    """The shared world (LD) with its users, a dispatcher who is also a member of the forces, and a
    responder's login linked to nobody."""
    world.update(
        responder=users.responder, department=users.department, command=users.command_room,
        planner=users.planner,
        # A dispatcher who is also a member of the forces: a desk first.
        dispatcher=make_user("ld-disp", UserRole.DISPATCHER, member=add_member(world, "LD-D1", "李强")),
        unlinked=make_user("ld-unlinked", UserRole.RESPONDER),  # a responder's login linked to nobody
    )
    return world


def as_user(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def landing(user) -> str | None:
    """Where `/` sends the user: the redirect's target, or None when it shows the map."""
    response = as_user(user).get("/")
    if response.status_code == 302:
        return response["Location"]
    assert response.status_code == 200 and 'id="map"' in response.text
    return None


def test_the_forces_land_on_their_own_page_and_the_desks_keep_the_map(world):
    assert landing(world["responder"]) == reverse("mobile:app")
    assert landing(world["department"]) == reverse("dept:queue")
    for desk in ("dispatcher", "command", "planner"):
        assert landing(world[desk]) is None, desk
    # Neither page would admit these: the map, as before.
    assert landing(world["unlinked"]) is None
    Member.objects.filter(user=world["responder"]).update(active=False)
    assert landing(world["responder"]) is None


def test_the_map_stays_one_address_away_for_anybody(world):
    response = as_user(world["responder"]).get("/", {"subdistrict": "LD"})
    assert response.status_code == 200 and 'id="map"' in response.text


def login(username: str, **extra):
    """The login form, as typed (tests.factories.make_user's password), followed to the end."""
    return Client(HTTP_ACCEPT_LANGUAGE="en").post(
        reverse("login"), {"username": username, "password": f"pw-{username}", **extra}, follow=True)


def test_a_login_without_next_lands_the_user_on_their_page(world):
    response = login("resp")
    assert response.redirect_chain[-1][0] == reverse("mobile:app") and response.status_code == 200
    response = login("dept")
    assert response.redirect_chain[-1][0] == reverse("dept:queue") and response.status_code == 200
    response = login("ld-disp")
    assert response.redirect_chain == [("/", 302)] and 'id="map"' in response.text


def test_the_logins_next_wins_when_allowed(world):
    response = login("resp", next="/?subdistrict=LD")
    assert response.redirect_chain == [("/?subdistrict=LD", 302)] and 'id="map"' in response.text
    response = login("dept", next=reverse("mobile:app"))
    assert response.redirect_chain == [(reverse("mobile:app"), 302)]
    # Another host's address is not allowed: the user's own page instead.
    response = login("resp", next="https://evil.example/")
    assert response.redirect_chain[-1][0] == reverse("mobile:app")


def test_the_header_offers_the_forces_pages_only_to_those_they_admit(world):
    def links(user) -> set[str]:
        html = as_user(user).get("/", {"subdistrict": "LD"}).text
        return {name for name in ("nav-wall", "nav-m", "nav-dept") if f'data-testid="{name}"' in html}

    assert links(world["command"]) == {"nav-wall"}
    assert links(world["dispatcher"]) == {"nav-wall", "nav-m"}  # a member: the app; no queue role
    assert links(world["department"]) == {"nav-m", "nav-dept"}
    assert links(world["responder"]) == {"nav-m", "nav-dept"}  # the queue admits a unit's responders
    assert links(world["planner"]) == set()
    assert links(world["unlinked"]) == set()
    # Each link opens for its user; a page does not link to itself (its header names it).
    queue = as_user(world["department"]).get(reverse("dept:queue"))
    assert queue.status_code == 200
    assert 'data-testid="nav-m"' in queue.text and 'data-testid="nav-dept"' not in queue.text
    assert as_user(world["dispatcher"]).get(reverse("mobile:app")).status_code == 200
    assert as_user(world["dispatcher"]).get(reverse("dept:queue")).status_code == 403
