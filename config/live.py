"""The live pipeline's sending half: how every app tells the open screens that something changed.

One way for all of them. A change goes out only after the transaction that wrote it commits (never
news of a change that was rolled back), to a channel-layer group:

- `subdistrict_group(code)`: the sub-district's live stream — the wall maps and the department
  queues listen to it (timeline events, responders' positions);
- `member_group(id)`: one member's phone (their messages).

What a group receives is a channel-layer message `{"type": <the consumer's handler>, "id": <the
row's id>, "text": <the socket's frame>}`: the frame is encoded once, here, by the publisher — not
once per socket by each of the thousand consumers it reaches (`channel_message`).

Committed rows travel by kind and id. The app that owns a kind of frame registers at start-up how
to build the messages of some committed rows (`register(kind, build)`): the timeline's events
(kind "event", registered by the wall app, whose frames carry the incident's board row), the
members' messages ("member_message", dispatch.live). So a service below the wall publishes an event
without importing the wall, and the frames are built the same way wherever they are built:

- in a process that holds sockets (the ASGI server, the tests), or any process on channels-redis
  (`REDIS_URL`), through its channel layer at once;
- in a worker process without Redis (the SLA clock, the feedback worker, `simulate`: manage.py sets
  WORKER_FLAG), whose in-memory layer reaches nobody, as ids through PostgreSQL's NOTIFY; every
  server process listens (the receiving half, wall/relay.py) and builds the messages there with
  the same registered builder. A notification stays far below PostgreSQL's 8,000-byte limit
  whatever an event's note holds;
- several server processes without Redis (`make run WORKERS=N`: scripts/run-server sets
  PEERS_FLAG) publish both ways: in process for their own sockets, through PostgreSQL for their
  peers' (each listener skips what its own process sent, by ORIGIN).

Values that are no rows (a batch of positions) travel as themselves (`positions_message`,
`apublish_positions`), split into notifications that fit.

A notification sent while no server listens is lost: a wall catches up from the event table when it
reconnects, a phone from its inbox, and the next positions batch moves the markers. A channel layer
that fails is logged and never undoes the committed change.
"""

import json
import logging
import os
import uuid
from collections.abc import Callable
from typing import Any, TypeAlias

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import connection, transaction

from config.renderers import dumps
from config.socket_db import socket_db

log = logging.getLogger(__name__)

# A channel-layer message (`channel_message`), and how the owner of a kind builds those of some rows.
Message: TypeAlias = dict[str, Any]
Build: TypeAlias = Callable[[list[int]], list[Message]]

CHANNEL = "gridlink_wall"  # PostgreSQL's notification channel
NOTIFY_MAX_BYTES = 7800  # PostgreSQL refuses a payload of 8,000 bytes or more

WORKER_FLAG = "GRIDLINK_WALL_RELAY"  # set by manage.py: this process holds no sockets
PEERS_FLAG = "GRIDLINK_RELAY_PEERS"  # set by scripts/run-server for several server processes

# Who sent a notification: a random token per process (process ids repeat across containers).
ORIGIN = uuid.uuid4().hex


# --- groups and messages --------------------------------------------------------------------------

def subdistrict_group(code: str) -> str:
    """The sub-district's live stream: its wall maps and its department queues."""
    return f"wall.{code}"


def member_group(member_id: int) -> str:
    """One member's phone."""
    return f"member-{member_id}"


def encode(frame: dict[str, Any]) -> str:
    """A socket's frame as the text sent (UTF-8 JSON, times in ISO 8601)."""
    return dumps(frame).decode()


def channel_message(handler: str, frame: dict[str, Any], *, id: int | None = None) -> Message:  # noqa: A002
    """The channel-layer message that makes every consumer of a group run `handler` (dots for
    underscores: "incident.event" runs `incident_event`) and send `frame`, encoded here once.
    `id`: the row's, for a consumer's check against what it already sent on a resume."""
    message: Message = {"type": handler, "text": encode(frame)}
    if id is not None:
        message["id"] = id
    return message


# --- the builders, by kind ------------------------------------------------------------------------

_builders: dict[str, Build] = {}


def register(kind: str, build: Build) -> None:
    """`build(ids)`: the channel-layer messages of those committed rows, in id order (sync: it reads
    the database). Registered by the app that owns the frames, at start-up (its AppConfig.ready)."""
    _builders[kind] = build


def build_messages(kind: str, ids: list[int]) -> list[Message]:
    """The messages of committed rows of `kind`, by the registered builder; none when no app
    registered one (logged: a frame nobody can build is a wiring mistake)."""
    build = _builders.get(kind)
    if build is None:
        log.warning("no live builder is registered for %r: %d rows not published", kind, len(ids))
        return []
    return build(ids)


# --- which way this process publishes -------------------------------------------------------------

def _process_local(layer: Any) -> bool:
    return isinstance(layer, InMemoryChannelLayer)


def relays(layer: Any) -> bool:
    """Whether this process must publish through PostgreSQL rather than its channel layer (a worker
    on an in-memory layer)."""
    return layer is not None and os.environ.get(WORKER_FLAG) == "1" and _process_local(layer)


def has_peers(layer: Any) -> bool:
    """Whether other server processes hold sockets too, reached only through PostgreSQL (several
    server processes on in-memory layers): publish in process and through PostgreSQL."""
    return layer is not None and os.environ.get(PEERS_FLAG) == "1" and _process_local(layer)


# --- publishing committed rows --------------------------------------------------------------------

def publish_on_commit(group: str, kind: str, ids: list[int],
                      messages: Callable[[], list[Message]] | None = None) -> None:
    """Publish committed rows of `kind` to `group` once the current transaction commits (at once
    outside a transaction). `messages()`, when given, builds them in this process instead of the
    registered builder (a publisher that holds the rows already); it is called only when the
    messages go through this process's layer."""
    transaction.on_commit(lambda: publish(group, kind, ids, messages))


def publish(group: str, kind: str, ids: list[int], messages: Callable[[], list[Message]] | None = None) -> None:
    """`publish_on_commit`'s work, for rows already committed."""
    try:
        layer = get_channel_layer()
        if layer is None or not ids:
            return
        if not relays(layer):
            built = messages() if messages is not None else build_messages(kind, ids)
            async_to_sync(_group_send_all)(layer, [(group, message) for message in built])
        if relays(layer) or has_peers(layer):
            _notify([_envelope(group, {"kind": kind, "ids": ids})])
    except Exception:  # a dead channel layer must never undo a committed change
        log.exception("publishing %s %s to %s failed", kind, ids, group)


def publish_many_on_commit(kind: str, rows: list[tuple[str, int, Message]]) -> None:
    """Publish many committed rows, each (group, id, its message built by the publisher), once the
    current transaction commits, in one batch: one trip to the channel layer's event loop (not one
    thread hop per message), or one statement of notifications from a worker. A published grid
    version tells thousands of members at once."""
    if rows:
        transaction.on_commit(lambda: _publish_many(kind, rows))


def _publish_many(kind: str, rows: list[tuple[str, int, Message]]) -> None:
    try:
        layer = get_channel_layer()
        if layer is None:
            return
        if not relays(layer):
            async_to_sync(_group_send_all)(layer, [(group, message) for group, _id, message in rows])
        if relays(layer) or has_peers(layer):
            payloads = [_envelope(group, {"kind": kind, "ids": [object_id]}) for group, object_id, _message in rows]
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(pg_notify(%s, p)) FROM unnest(%s::text[]) AS p", [CHANNEL, payloads])
    except Exception:  # a dead channel layer must never undo a committed change
        log.exception("publishing %d %s rows failed", len(rows), kind)


async def _group_send_all(layer: Any, messages: list[tuple[str, Message]]) -> None:
    """Stops at the first failure of the layer (logged with how many were left): a dead Redis costs
    one timeout, not one per message."""
    for done, (group, message) in enumerate(messages):
        try:
            await layer.group_send(group, message)
        except Exception:
            log.exception("the channel layer failed: %d of %d messages not sent", len(messages) - done, len(messages))
            return


# --- positions: values, not rows ------------------------------------------------------------------

def positions_message(positions: list[dict[str, Any]]) -> Message:
    """The channel-layer message of a positions batch: only the socket's frame, encoded once here
    (the in-memory layer copies each message for each socket: a list of dicts beside it would be
    copied a thousand times)."""
    return {"type": "positions.batch", "text": json.dumps({"type": "positions", "positions": positions})}


async def apublish_positions(group: str, positions: list[dict[str, Any]]) -> None:
    """Send a positions batch to a sub-district's stream from async code (the positions fan-out):
    through the channel layer, and through PostgreSQL from a worker or to peers. Raises when the
    layer fails (the caller logs it)."""
    layer = get_channel_layer()
    if layer is None:
        return
    if not relays(layer):
        await layer.group_send(group, positions_message(positions))
    if relays(layer) or has_peers(layer):
        await socket_db(_notify_positions)(group, positions)


def _notify_positions(group: str, positions: list[dict[str, Any]]) -> None:
    """A positions batch through PostgreSQL, split into notifications that fit."""
    payloads: list[str] = []
    chunk: list[dict[str, Any]] = []
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


# --- PostgreSQL's NOTIFY ----------------------------------------------------------------------------

def _envelope(group: str, body: dict[str, Any]) -> str:
    return json.dumps({"pid": ORIGIN, "group": group, **body}, separators=(",", ":"), ensure_ascii=False)


def _notify(payloads: list[str]) -> None:
    with connection.cursor() as cursor:
        for payload in payloads:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, payload])
