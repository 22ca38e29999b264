"""The shared fixtures of the tests (imported by tests/conftest.py, documented there): the small
hand-made world of tests.factories, a user and a client per role, and a second sub-district.

All of them are function-scoped, inside the test's transaction; a user is made only when a test
asks for its role."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from config.roles import UserRole
from tests.factories import add_office, api_client, make_channels, make_user, make_world, put_on_duty

# The users' names, the tests' own short names of the roles (as in their assertions and logins).
USERNAMES = {UserRole.COMMAND_ROOM: "cmd", UserRole.DISPATCHER: "disp", UserRole.CALL_TAKER: "taker",
             UserRole.PLANNER: "plan", UserRole.RESPONDER: "resp", UserRole.LEADER: "lead",
             UserRole.DEPARTMENT: "dept", UserRole.INTEGRATION: "centre"}
WORLD_CODE = "T1"
OTHER_WORLD_CODE = "T2"


def world_options(request) -> dict:
    """The `world` marker's options: `code` (T1), `other_code` (T2), `on_duty` (False)."""
    marker = request.node.get_closest_marker("world")
    options = {"code": WORLD_CODE, "other_code": OTHER_WORLD_CODE, "on_duty": False}
    options.update(marker.kwargs if marker else {})
    return options


class RoleUsers:
    """`users.dispatcher` or `users["dispatcher"]` (any `config.roles.UserRole`): that role's user,
    made on first ask, named as in USERNAMES (`disp`, `cmd`, ...; password `pw-<name>`,
    tests.factories.make_user). The responder is the world's member's login; the department user is
    the officer of the world's labour security office (tests.factories.add_office)."""

    def __init__(self, world: dict):
        self._world = world
        self._made: dict[str, User] = {}

    def __getitem__(self, role: str) -> User:
        role = UserRole(role)
        if role not in self._made:
            member = None
            if role == UserRole.RESPONDER:
                member = self._world["member"]
            elif role == UserRole.DEPARTMENT:
                member = add_office(self._world)
            self._made[role] = make_user(USERNAMES[role], role, member=member, tenants=[self._world["subdistrict"]])
        return self._made[role]

    def __getattr__(self, name: str) -> User:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except ValueError:
            raise AttributeError(f"no role {name!r} in config.roles.UserRole") from None


@pytest.fixture
def world(request, db) -> dict:
    """tests.factories.make_world (a 2 km square: one community, two grids, a grid squad with one
    member, a category and a hotline) with make_channels (`district`, `joint`, `hotline`). Options
    by the module's or test's marker `@pytest.mark.world(code="T1", on_duty=False)`: on duty puts the
    member (and the office's officer, when made) on one long shift."""
    options = world_options(request)
    world = make_world(options["code"])
    world.update(make_channels())
    if options["on_duty"]:
        put_on_duty(world["member"])
    return world


@pytest.fixture
def other_world(request, world) -> dict:
    """A second sub-district (make_world, code T2 or the marker's `other_code`, the same square),
    for what another tenant must not see (404s)."""
    return make_world(world_options(request)["other_code"])


@pytest.fixture
def users(world) -> RoleUsers:
    """A user per role of the `world`, made when asked: `users.dispatcher`, `users["leader"]`."""
    return RoleUsers(world)


@pytest.fixture
def api_as(users):
    """`api_as(role_or_user=None, language="en")`: a rest_framework APIClient authenticated as the
    role's user of `users` (or as a given user; anonymous with None), asking for English (None: no
    Accept-Language header, the forces' language)."""

    def client(who: str | User | None = None, language: str | None = "en", **defaults):
        return api_client(users[who] if isinstance(who, str) else who, language, **defaults)

    return client


@pytest.fixture
def page_as(users):
    """`page_as(role_or_user=None, language="en")`: a django.test.Client logged in (a session, as
    the pages need) as the role's user of `users` or a given user; anonymous with None."""

    def client(who: str | User | None = None, language: str | None = "en", **defaults):
        if language is not None:
            defaults["HTTP_ACCEPT_LANGUAGE"] = language
        page = Client(**defaults)
        if who is not None:
            page.force_login(users[who] if isinstance(who, str) else who)
        return page

    return client
