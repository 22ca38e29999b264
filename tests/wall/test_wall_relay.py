"""Without Redis, what a worker process publishes (the SLA clock, the feedback worker, simulate)
reaches the wall sockets of the server process through PostgreSQL's LISTEN/NOTIFY
(config/live.py, wall/relay.py). A real `manage.py` subprocess commits; the test's ASGI application (the
server) holds a real wall socket."""

import asyncio
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.utils import timezone

from config import live
from config.roles import UserRole
from tests.e2e.conftest import _server, subprocess_env
from tests.factories import make_channels, make_user, make_world, run_async
from tests.wall.test_wall_socket import TIMEOUT, socket
from wall import relay

REPO = Path(__file__).resolve().parents[2]

INTAKE = """
from django.contrib.auth.models import User
from django.contrib.gis.geos import Point
from incidents.models import Category, Channel
from incidents.services import incident_intake
incident_intake(channel=Channel.objects.get(pk={channel}), category=Category.objects.get(pk={category}),
                description="工作进程里受理的警情", actor=User.objects.get(pk={user}),
                location=Point(120.495, 30.495, srid=4326))
"""

POSITIONS = """
import time
from datetime import timedelta
from django.utils import timezone
from dispatch.positions import Fix, positions_ingest
now = timezone.now()
positions_ingest(fixes=[Fix({member}, now - timedelta(seconds=s), 120.4951 + s / 1e5, 30.4952, 5.0) for s in range(3)])
time.sleep(2.5)  # the fan-out's throttled send runs on a timer in this process
"""


@pytest.mark.django_db(transaction=True)
def test_an_sla_alarm_raised_by_the_clock_worker_reaches_the_wall():
    """The escalation the issues send to the wall map: `run_sla_clock`, its own process, finds an
    overdue order and raises the alarm; the wall socket of the server gets the `alarm` event."""
    from tests.dispatch.test_sla_clock import build_world, make_incident, make_order

    world = build_world()
    incident = make_incident(world)
    make_order(world, incident, world["member"], arrive_by=timezone.now() - timedelta(minutes=5))
    communicator = socket(f"/ws/wall/{world['subdistrict'].code}/", make_user("command", UserRole.COMMAND_ROOM))

    async def scenario():
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        await relay.wait_listening()
        await asyncio.get_running_loop().run_in_executor(None, run_command, ["run_sla_clock", "--once"])
        message = await next_of_type(communicator, "event")
        await communicator.disconnect()
        return message["event"]

    event = async_to_sync(scenario)()
    assert (event["kind"], event["incident"]) == ("alarm", incident.pk)


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    yield
    run_async(get_channel_layer().flush)


def run_command(arguments: list[str]) -> None:
    """`manage.py <arguments>` as its own process on the test database, without Redis."""
    env = subprocess_env(_server(), connection.settings_dict["NAME"])
    env.pop("REDIS_URL", None)  # the in-memory layer: the relay's case
    env.pop(live.WORKER_FLAG, None)  # manage.py sets it itself
    done = subprocess.run([sys.executable, "manage.py", *arguments], cwd=REPO, env=env,  # noqa: S603
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def run_worker(code: str) -> None:
    run_command(["shell", "-c", code])


async def next_of_type(communicator, kind: str, timeout: float = 10.0) -> dict:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        message = await communicator.receive_json_from(timeout=max(0.1, deadline - loop.time()))
        if message["type"] == kind:
            return message


@pytest.mark.django_db(transaction=True)
def test_a_worker_process_event_reaches_the_wall_through_postgresql():
    world = make_world()
    channels = make_channels()
    calltaker = make_user("calltaker", UserRole.CALL_TAKER)
    communicator = socket("/ws/wall/T1/", make_user("command", UserRole.COMMAND_ROOM))
    code = INTAKE.format(channel=channels["hotline"].pk, category=world["category"].pk, user=calltaker.pk)

    async def scenario():
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        await relay.wait_listening()
        await asyncio.get_running_loop().run_in_executor(None, run_worker, code)
        message = await next_of_type(communicator, "event")
        await communicator.disconnect()
        return message["event"]

    event = async_to_sync(scenario)()
    assert event["kind"] == "created"
    assert event["status"] == "new"
    assert event["number"]


@pytest.mark.django_db(transaction=True)
def test_a_worker_process_positions_reach_the_wall_through_postgresql():
    world = make_world()
    communicator = socket("/ws/wall/T1/", make_user("command", UserRole.COMMAND_ROOM))
    code = POSITIONS.format(member=world["member"].pk)

    async def scenario():
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        await relay.wait_listening()
        await asyncio.get_running_loop().run_in_executor(None, run_worker, code)
        message = await next_of_type(communicator, "positions")
        await communicator.disconnect()
        return message["positions"]

    positions = async_to_sync(scenario)()
    assert [p["member"] for p in positions] == [world["member"].pk]
    assert positions[0]["lon"] == pytest.approx(120.4951)  # the newest of the three fixes


def test_positions_are_split_into_notifications_that_fit(monkeypatch):
    sent = []
    monkeypatch.setattr(live, "_notify", sent.extend)
    positions = [{"member": i, "lon": 120.5, "lat": 30.5, "at": "2026-11-24T08:00:00+08:00", "accuracy_m": 5.0}
                 for i in range(692)]
    live._notify_positions("wall.T1", positions)
    assert len(sent) > 1
    assert all(len(p.encode()) <= live.NOTIFY_MAX_BYTES for p in sent)
    assert [q["member"] for p in sent for q in json.loads(p)["positions"]] == list(range(692))
    assert {json.loads(p)["pid"] for p in sent} == {live.ORIGIN}


PEER = """
import os, time
# a second server process (`make run WORKERS=2` without Redis): not a worker, but with peers
os.environ["GRIDLINK_WALL_RELAY"] = "0"
os.environ["GRIDLINK_RELAY_PEERS"] = "1"
""" + INTAKE + POSITIONS


@pytest.mark.django_db(transaction=True)
def test_a_peer_server_process_reaches_the_sockets_this_process_holds():
    """What a server process publishes in process (its own sockets) also reaches the sockets of the
    other server processes, through PostgreSQL: the intake's event and the positions."""
    world = make_world()
    channels = make_channels()
    calltaker = make_user("calltaker", UserRole.CALL_TAKER)
    communicator = socket("/ws/wall/T1/", make_user("command", UserRole.COMMAND_ROOM))
    code = PEER.format(channel=channels["hotline"].pk, category=world["category"].pk, user=calltaker.pk,
                       member=world["member"].pk)

    async def scenario():
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        await relay.wait_listening()
        await asyncio.get_running_loop().run_in_executor(None, run_worker, code)
        event = await next_of_type(communicator, "event")
        positions = await next_of_type(communicator, "positions")
        await communicator.disconnect()
        return event["event"], positions["positions"]

    event, positions = async_to_sync(scenario)()
    assert event["kind"] == "created"
    assert [p["member"] for p in positions] == [world["member"].pk]
