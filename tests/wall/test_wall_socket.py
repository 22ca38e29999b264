"""The wall map's websocket (wall.consumers.WallConsumer) through the real ASGI stack:
origin check, session auth, roles, live events published after commit, resume from an event id."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.gis.geos import Point
from django.test import Client

from config.asgi import application
from config.roles import UserRole
from incidents.models import IncidentEvent
from incidents.services import incident_intake
from tests.factories import make_channels, make_user, make_world, run_async
from wall import consumers

P = Point(120.495, 30.495, srid=4326)  # inside make_world's west grid
TIMEOUT = 3


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """The channel layer emptied after each test, through `run_async`: after the browser tests
    Playwright's loop counts as running in the main thread, where async_to_sync refuses to start."""
    yield
    run_async(get_channel_layer().flush)


def session_headers(user=None) -> list[tuple[bytes, bytes]]:
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]  # a page of this server
    if user is not None:
        client = Client()
        client.force_login(user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return headers


def socket(path: str, user=None) -> WebsocketCommunicator:
    """Built in sync code (the test's body): logging in touches the database."""
    return WebsocketCommunicator(application, path, headers=session_headers(user))


async def closed_with(communicator: WebsocketCommunicator) -> int | None:
    connected, code = await communicator.connect(timeout=TIMEOUT)
    if not connected:
        return code
    message = await communicator.receive_output(timeout=TIMEOUT)
    assert message["type"] == "websocket.close"
    return message.get("code")


def intake(world, channels, actor, description="邻居装修噪音扰民"):
    return incident_intake(channel=channels["hotline"], category=world["category"], description=description,
                           actor=actor, location=P)


@pytest.mark.django_db(transaction=True)
def test_anonymous_socket_is_refused():
    make_world()
    assert async_to_sync(closed_with)(socket("/ws/wall/T1/")) == consumers.CLOSE_ANONYMOUS


@pytest.mark.django_db(transaction=True)
def test_foreign_origin_is_refused():
    make_world()
    communicator = WebsocketCommunicator(application, "/ws/wall/T1/", headers=[(b"origin", b"http://evil.example")])
    connected, _ = async_to_sync(communicator.connect)(timeout=TIMEOUT)
    assert not connected


@pytest.mark.django_db(transaction=True)
def test_planner_is_refused():
    make_world()
    planner = make_user("planner", UserRole.PLANNER)
    assert async_to_sync(closed_with)(socket("/ws/wall/T1/", planner)) == consumers.CLOSE_FORBIDDEN


@pytest.mark.django_db(transaction=True)
def test_unknown_subdistrict_is_refused():
    make_world()
    dispatcher = make_user("dispatcher", UserRole.DISPATCHER)
    assert async_to_sync(closed_with)(socket("/ws/wall/NOPE/", dispatcher)) == consumers.CLOSE_NOT_FOUND


@pytest.mark.django_db(transaction=True)
def test_dispatcher_receives_an_incident_created_after_connecting():
    world, channels = make_world(), make_channels()
    dispatcher = make_user("dispatcher", UserRole.DISPATCHER)
    calltaker = make_user("calltaker", UserRole.CALL_TAKER)

    communicator = socket("/ws/wall/T1/", dispatcher)

    async def scenario():
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        assert await communicator.receive_nothing(timeout=0.1)
        result = await database_sync_to_async(intake)(world, channels, calltaker)
        message = await communicator.receive_json_from(timeout=TIMEOUT)
        await communicator.disconnect()
        return result, message

    result, message = async_to_sync(scenario)()
    assert message["type"] == "event"
    assert message["event"]["incident"] == result.incident.pk
    assert message["event"]["number"] == result.incident.number
    assert message["event"]["kind"] == IncidentEvent.Kind.CREATED
    first = IncidentEvent.objects.filter(incident=result.incident).order_by("pk").first()
    assert message["event"]["id"] == first.pk


async def drain(communicator: WebsocketCommunicator) -> list[dict]:
    """Messages up to and including the first caught_up / resync."""
    messages = []
    while True:
        message = await communicator.receive_json_from(timeout=TIMEOUT)
        messages.append(message)
        if message["type"] in ("caught_up", "resync"):
            return messages


@pytest.mark.django_db(transaction=True)
def test_resume_sends_exactly_the_missed_events_in_order():
    world, channels = make_world(), make_channels()
    dispatcher = make_user("dispatcher", UserRole.DISPATCHER)
    calltaker = make_user("calltaker", UserRole.CALL_TAKER)
    intake(world, channels, calltaker, "第一起")
    seen = IncidentEvent.objects.order_by("pk").last().pk
    intake(world, channels, calltaker, "第二起")
    intake(world, channels, calltaker, "第三起")
    missed = list(IncidentEvent.objects.filter(pk__gt=seen).order_by("pk").values_list("pk", flat=True))
    assert len(missed) >= 2

    communicator = socket(f"/ws/wall/T1/?last_event={seen}", dispatcher)

    async def scenario():
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        messages = await drain(communicator)
        assert await communicator.receive_nothing(timeout=0.1)
        # the same again asked for by message, from the very start
        await communicator.send_json_to({"type": "resume", "last_event": 0})
        again = await drain(communicator)
        await communicator.disconnect()
        return messages, again

    messages, again = async_to_sync(scenario)()
    assert [m["type"] for m in messages] == ["event"] * len(missed) + ["caught_up"]
    assert [m["event"]["id"] for m in messages[:-1]] == missed
    assert messages[-1] == {"type": "caught_up", "last_event": missed[-1]}
    everything = list(IncidentEvent.objects.order_by("pk").values_list("pk", flat=True))
    assert [m["event"]["id"] for m in again[:-1]] == everything
    assert again[-1] == {"type": "caught_up", "last_event": missed[-1]}


@pytest.mark.django_db(transaction=True)
def test_resume_with_nothing_missed_only_confirms():
    world, channels = make_world(), make_channels()
    dispatcher = make_user("dispatcher", UserRole.DISPATCHER)
    intake(world, channels, make_user("calltaker", UserRole.CALL_TAKER))
    newest = IncidentEvent.objects.order_by("pk").last().pk

    communicator = socket(f"/ws/wall/T1/?last_event={newest}", dispatcher)

    async def scenario():
        await communicator.connect(timeout=TIMEOUT)
        messages = await drain(communicator)
        await communicator.disconnect()
        return messages

    assert async_to_sync(scenario)() == [{"type": "caught_up", "last_event": newest}]


@pytest.mark.django_db(transaction=True)
def test_too_many_missed_events_ask_the_client_to_reload(monkeypatch):
    world, channels = make_world(), make_channels()
    dispatcher = make_user("dispatcher", UserRole.DISPATCHER)
    calltaker = make_user("calltaker", UserRole.CALL_TAKER)
    for n in range(3):
        intake(world, channels, calltaker, f"第{n}起")
    newest = IncidentEvent.objects.order_by("pk").last().pk
    monkeypatch.setattr(consumers, "RESUME_CAP", 1)

    communicator = socket("/ws/wall/T1/?last_event=0", dispatcher)

    async def scenario():
        await communicator.connect(timeout=TIMEOUT)
        messages = await drain(communicator)
        await communicator.disconnect()
        return messages

    assert async_to_sync(scenario)() == [{"type": "resync", "last_event": newest}]
