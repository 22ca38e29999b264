"""The wall map's fan-out machinery: the single-process channel layer (config.channel_layers), the
event frame encoded once by the publisher, and a wall socket that outlives the layer's group expiry."""

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.gis.geos import Point
from django.test import Client

from config.asgi import application
from config.channel_layers import InMemoryChannelLayer
from config.roles import UserRole
from incidents.events import event_payload
from incidents.models import IncidentEvent
from incidents.services import incident_intake
from tests.factories import make_channels, make_user, make_world, run_async
from wall.frames import event_message

TIMEOUT = 3


def test_group_send_gives_each_member_its_own_copy_and_a_full_queue_drops_only_its_own():
    async def scenario():
        layer = InMemoryChannelLayer(capacity=1)
        await layer.group_add("wall.T1", "specific.a!1")
        await layer.group_add("wall.T1", "specific.a!2")
        await layer.send("specific.a!1", {"type": "filler"})  # channel 1 is full now
        await layer.group_send("wall.T1", {"type": "incident.event", "id": 7, "text": "{}"})
        first = await asyncio.wait_for(layer.receive("specific.a!1"), TIMEOUT)
        second = await asyncio.wait_for(layer.receive("specific.a!2"), TIMEOUT)
        nothing_more = await _receive_or_none(layer, "specific.a!1")
        return first, second, nothing_more

    first, second, nothing_more = run_async(scenario)
    assert first == {"type": "filler"}
    assert second == {"type": "incident.event", "id": 7, "text": "{}", "seq": 1}  # numbered in its group
    assert nothing_more is None


async def _receive_or_none(layer, channel, timeout=0.2):
    try:
        return await asyncio.wait_for(layer.receive(channel), timeout)
    except TimeoutError:
        return None


def test_expired_messages_are_still_dropped():
    async def scenario():
        layer = InMemoryChannelLayer(expiry=1)
        layer.CLEAN_INTERVAL_S = 0.1
        await layer.send("specific.a!1", {"type": "old"})
        await asyncio.sleep(1.2)
        return await _receive_or_none(layer, "specific.a!1")

    assert run_async(scenario) is None


@pytest.mark.django_db
def test_the_frame_is_encoded_once_as_the_socket_sends_it():
    world, channels = make_world(), make_channels()
    calltaker = make_user("calltaker", UserRole.CALL_TAKER)
    result = incident_intake(channel=channels["hotline"], category=world["category"], description="噪音",
                             actor=calltaker, location=Point(120.495, 30.495, srid=4326))
    event = IncidentEvent.objects.filter(incident=result.incident).order_by("pk").first()
    payload = event_payload(event, result.incident)
    message = event_message(payload, None)
    assert message["type"] == "incident.event"
    assert message["id"] == event.pk
    assert json.loads(message["text"]) == {"type": "event", "event": json.loads(json.dumps(payload))}
    with_row = event_message(payload, {result.incident.pk: {"id": result.incident.pk}})
    assert json.loads(with_row["text"])["incident"] == {"id": result.incident.pk}


@pytest.mark.django_db(transaction=True)
def test_a_wall_map_open_longer_than_the_group_expiry_still_receives_events(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "config.channel_layers.InMemoryChannelLayer",
                                           "CONFIG": {"group_expiry": 2}}}
    world, channels = make_world(), make_channels()
    dispatcher = make_user("dispatcher", UserRole.DISPATCHER)
    calltaker = make_user("calltaker", UserRole.CALL_TAKER)
    client = Client()
    client.force_login(dispatcher)
    communicator = WebsocketCommunicator(application, "/ws/wall/T1/", headers=[
        (b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"), (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())])

    def intake():
        return incident_intake(channel=channels["hotline"], category=world["category"], description="夜间噪音",
                               actor=calltaker, location=Point(120.495, 30.495, srid=4326))

    async def scenario():
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        await asyncio.sleep(3.5)  # past the expiry of the first join
        result = await database_sync_to_async(intake)()
        message = await communicator.receive_json_from(timeout=TIMEOUT)
        await communicator.disconnect()
        return result, message

    try:
        result, message = async_to_sync(scenario)()
    finally:
        async_to_sync(get_channel_layer().flush)()
    assert message["type"] == "event"
    assert message["event"]["incident"] == result.incident.pk
