"""Overload (config/admission.py): a request that finds no place answers 503 with Retry-After at
once, in its API's shape and the user's language, while the request holding the place is still
running; a burst in one lane leaves the others free; a database pool out of connections answers 503
rather than 500.

Real parts: Django's own ASGI application behind the gate, real sessions, real PostgreSQL. A request
is made slow by a lock the test holds on a table it reads (a second connection of the test's own)."""

import asyncio
from contextlib import contextmanager

import httpx
import pytest
from django.core.asgi import get_asgi_application
from django.db import connection
from django.test import Client
from django.urls import reverse
from psycopg_pool import PoolTimeout

from config import asgi
from config.admission import DEFAULT_LANE, AdmissionGate, Lane
from config.roles import UserRole
from tests.factories import make_user, make_world, own_connection, run_async

pytestmark = pytest.mark.django_db(transaction=True)

WAIT_S = 0.3


def gate(**places) -> AdmissionGate:
    lanes = {name: Lane(name, places.get(name, 4), WAIT_S, 100) for name in ("login", "heavy", "snapshot", DEFAULT_LANE)}
    return AdmissionGate(get_asgi_application(), lanes=lanes)


@contextmanager
def table_locked(table: str):
    """Every reader of `table` waits until the block ends."""
    holder = own_connection()
    holder.autocommit = False
    try:
        with holder.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        yield holder
    finally:
        holder.rollback()
        holder.close()


@pytest.fixture
def signed_in():
    make_world("AD")
    client = Client()
    client.force_login(make_user("ad-disp", UserRole.DISPATCHER))
    return {"sessionid": client.cookies["sessionid"].value}


async def until_taken(the_gate: AdmissionGate, lane: str) -> None:
    while not the_gate.places(lane).free.locked():
        await asyncio.sleep(0.01)


def test_the_application_is_behind_the_gate():
    assert isinstance(asgi.application.application_mapping["http"], AdmissionGate)


def test_a_request_without_a_place_answers_503_at_once_and_the_first_is_served(signed_in):
    the_gate = gate(**{DEFAULT_LANE: 1})
    url = reverse("geo:subdistricts")

    async def scenario(holder):
        transport = httpx.ASGITransport(app=the_gate)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", cookies=signed_in) as client:
            first = asyncio.create_task(client.get(url))  # reads its session: waits for the lock
            await until_taken(the_gate, DEFAULT_LANE)
            second = await client.get(url, headers={"Accept-Language": "en"})
            page = await client.get("/")
            still_running = not first.done()
            holder.rollback()  # the lock goes: the first request finishes
            return (await first), second, page, still_running

    with table_locked("django_session") as holder:
        first, second, page, still_running = run_async(scenario, holder)
    assert still_running  # the refusal did not wait for the slow request
    assert second.status_code == 503
    assert second.headers["Retry-After"] == "2" and second.headers["Content-Language"] == "en"
    assert second.json() == {"detail": "The server is busy. Try again in a few seconds.", "code": "overloaded"}
    # A page is refused in the forces' language (the browser's Accept-Language is not asked).
    assert page.status_code == 503 and page.headers["Content-Language"] == "zh-hans"
    assert "服务器繁忙" in page.text
    assert first.status_code == 200 and first.json()


def test_the_lanes_of_the_requests():
    lane = gate().lane_of
    assert lane("GET", "/api/v1/wall/AD/state/") == "snapshot"
    assert lane("GET", "/api/v1/wall/AD/replay/") == "heavy"
    assert lane("GET", "/api/schema/") == "heavy"
    assert lane("POST", "/accounts/login/") == "login"
    assert lane("GET", "/accounts/login/") == DEFAULT_LANE
    assert lane("GET", "/api/v1/incidents/1/recommendations/") == DEFAULT_LANE


def test_a_burst_of_snapshots_leaves_the_other_requests_served(signed_in):
    the_gate = gate(snapshot=1, **{DEFAULT_LANE: 2})
    state = reverse("wall:state", args=["AD"])

    async def scenario(holder):
        transport = httpx.ASGITransport(app=the_gate)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", cookies=signed_in) as client:
            snapshot = asyncio.create_task(client.get(state))  # waits for the events' lock
            await until_taken(the_gate, "snapshot")
            burst = await asyncio.gather(*(client.get(state) for _ in range(5)))
            other = await client.get(reverse("geo:subdistricts"))
            still_running = not snapshot.done()
            holder.rollback()
            return (await snapshot), burst, other, still_running

    with table_locked("incidents_incidentevent") as holder:
        snapshot, burst, other, still_running = run_async(scenario, holder)
    assert still_running
    assert [r.status_code for r in burst] == [503] * 5
    assert other.status_code == 200  # the default lane had its places
    assert snapshot.status_code == 200 and snapshot.json()["subdistrict"]["code"] == "AD"


@pytest.mark.parametrize("snapshot_wait", [0.3, 3.0])
def test_while_walls_wait_for_a_snapshot_a_new_request_lets_them_start_first_for_at_most_a_second(
        signed_in, snapshot_wait):
    """The default lane yields to the snapshot lane's waiting requests (config.admission.YIELD_SECONDS):
    a request that arrives while a wall waits is answered after that wall's wait ended (0.3 s: it
    was refused); when the walls wait longer than a second (3 s), it goes ahead anyway."""
    lanes = {"login": Lane("login", 1, WAIT_S, 100), "heavy": Lane("heavy", 1, WAIT_S, 100),
             "snapshot": Lane("snapshot", 1, snapshot_wait, 100),
             DEFAULT_LANE: Lane(DEFAULT_LANE, 2, 5.0, 100, yields_to="snapshot")}
    the_gate = AdmissionGate(get_asgi_application(), lanes=lanes)
    state = reverse("wall:state", args=["AD"])
    answered: list[str] = []

    async def scenario(holder):
        transport = httpx.ASGITransport(app=the_gate)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", cookies=signed_in) as client:
            async def get(name: str, url: str):
                response = await client.get(url)
                answered.append(name)
                return response

            building = asyncio.create_task(get("building", state))  # waits for the events' lock
            await until_taken(the_gate, "snapshot")
            waiting = asyncio.create_task(get("waiting wall", state))
            while not the_gate.places("snapshot").waiting:
                await asyncio.sleep(0.01)
            other = await get("other", reverse("geo:subdistricts"))
            if snapshot_wait > 1:
                assert not waiting.done()
            holder.rollback()
            return other, await waiting, await building

    with table_locked("incidents_incidentevent") as holder:
        other, waiting, building = run_async(scenario, holder)
    assert other.status_code == 200 and building.status_code == 200
    if snapshot_wait < 1:
        assert answered[:2] == ["waiting wall", "other"] and waiting.status_code == 503
    else:
        assert answered[0] == "other" and waiting.status_code == 200


def test_a_database_pool_without_a_free_connection_answers_503_not_500(signed_in):
    pool = connection.pool
    if pool is None:
        pytest.skip("DB_POOL_MAX_SIZE=0: no pool")
    the_gate = gate()
    timeout, pool.timeout = pool.timeout, WAIT_S
    taken = []
    try:
        while True:
            taken.append(pool.getconn())
    except PoolTimeout:
        pass

    async def scenario():
        transport = httpx.ASGITransport(app=the_gate)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", cookies=signed_in) as client:
            return await client.get(reverse("geo:subdistricts"))

    try:
        answer = run_async(scenario)
    finally:
        pool.timeout = timeout
        for conn in taken:
            pool.putconn(conn)
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "2"
    assert answer.json()["code"] == "overloaded"


def test_a_slow_body_holds_no_place(signed_in):
    """A client that sends its body slowly (a phone's photos over a weak signal, or on purpose)
    waits for it without a place: the one place of the lane still serves the next request."""
    the_gate = gate(**{DEFAULT_LANE: 1})
    stalled = asyncio.Event()

    async def trickle():  # half a body, then nothing
        if not stalled.is_set():
            stalled.set()
            return {"type": "http.request", "body": b'{"positions": [', "more_body": True}
        await asyncio.Event().wait()

    async def nowhere(message):
        pass

    scope = {"type": "http", "method": "POST", "path": "/api/v1/positions/", "headers": [], "query_string": b"",
             "http_version": "1.1", "scheme": "http", "server": ("testserver", 80), "client": ("127.0.0.1", 1)}

    async def scenario():
        slow = asyncio.create_task(the_gate(scope, trickle, nowhere))
        await stalled.wait()
        transport = httpx.ASGITransport(app=the_gate)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", cookies=signed_in) as client:
            answer = await client.get(reverse("geo:subdistricts"))
        slow.cancel()
        return answer

    assert run_async(scenario).status_code == 200
