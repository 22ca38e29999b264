"""The server of the load benchmark (tests/bench/bench_load.py): `config.asgi:application` as
scripts/run-server serves it, with three bench-only routes in front of it for the floors:
`GET /__bench__/floor/` answers 204 without Django; `POST /__bench__/wall-floor/ {"n"}` sends
a tiny frame to the demo sub-district's wall group through the process's channel layer (with several
server processes on in-memory layers: to the walls connected to the process that took the request);
`POST /__bench__/recommend-floor/ {"x", "y"}` runs the recommendation's floor (`recommendation_floor`:
the SQL and the Dijkstra, without Django's request stack) on a thread of the server, beside the
requests and under the same load. Each answer carries its time in the server (`Server-Timing`).

An importable module (`tests.bench.bench_server:app`) so that uvicorn can start several processes.
"""

import json
import os
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from asgiref.sync import sync_to_async  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402

from config.asgi import application  # noqa: E402
from config.live import subdistrict_group as wall_group  # noqa: E402
from fixtures.demo import DEMO_CODE  # noqa: E402
from tests.bench.floors import recommendation_floor  # noqa: E402

FLOOR_PATH = "/__bench__/floor/"
WALL_FLOOR_PATH = "/__bench__/wall-floor/"
RECOMMEND_FLOOR_PATH = "/__bench__/recommend-floor/"

_floor = None


def _server_floor(x: float, y: float) -> None:
    """The floor in this server process, on the thread it runs on (connections closed as Django's)."""
    global _floor
    from django.db import close_old_connections

    from geo.models import Subdistrict

    close_old_connections()
    try:
        if _floor is None:
            _floor = recommendation_floor(Subdistrict.objects.get(code=DEMO_CODE))
        _floor(x, y)
    finally:
        close_old_connections()


async def _body(receive) -> bytes:
    body, more = b"", True
    while more:
        message = await receive()
        body, more = body + message.get("body", b""), message.get("more_body", False)
    return body


async def app(scope, receive, send) -> None:
    if scope["type"] == "http" and scope["path"] == RECOMMEND_FLOOR_PATH:
        started = time.perf_counter()
        point = json.loads(await _body(receive))
        await sync_to_async(_server_floor, thread_sensitive=False)(point["x"], point["y"])
        took = (time.perf_counter() - started) * 1000
        await send({"type": "http.response.start", "status": 204,
                    "headers": [(b"server-timing", f"app;dur={took:.1f}".encode())]})
        await send({"type": "http.response.body", "body": b""})
    elif scope["type"] == "http" and scope["path"] in (FLOOR_PATH, WALL_FLOOR_PATH):
        body = await _body(receive)
        if scope["path"] == WALL_FLOOR_PATH:
            n = json.loads(body)["n"]
            await get_channel_layer().group_send(wall_group(DEMO_CODE), {
                "type": "incident.event", "id": -n, "text": json.dumps({"type": "floor", "n": n})})
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
    elif scope["type"] == "http":
        started = time.perf_counter()

        async def timed_send(message):
            if message["type"] == "http.response.start":
                took = (time.perf_counter() - started) * 1000
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"server-timing", f"app;dur={took:.1f}".encode())]}
            await send(message)

        await application(scope, receive, timed_send)
    else:
        await application(scope, receive, send)
