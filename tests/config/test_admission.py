"""Overload (config/admission.py): a request that finds no place answers 503 with Retry-After at
once, in its API's shape and the user's language, while the request holding the place is still
running; a burst in one lane leaves the others free; a database pool out of connections answers 503
rather than 500.

Real parts: Django's own ASGI application behind the gate, real sessions, real PostgreSQL. A request
is made slow by a lock the test holds on a table it reads (a second connection of the test's own)."""

import asyncio
import time
from contextlib import contextmanager

import httpx
import pytest
from django.core.asgi import get_asgi_application
from django.db import connection
from django.test import Client
from django.urls import reverse
from psycopg_pool import PoolTimeout

from config import asgi
from config.admission import (
    DEFAULT_LANE,
    YIELD_STALL_SECONDS,
    AdmissionGate,
    Lane,
    _Places,
    lanes_from_settings,
)
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
    http = asgi.application.application_mapping["http"]
    assert isinstance(http.app, AdmissionGate)  # behind the wall snapshot's shortcut (tests/wall/test_snapshot_shortcut.py)


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
    assert lane("GET", "/api/v1/wall/AD/state/", signed_in=True) == "snapshot"
    # anybody's requests to the path, or another method, cannot fill the lane the others yield to
    assert lane("GET", "/api/v1/wall/AD/state/", signed_in=False) == DEFAULT_LANE
    assert lane("POST", "/api/v1/wall/AD/state/", signed_in=True) == DEFAULT_LANE
    assert lane("GET", "/api/v1/wall/AD/replay/", signed_in=True) == "heavy"
    assert lane("GET", "/api/schema/", signed_in=False) == "heavy"
    assert lane("POST", "/accounts/login/", signed_in=False) == "login"
    assert lane("GET", "/accounts/login/", signed_in=False) == DEFAULT_LANE
    assert lane("GET", "/api/v1/incidents/1/recommendations/", signed_in=True) == DEFAULT_LANE


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


def test_the_default_lane_yields_to_the_walls_waiting_for_a_snapshot():
    assert lanes_from_settings()[DEFAULT_LANE].yields_to == "snapshot"


async def _lanes(snapshot_wait: float) -> tuple[_Places, _Places]:
    """A full default lane (1 place) and a snapshot lane (1 place, taken) with a wall waiting."""
    default = _Places(Lane(DEFAULT_LANE, 1, 5.0, 100, yields_to="snapshot"))
    snapshot = _Places(Lane("snapshot", 1, snapshot_wait, 100))
    assert await default.take() and await snapshot.take()
    return default, snapshot


def test_when_its_lane_is_full_a_request_lets_the_waiting_walls_start_first():
    async def scenario():
        default, snapshot = await _lanes(snapshot_wait=5.0)
        wall = asyncio.create_task(snapshot.take())
        await asyncio.sleep(0.01)
        request = asyncio.create_task(default.take(ahead=snapshot))
        await asyncio.sleep(0.01)
        default.give_back()  # a place is free, but a wall is waiting
        await asyncio.sleep(0.1)
        before_the_wall = request.done()
        snapshot.give_back()  # the wall starts; then the request
        return before_the_wall, await wall, await request

    assert run_async(scenario) == (False, True, True)


async def _walls_progressing(walls: int) -> list[int]:
    """A full default lane, `walls` walls waiting for the snapshot lane's one place, a request of the
    default lane arriving, its place freed; then the walls get their place one at a time, 0.3 s
    apart (longer than a stall: the lane makes progress). For each wall, how many walls still
    waited when the request was found to have its place (none while it yielded)."""
    default, snapshot = await _lanes(snapshot_wait=5.0)
    waiting = [asyncio.create_task(snapshot.take()) for _ in range(walls)]
    await asyncio.sleep(0.01)
    request = asyncio.create_task(default.take(ahead=snapshot))
    await asyncio.sleep(0.01)
    default.give_back()
    seen = []
    for wall in waiting:
        await asyncio.sleep(0.3)
        if request.done():
            seen.append(sum(not w.done() for w in waiting))
        snapshot.give_back()
        assert await wall
    assert await request
    return seen


def test_a_request_yields_for_as_long_as_the_walls_make_progress():
    assert run_async(_walls_progressing, 2) == []  # never ahead of a wall (0.6 s)


def test_a_request_yields_for_a_second_at_most():
    seen = run_async(_walls_progressing, 6)  # the walls would take 1.8 s
    assert seen and seen[0] >= 1  # it went ahead while walls still waited


def test_a_stuck_snapshot_lane_stops_holding_a_request_back():
    async def scenario():
        default, snapshot = await _lanes(snapshot_wait=3.0)
        wall = asyncio.create_task(snapshot.take())  # never gets its place
        await asyncio.sleep(0.01)
        started = time.monotonic()
        request = asyncio.create_task(default.take(ahead=snapshot))
        await asyncio.sleep(0.01)
        default.give_back()
        taken = await request
        waited = time.monotonic() - started
        wall_still_waiting = not wall.done()
        wall.cancel()
        return taken, waited, wall_still_waiting

    taken, waited, wall_still_waiting = run_async(scenario)
    assert taken and wall_still_waiting  # it went ahead before the wall's 3 s were over
    assert waited >= YIELD_STALL_SECONDS - 0.1  # once the lane had given nobody a place for a while


def test_a_lane_with_a_free_place_never_waits_for_another():
    async def scenario():
        default = _Places(Lane(DEFAULT_LANE, 2, 5.0, 100, yields_to="snapshot"))
        _unused, snapshot = await _lanes(snapshot_wait=5.0)
        wall = asyncio.create_task(snapshot.take())
        await asyncio.sleep(0.01)
        taken = await asyncio.wait_for(default.take(ahead=snapshot), timeout=0.5)
        wall.cancel()
        return taken

    assert run_async(scenario)


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
