"""Wall messages from processes that hold no wall sockets, without Redis: through PostgreSQL's
LISTEN/NOTIFY.

With REDIS_URL set, every process shares channels-redis and sends to the wall group directly. Without
it the channel layer is in-memory, private to its process: an alarm raised by `run_sla_clock`, an
incident played by `simulate` or a delivery noted by `run_feedback_worker` would never reach the
wall maps connected to the ASGI server. Those processes NOTIFY instead (after their transaction
committed, like every publication), and each ASGI server process LISTENs and hands what arrives to
its own in-memory layer:

- an event travels as its id only (`{"events": [id, ...]}`), the listener reads the event rows and
  builds the frames exactly as the publishing process would have — so a NOTIFY stays far below
  PostgreSQL's 8,000-byte limit whatever the event's note holds;
- positions travel as themselves, in chunks that fit;
- other apps' rows (a member's message) travel as ids with their kind (`{"kind", "ids"}`); the
  app registers how to build their messages (`register_loader`).

Which processes relay: those started through manage.py (it sets GRIDLINK_WALL_RELAY=1); the ASGI
server (uvicorn) and the test process publish in process, so the relay adds nothing to the wall's
latency for what the server itself does. Several server processes (`make run WORKERS=N` without
Redis: scripts/run-server sets GRIDLINK_RELAY_PEERS=1) publish both ways: in process for their own
sockets, and through PostgreSQL for the sockets their peers hold (each listener skips what its own
process sent). A notification sent
while no server listens is lost; the wall catches up from the event table when it reconnects, and
the next positions batch moves the markers.
"""

import asyncio
import json
import logging
import os
import uuid
from collections.abc import Callable
from typing import cast

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import connection, connections

from config.socket_db import socket_db

log = logging.getLogger(__name__)

CHANNEL = "gridlink_wall"
NOTIFY_MAX_BYTES = 7800  # PostgreSQL refuses a payload of 8,000 bytes or more
LISTEN_RETRY_MAX_S = 30.0

WORKER_FLAG = "GRIDLINK_WALL_RELAY"  # set by manage.py
PEERS_FLAG = "GRIDLINK_RELAY_PEERS"  # set by scripts/run-server for several server processes

_listener: asyncio.Task | None = None
_listening: asyncio.Event | None = None  # set while the listener holds its LISTEN


def _process_local(layer) -> bool:
    return isinstance(layer, InMemoryChannelLayer)


def relays(layer) -> bool:
    """Whether this process must publish through PostgreSQL rather than its channel layer."""
    return layer is not None and os.environ.get(WORKER_FLAG) == "1" and _process_local(layer)


def has_peers(layer) -> bool:
    """Whether other server processes hold sockets too, reached only through PostgreSQL (several
    server processes on in-memory layers): publish in process and through the relay."""
    return layer is not None and os.environ.get(PEERS_FLAG) == "1" and _process_local(layer)


def _notify(payloads: list[str]) -> None:
    with connection.cursor() as cursor:
        for payload in payloads:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, payload])


# Who sent a notification: a random token per process (process ids repeat across containers).
ORIGIN = uuid.uuid4().hex


def _envelope(group: str, body: dict) -> str:
    return json.dumps({"pid": ORIGIN, "group": group, **body}, separators=(",", ":"), ensure_ascii=False)


def notify_events(group: str, event_ids: list[int]) -> None:
    """Announce committed IncidentEvents to the wall servers (ids only)."""
    _notify([_envelope(group, {"events": event_ids})])


def notify_ids(group: str, kind: str, ids: list[int]) -> None:
    """Announce committed rows of a registered `kind` (see `register_loader`) to the servers, by id."""
    _notify([_envelope(group, {"kind": kind, "ids": ids})])


def notify_ids_many(kind: str, rows: list[tuple[str, int]]) -> None:
    """`notify_ids` for many (group, id) rows at once: one notification each, in one statement."""
    payloads = [_envelope(group, {"kind": kind, "ids": [object_id]}) for group, object_id in rows]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_notify(%s, p)) FROM unnest(%s::text[]) AS p", [CHANNEL, payloads])


def notify_positions(group: str, positions: list[dict]) -> None:
    """Hand a positions batch to the wall servers, split into notifications that fit."""
    payloads: list[str] = []
    chunk: list[dict] = []
    for position in positions:
        candidate = _envelope(group, {"positions": [*chunk, position]})
        if chunk and len(candidate.encode()) > NOTIFY_MAX_BYTES:
            payloads.append(_envelope(group, {"positions": chunk}))
            chunk = [position]
        else:
            chunk.append(position)
    if chunk:
        payloads.append(_envelope(group, {"positions": chunk}))
    _notify(payloads)


async def anotify_positions(group: str, positions: list[dict]) -> None:
    await socket_db(notify_positions)(group, positions)


# --- the listening side (ASGI server processes) ---------------------------------------------------

def ensure_listener(layer) -> None:
    """Start this process's listener once, on the running event loop (the server's), when its channel
    layer is in-memory. Called by each wall socket as it connects."""
    global _listener, _listening
    if not _process_local(layer):
        return
    loop = asyncio.get_running_loop()
    if _listener is not None and not _listener.done() and _listener.get_loop() is loop:
        return
    _listening = asyncio.Event()
    _listener = loop.create_task(_listen(layer, _listening), name="gridlink-wall-relay")


async def wait_listening(timeout: float = 10.0) -> None:
    """Until this process's listener holds its LISTEN (tests, before a worker publishes; the first wall
    socket starts it once its connection was accepted and checked)."""
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


async def _listen(layer, listening: asyncio.Event) -> None:
    import psycopg  # psycopg 3: async notifications

    wait = 1.0
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(**_conninfo(), autocommit=True) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                listening.set()
                wait = 1.0
                async for notification in conn.notifies():
                    await _forward(layer, notification.payload)
        except asyncio.CancelledError:
            raise
        except Exception:
            listening.clear()
            log.exception("the wall relay lost its PostgreSQL connection; listening again in %.0f s", wait)
            await asyncio.sleep(wait)
            wait = min(wait * 2, LISTEN_RETRY_MAX_S)


def _event_messages(event_ids: list[int]) -> list[dict]:
    """The messages of relayed events, built once per event in this process (frames with their
    incidents' board rows, read for all of them at once), then sent to every socket here."""
    from incidents.events import events_for_payload, wall_event_messages
    from incidents.models import IncidentEvent

    return wall_event_messages(events_for_payload(IncidentEvent.objects.filter(pk__in=event_ids)).order_by("pk"))


def positions_message(positions: list[dict]) -> dict:
    """The channel-layer message of a positions batch: only the socket's frame, encoded once here
    rather than once per open wall map (see WallConsumer) — and the in-memory layer copies each
    message for each socket, so a list of dicts beside it would be copied a thousand times."""
    return {"type": "positions.batch", "text": json.dumps({"type": "positions", "positions": positions})}



async def _forward(layer, payload: str) -> None:
    try:
        body = json.loads(payload)
        if body.get("pid") == ORIGIN:
            return  # our own: already published in process
        group = body["group"]
        if "events" in body:
            for message in await socket_db(_event_messages)(body["events"]):
                await layer.group_send(group, message)
        elif "positions" in body:
            await layer.group_send(group, positions_message(body["positions"]))
        elif "ids" in body:
            loader = _loaders.get(body.get("kind"))
            if loader is None:
                log.warning("the relay has no loader for %r: notification dropped", body.get("kind"))
                return
            for message in await socket_db(loader)(body["ids"]):
                await layer.group_send(group, message)
    except Exception:  # one bad notification must not stop the listener
        log.exception("the wall relay could not forward a notification")


# Rows of other apps relayed by id (the members' messages of dispatch/live.py): the app that owns
# the rows registers, at import, how a server process builds their channel-layer messages from the
# committed rows — so this module never imports the apps above it.
_loaders: dict[str, Callable[[list[int]], list[dict]]] = {}


def register_loader(kind: str, loader: Callable[[list[int]], list[dict]]) -> None:
    """`loader(ids)` returns the channel-layer messages of those committed rows (sync: it reads
    the database), sent to the group the publisher named."""
    _loaders[kind] = loader


def publish(group: str, message: dict, *, kind: str, object_id: int) -> None:
    """Send one committed row's message to a group from sync code: through the channel layer (in
    process, or shared Redis), or from a worker process through PostgreSQL by id (its `kind` has a
    registered loader in the server)."""
    layer = get_channel_layer()
    if layer is None:
        return
    if relays(layer):
        notify_ids(group, kind, [object_id])
        return
    async_to_sync(layer.group_send)(group, message)
    if has_peers(layer):
        notify_ids(group, kind, [object_id])


def publish_many(items: list[tuple[str, dict, int]], *, kind: str) -> None:
    """`publish` for many committed rows, each (group, message, id), from sync code: one trip to the
    channel layer's event loop for all of them (not one thread hop per message), or one statement
    of notifications from a worker process. Stops at the first failure of the layer (logged with how
    many were left), so that a dead Redis costs one timeout, not one per row."""
    layer = get_channel_layer()
    if layer is None or not items:
        return
    rows = [(group, object_id) for group, _message, object_id in items]
    if relays(layer):
        notify_ids_many(kind, rows)
        return
    async_to_sync(_group_send_all)(layer, [(group, message) for group, message, _id in items])
    if has_peers(layer):
        notify_ids_many(kind, rows)


async def _group_send_all(layer, messages: list[tuple[str, dict]]) -> None:
    for done, (group, message) in enumerate(messages):
        try:
            await layer.group_send(group, message)
        except Exception:
            log.exception("the channel layer failed: %d of %d messages not sent", len(messages) - done, len(messages))
            return


def publish_event(group: str, message: Callable[[], dict], *, event_id: int) -> None:
    """Send one committed event's message to a wall group from sync code: through the channel layer
    (in process, or shared Redis), or through PostgreSQL from a worker process (by id). `message()`
    builds it (it reads the database): called once, and only when the message goes through this
    process's layer."""
    layer = get_channel_layer()
    if layer is None:
        return
    if relays(layer):
        notify_events(group, [event_id])
        return
    async_to_sync(layer.group_send)(group, message())
    if has_peers(layer):
        notify_events(group, [event_id])
