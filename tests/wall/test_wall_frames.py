"""Event frames carry what the wall needs: the incident's board row, exactly as the snapshot has
it (wall.selectors.board_rows and the snapshot build it with the same function), so that a wall
applies an event without a request. Live, replayed on resume, and relayed from a worker process."""

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.renderers import dumps
from config.roles import UserRole
from dispatch.services import incident_transition
from incidents.events import events_for_payload
from incidents.models import IncidentEvent, Status
from incidents.services import incident_merge_records
from tests.factories import make_channels, make_user, make_world, put_on_duty
from tests.wall.test_wall_relay import INTAKE, next_of_type, run_worker
from tests.wall.test_wall_socket import (  # noqa: F401 - _fresh_channel_layer: autouse, empties the layer
    TIMEOUT,
    _fresh_channel_layer,
    drain,
    intake,
    socket,
)
from wall import relay
from wall.frames import event_messages
from wall.selectors import wall_state, wall_subdistrict


def snapshot_row(incident_id: int) -> dict | None:
    """The incident's row in the wall snapshot, as the page receives it (JSON), or None."""
    state = json.loads(dumps(wall_state(subdistrict=wall_subdistrict(code="T1"))))
    return next((row for row in state["incidents"] if row["id"] == incident_id), None)


@pytest.fixture
def people():
    world, channels = make_world(), make_channels()
    put_on_duty(world["member"])
    return {"world": world, "channels": channels,
            "dispatcher": make_user("dispatcher", UserRole.DISPATCHER),
            "calltaker": make_user("calltaker", UserRole.CALL_TAKER)}


@pytest.mark.django_db(transaction=True)
def test_a_live_frame_carries_the_row_of_the_snapshot_for_a_new_incident_and_a_status_change(people):
    world, dispatcher = people["world"], people["dispatcher"]
    communicator = socket("/ws/wall/T1/", dispatcher)

    def dispatch(incident_id):
        return incident_transition(incident_id=incident_id, action="dispatch", actor=dispatcher,
                                   members=[world["member"]], method="radio")

    async def scenario():
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        result = await database_sync_to_async(intake)(world, people["channels"], people["calltaker"])
        created = await next_of_type(communicator, "event")
        created_row = await database_sync_to_async(snapshot_row)(result.incident.pk)
        await database_sync_to_async(dispatch)(result.incident.pk)
        frames = []
        while not any(f["event"]["kind"] == "status_changed" for f in frames):
            frames.append(await next_of_type(communicator, "event"))
        changed_row = await database_sync_to_async(snapshot_row)(result.incident.pk)
        await communicator.disconnect()
        return result.incident, created, created_row, frames[-1], changed_row

    incident, created, created_row, changed, changed_row = async_to_sync(scenario)()
    assert created["event"]["kind"] == "created"
    assert created["incident"] == created_row
    assert created_row["status"] == Status.NEW and created_row["orders"] == []
    assert changed["event"]["to"] == Status.DISPATCHED
    assert changed["incident"] == changed_row
    assert changed_row["status"] == Status.DISPATCHED
    assert [o["member"] for o in changed_row["orders"]] == [world["member"].pk]


@pytest.mark.django_db(transaction=True)
def test_a_frame_says_null_when_its_incident_left_the_board(people):
    world, channels, calltaker = people["world"], people["channels"], people["calltaker"]
    into = intake(world, channels, calltaker, "第一起").incident
    duplicate = intake(world, channels, calltaker, "同一起").incident
    communicator = socket("/ws/wall/T1/", people["dispatcher"])

    async def scenario():
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        await database_sync_to_async(incident_merge_records)(incident_id=duplicate.pk, into_id=into.pk,
                                                             actor=people["dispatcher"])
        frames = []
        while not any(f["event"]["incident"] == duplicate.pk and f["event"]["status"] == Status.MERGED
                      for f in frames):
            frames.append(await next_of_type(communicator, "event"))
        await communicator.disconnect()
        return frames

    frames = async_to_sync(scenario)()
    assert frames[-1]["incident"] is None
    assert snapshot_row(duplicate.pk) is None


@pytest.mark.django_db(transaction=True)
def test_replayed_frames_carry_the_rows_of_the_snapshot(people):
    world, channels, calltaker, dispatcher = (people["world"], people["channels"], people["calltaker"],
                                              people["dispatcher"])
    first = intake(world, channels, calltaker, "第一起").incident
    second = intake(world, channels, calltaker, "第二起").incident
    incident_transition(incident_id=second.pk, action="dispatch", actor=dispatcher, members=[world["member"]],
                        method="radio")
    communicator = socket("/ws/wall/T1/?last_event=0", dispatcher)

    async def scenario():
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        messages = await drain(communicator)
        await communicator.disconnect()
        return messages

    messages = async_to_sync(scenario)()
    events = [m for m in messages if m["type"] == "event"]
    assert {m["event"]["incident"] for m in events} == {first.pk, second.pk}
    for message in events:  # each carries its incident as it is now, as the snapshot has it
        assert message["incident"] == snapshot_row(message["event"]["incident"])
    assert snapshot_row(second.pk)["status"] == Status.DISPATCHED


@pytest.mark.django_db
def test_the_rows_of_a_batch_are_read_in_two_queries_whatever_its_size(people):
    world, channels, calltaker = people["world"], people["channels"], people["calltaker"]
    for n in range(4):
        intake(world, channels, calltaker, f"第{n}起")
    events = events_for_payload(IncidentEvent.objects.all()).order_by("pk")
    with CaptureQueriesContext(connection) as queries:
        messages = event_messages(events)
    assert len(messages) == IncidentEvent.objects.exclude(kind__in=IncidentEvent.QUIET_KINDS).count() >= 4
    assert len(queries) == 3  # the events, the incidents, their orders
    assert all(json.loads(m["text"])["incident"]["id"] == json.loads(m["text"])["event"]["incident"]
               for m in messages)


@pytest.mark.django_db(transaction=True)
def test_a_frame_relayed_from_a_worker_process_carries_the_row(people):
    world, channels, calltaker = people["world"], people["channels"], people["calltaker"]
    communicator = socket("/ws/wall/T1/", make_user("command", UserRole.COMMAND_ROOM))
    code = INTAKE.format(channel=channels["hotline"].pk, category=world["category"].pk, user=calltaker.pk)

    async def scenario():
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        await relay.wait_listening()
        await asyncio.get_running_loop().run_in_executor(None, run_worker, code)
        message = await next_of_type(communicator, "event")
        await communicator.disconnect()
        return message

    message = async_to_sync(scenario)()
    assert message["event"]["kind"] == "created"
    assert message["incident"] == snapshot_row(message["event"]["incident"])
    assert message["incident"]["summary"] == "工作进程里受理的警情"
