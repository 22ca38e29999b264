"""A tenancy taken away closes its user's wall maps there (wall/access_frames.py): the socket checks
its user's access again and closes with the code a new connection would get; other users' walls of
the sub-district, and the user's walls where they still work, stay open."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async

from config.roles import UserRole
from geo.models import Tenancy
from tests.factories import make_user, make_world
from tests.wall.test_wall_relay import next_of_type
from tests.wall.test_wall_socket import (  # noqa: F401 - _fresh_channel_layer: autouse, empties the layer
    TIMEOUT,
    _fresh_channel_layer,
    socket,
)
from wall.consumers import CLOSE_NOT_FOUND


@pytest.mark.django_db(transaction=True)
def test_a_tenancy_taken_away_closes_that_users_walls_of_it_and_no_others():
    world, elsewhere = make_world("T1"), make_world("T2")
    leaving = make_user("leaving", UserRole.DISPATCHER)  # works in T1 and T2
    staying = make_user("staying", UserRole.DISPATCHER)
    walls = {"leaving T1": socket("/ws/wall/T1/?last_event=0", leaving),
             "leaving T2": socket("/ws/wall/T2/?last_event=0", leaving),
             "staying T1": socket("/ws/wall/T1/?last_event=0", staying)}

    def take_away() -> None:
        Tenancy.objects.filter(user=leaving, subdistrict=world["subdistrict"]).delete()

    async def scenario():
        for communicator in walls.values():
            connected, _ = await communicator.connect(timeout=TIMEOUT)
            assert connected
            await next_of_type(communicator, "caught_up", timeout=TIMEOUT)
        await database_sync_to_async(take_away)()
        closed = await walls["leaving T1"].receive_output(timeout=TIMEOUT)
        still = {name: await walls[name].receive_nothing(timeout=0.5) for name in ("leaving T2", "staying T1")}
        for name in ("leaving T2", "staying T1"):
            await walls[name].disconnect()
        return closed, still

    closed, still = async_to_sync(scenario)()
    assert closed == {"type": "websocket.close", "code": CLOSE_NOT_FOUND}
    assert still == {"leaving T2": True, "staying T1": True}
    assert elsewhere["subdistrict"].code == "T2"
