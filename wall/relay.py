"""The live pipeline's receiving half in a server process: what worker processes publish without
Redis, through PostgreSQL's LISTEN/NOTIFY (the sending half: config/live.py).

With REDIS_URL set every process shares channels-redis and publishes to the groups directly: this
listener is not started. Without it the channel layer is in-memory, private to its process: an
alarm raised by `run_sla_clock`, an incident played by `simulate` or a delivery noted by
`run_feedback_worker` would never reach the sockets of the ASGI server. Those processes NOTIFY
instead, and each server process LISTENs and hands what arrives to its own layer:

- rows as their kind and ids (`{"kind", "ids"}`): the messages are built here by the builder the
  kind's owner registered (config.live.register), exactly as the publishing process would have;
- positions as themselves.

The listener starts with the first websocket that reaches the server process (`ListenOnConnect`,
around every socket route in config/asgi.py), on the server's event loop, and listens again with a
growing pause when its connection drops.
"""

import asyncio
import json
import logging
from typing import Any, cast

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import connections

from config import live
from config.socket_db import socket_db

log = logging.getLogger(__name__)

LISTEN_RETRY_MAX_S = 30.0

_listener: asyncio.Task | None = None
_listening: asyncio.Event | None = None  # set while the listener holds its LISTEN


def ensure_listener(layer: Any) -> None:
    """Start this process's listener once, on the running event loop (the server's), when its
    channel layer is in-memory."""
    global _listener, _listening
    if not isinstance(layer, InMemoryChannelLayer):
        return
    loop = asyncio.get_running_loop()
    if _listener is not None and not _listener.done() and _listener.get_loop() is loop:
        return
    _listening = asyncio.Event()
    _listener = loop.create_task(_listen(layer, _listening), name="gridlink-live-relay")


class ListenOnConnect:
    """ASGI middleware around the websocket routes: every socket's connection makes sure this
    process listens (one check, then the socket goes on as it would)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket":
            ensure_listener(get_channel_layer())
        return await self.inner(scope, receive, send)


async def wait_listening(timeout: float = 10.0) -> None:
    """Until this process's listener holds its LISTEN (tests, before a worker publishes; the first
    socket starts it)."""
    loop = asyncio.get_running_loop()

    async def ready() -> None:
        # a listener of an earlier event loop (a closed one) does not count
        while _listener is None or _listener.get_loop() is not loop:
            await asyncio.sleep(0.02)
        await cast(asyncio.Event, _listening).wait()  # made with the listener waited for above

    await asyncio.wait_for(ready(), timeout)


def _conninfo() -> dict:
    settings = connections["default"].settings_dict
    params = {"dbname": settings["NAME"], "user": settings.get("USER"), "password": settings.get("PASSWORD"),
              "host": settings.get("HOST"), "port": settings.get("PORT")}
    return {key: str(value) for key, value in params.items() if value}


async def _listen(layer: Any, listening: asyncio.Event) -> None:
    import psycopg  # psycopg 3: async notifications

    wait = 1.0
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(**_conninfo(), autocommit=True) as conn:
                await conn.execute(f"LISTEN {live.CHANNEL}")
                listening.set()
                wait = 1.0
                async for notification in conn.notifies():
                    await _forward(layer, notification.payload)
        except asyncio.CancelledError:
            raise
        except Exception:
            listening.clear()
            log.exception("the live relay lost its PostgreSQL connection; listening again in %.0f s", wait)
            await asyncio.sleep(wait)
            wait = min(wait * 2, LISTEN_RETRY_MAX_S)


async def _forward(layer: Any, payload: str) -> None:
    try:
        body = json.loads(payload)
        if body.get("pid") == live.ORIGIN:
            return  # our own: already published in process
        group = body["group"]
        if "positions" in body:
            await layer.group_send(group, live.positions_message(body["positions"]))
        elif "ids" in body:
            for message in await socket_db(live.build_messages)(body["kind"], body["ids"]):
                await layer.group_send(group, message)
    except Exception:  # one bad notification must not stop the listener
        log.exception("the live relay could not forward a notification")
