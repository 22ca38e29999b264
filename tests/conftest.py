"""Shared fixtures: the demo sub-district, loaded once per test session into the test database.

The load is small (60 days of history) to keep the session quick; tests that need the demo's data
mark themselves `django_db` and take the `demo` fixture (the generated DemoData).

Every other database test sees the empty database it was written for: inside its own transaction
(rolled back afterwards) the demo's tables are truncated first, which costs a few milliseconds.
Transactional tests, which pytest-django runs after the others, flush the tables when they end:
they must not rely on the demo.

The hand-made world, shared by the tests that do not need the demo (tests/fixtures_shared.py; each
function-scoped, in the test's transaction, nothing made before a test asks for it):

- `world`: tests.factories.make_world — sub-district T1, a 2 km square, one community, two grids
  (`grids`), a grid squad (`unit`) with one member (`member`, 张伟), `category`, `channel` — with
  make_channels (`district`, `joint`, `hotline`). The module's or test's marker
  `@pytest.mark.world(code="T1", other_code="T2", on_duty=False)` changes the code or puts the
  member on duty (one long shift).
- `users`: a user per role of config.roles.UserRole, made on first ask: `users.command_room` (cmd),
  `users.dispatcher` (disp), `users["call_taker"]` (taker), `users.planner` (plan), `users.leader`
  (lead), `users.integration` (centre; password `pw-<name>`); `users.responder` (resp) is the world's
  member's login, `users.department` (dept) the officer of the world's labour security office
  (`world["office"]`, `world["officer"]`, made with it).
- `api_as(role_or_user=None, language="en")`: a rest_framework APIClient authenticated as that role's
  user (or that user; anonymous with None), in English (language=None: no Accept-Language header).
- `page_as(role_or_user=None, language="en")`: a django.test.Client logged in (a session) likewise,
  for the pages.
- `other_world`: a second sub-district (make_world, code T2, the same square): another tenant, for
  the 404s.

A module that needs more extends them with a small fixture of its own (`def ctx(world, users)` that
adds and returns `world`, or `def world(world)` that extends it under its own name), never a copy;
tests.factories has the builders (add_member, add_grid_worker, add_staff, add_office, put_on_duty,
make_user, api_client). tests/test_fixtures_shared.py tests them."""

import inspect
from datetime import date

import pytest
from django.apps import apps
from django.db import connection

from fixtures.demo import DEFAULT_SEED, DEMO_CODE, generate
from tests.fixtures_shared import api_as, other_world, page_as, users, world  # noqa: F401 - the shared fixtures

DEMO_ANCHOR = date(2026, 11, 1)
DEMO_HISTORY_DAYS = 60


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing():
    """Passwords set by the tests hash with MD5: PBKDF2 costs about 0.6 s of CPU per user by design,
    and the tests make thousands of users (it was most of many tests' setup). PBKDF2 stays listed,
    so that passwords hashed with it (the demo's, a worker's) still check. The hashing itself is
    tested where it matters (tests/config/test_auth_hardening.py), and servers started as subprocesses (the
    browser tests') keep the real setting."""
    from django.test.utils import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher",
                                             "django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        yield


@pytest.fixture(scope="session")
def demo_data():
    return generate(seed=DEFAULT_SEED, anchor=DEMO_ANCHOR, history_days=DEMO_HISTORY_DAYS)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, demo_data):
    from fixtures.load import demo_load
    from geo.models import Subdistrict

    with django_db_blocker.unblock():
        if not Subdistrict.objects.filter(code=DEMO_CODE).exists():  # --reuse-db keeps it
            demo_load(demo_data, progress=False)


@pytest.fixture(scope="session")
def demo(django_db_setup, demo_data):
    """The demo sub-district as generated (seed DEFAULT_SEED, anchor DEMO_ANCHOR, 60 days of
    history), loaded in the test database."""
    return demo_data


DEMO_APPS = ("geo", "dispatch", "incidents")


def _demo_tables() -> list[str]:
    """The demo's tables, without the audit trail's (pghistory event tables: the load's change
    records reference no row a test reads, and each table more costs every database test time)."""
    from pghistory.models import Event

    tables = []
    for label in DEMO_APPS:
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            if not model._meta.proxy and model._meta.managed and not issubclass(model, Event):
                tables.append(model._meta.db_table)
    return sorted(set(tables))


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Nothing a test computed and shared through the cache (the replacement proposals) reaches
    the next test."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _forces_language():
    """Each test starts in the forces' language (LANGUAGE_CODE), as a worker process does: a test
    client's English API request before it activates English in this thread and would leave it
    active for services called directly afterwards."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _unshared_wall_snapshots():
    """Each test's wall snapshots are its own: a test's data is rolled back afterwards, while a
    snapshot shared for a second (wall/snapshot.py) would outlive it."""
    from wall.snapshot import forget

    forget()


@pytest.fixture(autouse=True)
def _demo_only_where_asked(request):
    """Tests that do not ask for `demo` see no demo data (see the module docstring)."""
    names = request.fixturenames
    uses_db = request.node.get_closest_marker("django_db") is not None or any(
        n in names for n in ("db", "transactional_db", "django_db_reset_sequences", "live_server"))
    if not uses_db or "demo" in names:
        return
    request.getfixturevalue("_django_db_helper")  # from here on inside the test's transaction
    with connection.cursor() as cur:
        cur.execute("TRUNCATE " + ", ".join(connection.ops.quote_name(t) for t in _demo_tables()) + " CASCADE")


@pytest.fixture
def workers(tmp_path):
    """Starts our own `manage.py` workers as real processes (`start(name, command, *args, env=None,
    cls=Worker)`, see tests/workers.py); kills what is left at the end."""
    from tests.workers import Worker

    started: list[Worker] = []

    def start(name: str, command: str, *args: str, env: dict[str, str] | None = None, cls=Worker) -> Worker:
        started.append(cls(tmp_path, name, command, *args, env=env))
        return started[-1]

    yield start
    for worker in started:
        worker.kill()


# ---- the `slow` marker ----------------------------------------------------------------------------
# `pytest -m "not slow and not browser"` is the inner loop (about a third of the suite's time);
# `make test` runs everything. Slow: a test that starts processes (our `manage.py` workers, a
# uvicorn server, redis-server, a subprocess), or one whose module is long by design (the API fuzz
# run, the demo generator, the simulated day). Worked out at collection, so a new test is marked by
# what it does, not by someone remembering to.

SLOW_FIXTURES = {"workers", "redis_url", "two_servers", "e2e", "page"}
SLOW_CALLS = ("run_command(", "subprocess.", "Popen(", "workers(")
SLOW_MODULES = {"test_fuzz_api", "test_simulate", "test_demo_generator", "test_demo_load", "test_channels_redis"}


def _is_slow(item) -> bool:
    if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    module = getattr(item, "module", None)
    if module is not None and module.__name__.rsplit(".", 1)[-1] in SLOW_MODULES:
        return True
    function = getattr(item, "function", None)
    if function is None:
        return False
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return False
    return any(call in source for call in SLOW_CALLS)


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "world(code, other_code, on_duty): options of the shared `world` fixture "
                                       "(tests/conftest.py)")


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if _is_slow(item):
            item.add_marker(pytest.mark.slow)
