"""Browser tests: a real ASGI server on a freshly seeded database, driven by Debian's Chromium.

Once per session:
1. drop and recreate the database E2E_DATABASE_NAME (default `gridlink_e2e`) on the PostgreSQL
   server of settings.DATABASES["default"] (same host/socket, port and user), with PostGIS;
2. run `manage.py migrate` and `manage.py seed_demo --history-days 3 --credentials-file ...` in
   subprocesses pointed at it through DATABASE_URL;
3. start `uvicorn config.asgi:application` on a free port with the same environment and wait
   until the login page answers;
4. hand the tests the base URL and the demo credentials; at the end stop the server and drop the
   database (set E2E_KEEP_DATABASE=1 to keep it for a look afterwards).

The subprocesses run with DEBUG=1 so that static files (our CSS/JS and Leaflet from
node_modules) are served by WhiteNoise from the finders, without a collectstatic into the
shared var/static. Their output goes to e2e-*.log in the artifacts folder (TEST_ARTIFACTS_DIR,
default <repo>/test-artifacts/), beside the screenshots.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg2
import pytest
from django.conf import settings
from psycopg2 import sql

from tests.server_options import uvicorn_options

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1600, "height": 1000}
SEED_TIMEOUT_S = int(os.environ.get("E2E_SEED_TIMEOUT", "1200"))
SERVER_START_TIMEOUT_S = 60


@dataclass
class E2EServer:
    base_url: str
    database: str
    credentials: dict[str, tuple[str, str]] = field(default_factory=dict)  # role -> (username, password)
    timings: dict[str, float] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url + path

    def account(self, role_or_username: str) -> tuple[str, str]:
        """The demo login of a role (`command_room`) or of a username (`command`)."""
        if role_or_username in self.credentials:
            return self.credentials[role_or_username]
        for username, password in self.credentials.values():
            if username == role_or_username:
                return username, password
        raise KeyError(f"no demo login for {role_or_username!r}; have {sorted(self.credentials)}")


def _server() -> dict[str, str]:
    db = settings.DATABASES["default"]
    return {
        "host": str(db.get("HOST") or ""),
        "port": str(db.get("PORT") or ""),
        "user": str(db.get("USER") or ""),
        "password": str(db.get("PASSWORD") or ""),
    }


def database_url(server: dict[str, str], name: str) -> str:
    """A DATABASE_URL that django-environ parses back to the same server.

    For a Unix-socket host, django-environ keeps a percent-encoded host as it is, but it takes
    an absolute path after the authority as HOST (`postgis://user@//run/dir/dbname`); a port
    there goes through PGPORT (see `subprocess_env`)."""
    auth = quote(server["user"], safe="")
    if server["password"]:
        auth += ":" + quote(server["password"], safe="")
    if server["host"].startswith("/"):
        return f"postgis://{auth}@/{server['host'].rstrip('/')}/{name}"
    netloc = server["host"] or "localhost"
    if server["port"]:
        netloc += ":" + server["port"]
    return f"postgis://{auth}@{netloc}/{name}"


def subprocess_env(server: dict[str, str], name: str, *, debug: bool = True) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url(server, name), "DEBUG": "1" if debug else "0",
           "PYTHONUNBUFFERED": "1"}
    # Plain http on 127.0.0.1: no redirect to https, cookies without Secure (whatever the caller's
    # environment says), so that the browser keeps its session.
    env |= {"SECURE_SSL_REDIRECT": "0", "SESSION_COOKIE_SECURE": "0", "CSRF_COOKIE_SECURE": "0",
            "SECURE_HSTS_SECONDS": "0"}
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if server["host"].startswith("/") and server["port"]:
        env["PGPORT"] = server["port"]
    return env


@contextmanager
def _admin_cursor(server: dict[str, str], dbname: str = "postgres"):
    """An autocommit cursor (CREATE/DROP DATABASE refuse a transaction block; psycopg2's
    `with connection` would open one, so the connection is closed by hand)."""
    params = {"dbname": dbname, "user": server["user"], "password": server["password"]}
    params |= {"host": server["host"], "port": server["port"]}
    connection = psycopg2.connect(**{key: value for key, value in params.items() if value})
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            yield cursor
    finally:
        connection.close()


def _recreate_database(server: dict[str, str], name: str) -> None:
    with _admin_cursor(server) as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with _admin_cursor(server, name) as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS postgis")


def _drop_database(server: dict[str, str], name: str) -> None:
    with _admin_cursor(server) as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _count_subdistricts(server: dict[str, str], name: str) -> int:
    with _admin_cursor(server, name) as cursor:
        cursor.execute("SELECT count(*) FROM geo_subdistrict")
        return cursor.fetchone()[0]


def _run(args: list[str], env: dict[str, str], log: Path, timeout: int) -> float:
    started = time.monotonic()
    with log.open("w") as out:
        completed = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    if completed.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        pytest.fail(
            f"manage.py {' '.join(args)} failed ({completed.returncode}); see {log}:\n{tail}", pytrace=False
        )
    return time.monotonic() - started


def parse_credentials(path: Path) -> dict[str, tuple[str, str]]:
    """`role<TAB>username<TAB>password` lines after a `#` header line."""
    credentials = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        role, username, password = line.split("\t")[:3]
        credentials[role.strip()] = (username.strip(), password.strip())
    return credentials


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"uvicorn exited with {process.returncode}; see {log}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own local server
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    pytest.fail(f"uvicorn did not answer {url} within {SERVER_START_TIMEOUT_S} s; see {log}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = Path(os.environ.get("TEST_ARTIFACTS_DIR") or REPO / "test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def e2e(artifacts_dir, tmp_path_factory) -> E2EServer:
    from django.core.management import get_commands

    if "seed_demo" not in get_commands():
        pytest.skip("manage.py seed_demo is not there yet: the browser tests need the demo sub-district")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM} (Debian's chromium package)")

    server = _server()
    name = os.environ.get("E2E_DATABASE_NAME", "gridlink_e2e")
    env = subprocess_env(server, name)
    credentials_file = tmp_path_factory.mktemp("e2e") / "demo-logins.txt"
    timings: dict[str, float] = {}

    started = time.monotonic()
    _recreate_database(server, name)
    timings["create database"] = time.monotonic() - started
    process = None
    try:
        timings["migrate"] = _run(["migrate", "--no-input"], env, artifacts_dir / "e2e-migrate.log", 600)
        timings["seed_demo"] = _run(
            ["seed_demo", "--history-days", "3", "--credentials-file", str(credentials_file)],
            env,
            artifacts_dir / "e2e-seed.log",
            SEED_TIMEOUT_S,
        )
        # The subprocesses must have written to this database, not to the one of .env.
        assert _count_subdistricts(server, name) >= 1, f"seed_demo left {name} without a sub-district"

        port = _free_port()
        server_log = artifacts_dir / "e2e-server.log"
        started = time.monotonic()
        with server_log.open("w") as out:
            process = subprocess.Popen(  # noqa: S603 - fixed arguments
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "config.asgi:application",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    *uvicorn_options(),
                ],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_up(base_url + "/accounts/login/", process, server_log)
        timings["server start"] = time.monotonic() - started
        (artifacts_dir / "e2e-timings.json").write_text(json.dumps(timings, indent=2))
        yield E2EServer(
            base_url=base_url, database=name, credentials=parse_credentials(credentials_file), timings=timings
        )
    finally:
        if process is not None:
            _stop(process)
        if not os.environ.get("E2E_KEEP_DATABASE"):
            _drop_database(server, name)


# The pages run under the server's Content-Security-Policy and Permissions-Policy: whatever the
# browser refuses (an inline script, eval, an image from an unlisted host, a blocked feature) fails
# the test that caused it, whichever context it happened in (the shared `page` or a test's own).
POLICY_VIOLATION = re.compile(r"Content[- ]Security[- ]Policy|unsafe-eval|unsafe-inline|Permissions[- ]policy",
                              re.IGNORECASE)
# Chromium prints a violation to the console; the DOM event also catches one it does not print.
REPORT_VIOLATIONS = """document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`Content Security Policy violation: ${event.effectiveDirective} ${event.blockedURI}`);
});"""


class PolicyWatchingBrowser:
    """The session's Playwright browser; each context it opens reports policy violations into
    `violations` (checked after each test by `_no_policy_violations`)."""

    def __init__(self, browser):
        self._browser = browser
        self.violations: list[str] = []

    def new_context(self, **kwargs):
        context = self._browser.new_context(**kwargs)
        context.add_init_script(REPORT_VIOLATIONS)

        def on_console(message):
            if POLICY_VIOLATION.search(message.text):
                self.violations.append(f"{message.page.url if message.page else '?'}: {message.text}")

        def on_error(error):
            if POLICY_VIOLATION.search(str(error.error)):
                self.violations.append(f"{error.page.url if error.page else '?'}: {error.error}")

        context.on("console", on_console)
        context.on("weberror", on_error)
        return context

    def __getattr__(self, name):
        return getattr(self._browser, name)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield PolicyWatchingBrowser(browser)
        browser.close()


@pytest.fixture(autouse=True)
def _no_policy_violations(request):
    """Fails a browser test during which a page broke the CSP or the Permissions-Policy."""
    if "browser" not in request.fixturenames:
        yield
        return
    watcher = request.getfixturevalue("browser")
    watcher.violations.clear()
    yield
    found, watcher.violations[:] = list(watcher.violations), []
    assert not found, "the browser refused what the policies forbid:\n" + "\n".join(found)


@pytest.fixture
def page(browser, request, artifacts_dir):
    """A fresh browser context per test, as a command-room PC: Chinese locale, Shanghai time.
    A failing test leaves a screenshot named after it in the artifacts folder."""
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        page.screenshot(path=str(artifacts_dir / f"failed-{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report


@pytest.fixture
def login(e2e):
    """login(page, role) signs in through the login form as the demo user of `role` (a role
    value such as `command_room`, or a demo username such as `command`)."""

    def sign_in(page, role: str) -> None:
        username, password = e2e.account(role)
        page.goto(e2e.url("/accounts/login/"))
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        with page.expect_navigation():
            page.click(".login-form button[type=submit]")
        assert "/accounts/login/" not in page.url, f"login as {username} failed"

    return sign_in


# ---- a second server that a test starts and stops itself (the wall map's restart test) -----------


def start_uvicorn(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    """`uvicorn config.asgi:application` on 127.0.0.1:`port`, its output appended to `log`;
    returns once the login page answers."""
    with log.open("a") as out:
        process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
             *uvicorn_options()],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    _wait_until_up(f"http://127.0.0.1:{port}/accounts/login/", process, log)
    return process


@dataclass
class SpareServer:
    """A uvicorn process of its own on a fixed port, against the session's e2e database and with
    the session server's environment: `start()`, `stop()`, `start()` again on the same port."""

    env: dict[str, str]
    port: int
    log: Path
    process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "the spare server is running already"
        self.process = start_uvicorn(self.env, self.port, self.log)

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None


@pytest.fixture
def spare_server(e2e, artifacts_dir):
    """A second server the test controls (see SpareServer); stopped at the end of the test."""
    spare = SpareServer(
        env=subprocess_env(_server(), e2e.database), port=_free_port(), log=artifacts_dir / "e2e-spare-server.log"
    )
    spare.log.write_text("")
    yield spare
    spare.stop()
