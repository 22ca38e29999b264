"""Two server processes sharing channels-redis: an incident created through server A's API reaches a
wall map connected to server B. Everything is real: Debian's `redis-server` on a free port (no
persistence, in a temporary folder), two `uvicorn config.asgi:application` processes with REDIS_URL
set, pointed at this test's database (a transactional test: what it creates is committed, so the
servers see it), a session cookie and the `websockets` client library.

Also here, on the real server: an anonymous websocket is refused with close code 4401."""

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time

import httpx
import pytest
import redis
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from config.roles import UserRole
from incidents.models import IncidentEvent
from tests.e2e.conftest import REPO, _free_port, _server, _stop, _wait_until_up, subprocess_env
from tests.factories import make_user, make_world
from tests.server_options import uvicorn_options
from wall import consumers

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
TIMEOUT = 10
QUIET_S = 8  # longer than channels-redis's 5 s blocking pop
P = {"type": "Point", "coordinates": [120.495, 30.495]}  # inside make_world's west grid



@pytest.fixture(scope="module", autouse=True)
def _redis_server_installed():
    """`make test` installs Debian's redis-server (scripts/provision --test): its absence is a failure,
    never a silent skip, unless someone opts out with GRIDLINK_SKIP_REDIS_TESTS=1."""
    if shutil.which("redis-server") is None:
        if os.environ.get("GRIDLINK_SKIP_REDIS_TESTS") == "1":
            pytest.skip("no redis-server binary and GRIDLINK_SKIP_REDIS_TESTS=1")
        pytest.fail("no redis-server binary (Debian's redis-server package; `scripts/provision --test` installs it)")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("redis")
    port = _free_port()
    log = (folder / "redis.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - fixed arguments
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder)],
        cwd=folder, stdout=log, stderr=subprocess.STDOUT,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 20
    while True:
        if process.poll() is not None:
            pytest.fail(f"redis-server exited with {process.returncode}: {(folder / 'redis.log').read_text()}")
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                pytest.fail("redis-server did not answer within 20 s")
            time.sleep(0.05)
    client.close()
    yield f"redis://127.0.0.1:{port}/0"
    _stop(process)
    log.close()


@pytest.fixture(scope="module")
def two_servers(redis_url, django_db_setup, django_db_blocker, tmp_path_factory):
    """Base URLs of servers A and B on this session's test database (created by pytest-django)."""
    with django_db_blocker.unblock():
        name = connection.settings_dict["NAME"]
    env = subprocess_env(_server(), name) | {"REDIS_URL": redis_url, "DB_POOL_MIN_SIZE": "0"}
    logs = tmp_path_factory.mktemp("servers")
    processes, urls = [], []
    try:
        for label in ("a", "b"):
            port = _free_port()
            log = logs / f"uvicorn-{label}.log"
            with log.open("w") as out:
                processes.append(subprocess.Popen(  # noqa: S603 - fixed arguments
                    [sys.executable, "-m", "uvicorn", "config.asgi:application",
                     "--host", "127.0.0.1", "--port", str(port), *uvicorn_options()],
                    cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                ))
            urls.append(f"http://127.0.0.1:{port}")
            _wait_until_up(urls[-1] + "/accounts/login/", processes[-1], log)
        yield urls
    finally:
        for process in processes:
            _stop(process)


def ws_url(base_url: str, path: str) -> str:
    return base_url.replace("http://", "ws://") + path


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)  # a session row, committed: the servers read it
    return client.cookies["sessionid"].value


@pytest.mark.django_db(transaction=True)
def test_an_incident_created_on_server_a_reaches_a_wall_map_on_server_b(two_servers):
    server_a, server_b = two_servers
    world = make_world()
    dispatcher = make_user("dispatcher", UserRole.DISPATCHER)
    calltaker = make_user("calltaker", UserRole.CALL_TAKER)
    cookie = session_cookie(dispatcher)
    token = Token.objects.create(user=calltaker).key
    body = {"channel": world["channel"].code, "category": world["category"].code,
            "description": "两台服务器之间的实时推送", "location": P, "subdistrict": "T1"}

    async def scenario():
        headers = {"Cookie": f"sessionid={cookie}", "Origin": server_b}
        async with connect(ws_url(server_b, "/ws/wall/T1/?last_event=0"), additional_headers=headers,
                           open_timeout=TIMEOUT) as socket:
            # caught_up comes after the consumer joined the group: from here nothing is missed
            assert json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT)) == {
                "type": "caught_up", "last_event": 0}
            async with httpx.AsyncClient(timeout=TIMEOUT) as http:
                response = await http.post(server_a + "/api/v1/incidents/", json=body, headers={
                    "Authorization": f"Token {token}", "Accept-Language": "en"})
            assert response.status_code == 201, response.text
            message = json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))
            return response.json(), message

    created, message = asyncio.run(scenario())
    assert message["type"] == "event"
    event = message["event"]
    assert (event["incident"], event["number"], event["kind"]) == (
        created["id"], created["number"], IncidentEvent.Kind.CREATED)
    first = IncidentEvent.objects.filter(incident_id=created["id"]).order_by("pk").first()
    assert event["id"] == first.pk


@pytest.mark.django_db(transaction=True)
def test_a_quiet_wall_map_stays_connected_past_the_redis_client_timeout(two_servers):
    """channels-redis waits for messages with blocking pops of 5 s; redis-py 8 gives every socket a
    5 s read timeout by default, which tore idle consumers down every few seconds (channels_redis
    issue 422). Settings lift the client timeout above the pop's: a socket idle for longer still
    receives the next event."""
    server_a, server_b = two_servers
    world = make_world()
    cookie = session_cookie(make_user("dispatcher", UserRole.DISPATCHER))
    token = Token.objects.create(user=make_user("calltaker", UserRole.CALL_TAKER)).key
    body = {"channel": world["channel"].code, "category": world["category"].code,
            "description": "深夜的第一起", "location": P, "subdistrict": "T1"}

    async def scenario():
        headers = {"Cookie": f"sessionid={cookie}", "Origin": server_b}
        async with connect(ws_url(server_b, "/ws/wall/T1/?last_event=0"), additional_headers=headers,
                           open_timeout=TIMEOUT) as socket:
            assert json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))["type"] == "caught_up"
            await asyncio.sleep(QUIET_S)
            async with httpx.AsyncClient(timeout=TIMEOUT) as http:
                response = await http.post(server_a + "/api/v1/incidents/", json=body, headers={
                    "Authorization": f"Token {token}"})
            assert response.status_code == 201, response.text
            return response.json(), json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))

    created, message = asyncio.run(scenario())
    assert message["type"] == "event"
    assert message["event"]["incident"] == created["id"]


@pytest.mark.django_db(transaction=True)
def test_an_anonymous_socket_is_refused_by_the_real_server(two_servers):
    make_world()

    async def close_code(base_url: str) -> int:
        async with connect(ws_url(base_url, "/ws/wall/T1/"), additional_headers={"Origin": base_url},
                           open_timeout=TIMEOUT) as socket:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), TIMEOUT)
            return closed.value.rcvd.code

    assert asyncio.run(close_code(two_servers[1])) == consumers.CLOSE_ANONYMOUS
