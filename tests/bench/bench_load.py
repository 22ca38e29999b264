#!/usr/bin/env python
"""Benchmark: a real day's peak — the whole sub-district online at once — then a burst, then a
server restart with everything connected.

Run by `make bench` (after `make setup`): `.venv/bin/python tests/bench/bench_load.py`. Like the
other server benchmarks it works on a throwaway copy of the development database, dropped at the
end; in the copy every active member gets an app login and a session (bench_member.py's `prepare`),
and the walls, the dispatchers and 20 login users get theirs.

The server is started as `make run` starts it (scripts/run-server): uvicorn serving
`config.asgi:application` with one process per CPU (`--workers`, at most 4; in-memory channel
layers joined by the relay through PostgreSQL), DEBUG off, `--lifespan off`, `--ws-max-size 65536`,
beside `run_sla_clock`, `run_feedback_worker` and `run_notifier`; two bench-only routes sit in front
of the application for the floors (tests/bench/bench_server.py).

In this process, on one asyncio loop (uvloop):
- **692 phones** (every active member of the demo): a `ws/member/` socket each, a position batch
  every 10 s over that socket as the app sends it (`POST /api/v1/positions/` while the socket is
  down; a random phase each), and the order's answers as the phone
  app sends them: accept, arrive (with the scene as the position), report from the scene, resolve,
  each after a human delay (the simulator's, compressed: `--pace`);
- **4 walls**: a `ws/wall/` socket each, the snapshot loaded on connect and every minute;
- **6 dispatchers and call-takers**: each takes a call every `--intake-every` seconds (intake), asks
  for the recommendation and dispatches its first candidate, as the console does;
- a probe: one dispatcher reading a case every 200 ms (the figure the burst must not spoil);
- the SLA clock, the feedback worker and the notifier running beside the server.

Phases: the **peak** (`--peak` seconds), then the **burst** (200 concurrent requests — wall
snapshots and recommendations half each — then 20 parallel logins while everything else goes on),
then the **restart**: the server is stopped and started again, and every socket reconnects with the
apps' own backoff (phones: 1, 1.5, 2.3, ... 15 s ±30 %; walls likewise) and resumes from its last id;
timed until every one of them has its `caught_up`.

Printed per kind of request: count, p50 / p95 / max, errors by status; beside them the floors of the
same run: the bare HTTP request, the bare wall-group send, and the recommendation's own floor
(point-in-polygon + nearest-5 members + one Dijkstra, `bench_recommend.py`'s) run twice — in the
server, on one of its threads beside the requests, under the same load as the API (the floor of the
target), and in this process, away from the server's interpreter lock; and the server's CPU and
memory. Each request's time inside the server is printed too (`[server]`, from `Server-Timing`).
Not a test: the verdict lines say which targets were met.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import logging  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

sys.path.insert(0, str(REPO))
from tests.bench import bench_member  # noqa: E402 - first: it sets Django up for this process (without a pool)
from tests.bench.bench_server import FLOOR_PATH, RECOMMEND_FLOOR_PATH, WALL_FLOOR_PATH  # noqa: E402
from tests.bench.floors import recommendation_floor  # noqa: E402

SERVER_POOL_SIZE = bench_member.SERVER_POOL_SIZE  # the pool size asked for the server, if any

import aiohttp  # noqa: E402
import uvloop  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402
from websockets.exceptions import WebSocketException  # noqa: E402

from fixtures.demo import DEMO_CODE  # noqa: E402
from tests.bench.bench_wall import (  # noqa: E402
    copy_database,
    cpu_seconds,
    http_ok,
    open_files_for,
    pct,
    rss_bytes,
    server_env,
    session_for,
    wait_for,
)
from tests.e2e.conftest import _drop_database, _free_port, _server, _stop  # noqa: E402
from tests.server_options import uvicorn_options  # noqa: E402

WALLS = 4
DESKS = 6  # dispatchers and call-takers
LOGINS = 20
BURST = 200
POSITION_EVERY_S = 10.0
PROBE_EVERY_S = 0.2
WALL_RELOAD_S = 60.0
CSRF = "b" * 32
LOGIN_PASSWORD = "bench-login-password"  # noqa: S105 - users of the throwaway copy only
WORKERS = ("run_sla_clock", "run_feedback_worker", "run_notifier")  # as scripts/run-server

TARGETS = {  # kind: p95 ms (the targets)
    "wall event (action → each wall)": 250.0,
    "phone: position batch": 200.0,
    "intake → wall (each wall)": 300.0,
}


# --- figures ---------------------------------------------------------------------------------------

@dataclass
class Kind:
    ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)

    def add(self, ms: float, status: int = 200) -> None:
        self.ms.append(ms)
        self.statuses[status] += 1

    def errors(self) -> str:
        bad = {s: n for s, n in sorted(self.statuses.items()) if not 200 <= s < 400}
        return ", ".join(f"{s}×{n}" for s, n in bad.items()) or "0"


class Figures:
    def __init__(self) -> None:
        self.kinds: dict[str, Kind] = defaultdict(Kind)
        self.phase = "peak"

    def add(self, kind: str, ms: float, status: int = 200) -> None:
        self.kinds[f"{self.phase}: {kind}"].add(ms, status)

    def table(self, phase: str, floors: dict[str, str]) -> list[str]:
        lines = []
        for name, kind in self.kinds.items():
            if not name.startswith(phase + ": ") or not kind.ms:
                continue
            label = name[len(phase) + 2:]
            floor = floors.get(label)
            ratio = ""
            if floor and self.kinds.get(f"{phase}: {floor}") and self.kinds[f"{phase}: {floor}"].ms:
                ratio = f"{pct(kind.ms, 95) / pct(self.kinds[f'{phase}: {floor}'].ms, 95):.1f}×"
            lines.append(f"| {label} | {len(kind.ms)} | {pct(kind.ms, 50):.1f} | {pct(kind.ms, 95):.1f} | "
                         f"{max(kind.ms):.0f} | {kind.errors()} | {ratio} |")
        return lines


# --- the copy: sessions for the walls, the desks and the phones; users for the logins -------------------

def prepare() -> dict:
    ctx = bench_member.prepare()
    users = get_user_model().objects
    room = users.filter(groups__name="command_room", is_active=True).order_by("pk").first()
    desks = list(users.filter(groups__name__in=["dispatcher", "command_room"], is_active=True).distinct()
                 .order_by("pk")[:DESKS])
    if room is None or not desks:
        raise SystemExit("No command-room or dispatcher user: run `make setup` first.")
    # The phones' users (bench_member's app logins) act as responders: the role the app needs.
    responder = Group.objects.get(name="responder")
    responder.user_set.add(*users.filter(member__pk__in=ctx["members"]))
    ctx["wall_sessions"] = [session_for(room) for _ in range(WALLS)]
    ctx["desk_sessions"] = [session_for(desks[k % len(desks)]) for k in range(DESKS)]
    # The logins of the burst: one real password hash (PBKDF2, as production) shared by 20 users.
    encoded = make_password(LOGIN_PASSWORD)
    group = Group.objects.get(name="dispatcher")
    logins = users.bulk_create([users.model(username=f"bench-login-{k}", password=encoded) for k in range(LOGINS)])
    for user in logins:
        user.groups.add(group)
    ctx["logins"] = [u.username for u in logins]
    from dispatch.models import Member

    homes = dict(Member.objects.filter(pk__in=ctx["members"]).values_list("pk", "home"))
    ctx["homes"] = {pk: (p.x, p.y) if p is not None else None for pk, p in homes.items()}
    return ctx


# --- the clients -------------------------------------------------------------------------------------------

def backoff_s(attempt: int, rng: random.Random) -> float:
    """The apps' reconnect wait (frontend/static/gridlink/m/live.js backoffMs): 1, 1.5, 2.3, ... 15 s, ±30 %."""
    return min(15.0, 1.5 ** attempt) * (0.7 + 0.6 * rng.random())


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def json(self):
        return json.loads(self.body)


class Load:
    """Everything the clients share: the server's address, the figures, who waits for which frame."""

    def __init__(self, args, ctx: dict, url: str) -> None:
        self.args, self.ctx, self.url = args, ctx, url
        self.ws = url.replace("http://", "ws://")
        self.figures = Figures()
        self.rng = random.Random(args.seed)
        self.stop = asyncio.Event()
        self.pending: dict[int, tuple[float, str]] = {}  # incident -> (request sent, kind) awaiting a wall event
        self.seen: dict[tuple[int, int], float] = {}  # (wall, incident) -> the `sent` it was counted for
        self.floor_sent: dict[int, float] = {}
        self.phones: dict[int, Phone] = {}
        self.caught_up: set[str] = set()  # sockets live since the last restart
        self.faults = 0
        self.intake_sent: dict[int, float] = {}
        self.created_early: dict[tuple[int, int], float] = {}  # (wall, incident) -> received before the answer
        self.first_errors: dict[tuple[str, int], str] = {}  # printed at the end, to see why
        self.frames = 0
        self.http = aiohttp.ClientSession(
            url, headers={"Accept-Language": "en"}, cookie_jar=aiohttp.DummyCookieJar(),
            # keep-alive shorter than uvicorn's 5 s: a pooled connection the server has just closed
            # would fail the next request on it (a browser retries that one; aiohttp does not)
            connector=aiohttp.TCPConnector(limit=400, keepalive_timeout=3),
            timeout=aiohttp.ClientTimeout(total=60))

    def cookies(self, session: str) -> dict:
        return {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}; csrftoken={CSRF}", "X-CSRFToken": CSRF}

    async def call(self, kind: str, method: str, path: str, session: str | None, **kwargs) -> Answer | None:
        """One request, timed to the end of its body; None when the connection failed (599)."""
        sent = time.perf_counter()
        headers = {**self.cookies(session), **kwargs.pop("headers", {})} if session else kwargs.pop("headers", {})
        try:
            async with self.http.request(method, path, headers=headers, allow_redirects=False, **kwargs) as response:
                answer = Answer(response.status, await response.read())
                timing = response.headers.get("server-timing", "")
                if timing.startswith("app;dur="):
                    self.figures.add(kind + " [server]", float(timing[8:]), response.status)
        except (aiohttp.ClientError, TimeoutError):
            self.figures.add(kind, (time.perf_counter() - sent) * 1000, 599)
            return None
        self.figures.add(kind, (time.perf_counter() - sent) * 1000, answer.status)
        if answer.status >= 400:
            self.first_errors.setdefault((kind, answer.status), answer.body[:300].decode(errors="replace"))
        return answer

    def expect_event(self, incident: int, kind: str) -> None:
        self.pending[incident] = (time.perf_counter(), kind)

    def wall_created(self, wall: int, incident: int, at: float) -> None:
        """A `created` event on a wall: timed against its intake request, whichever comes first."""
        sent = self.intake_sent.get(incident)
        if sent is None:
            self.created_early[(wall, incident)] = at
        else:
            self.figures.add("intake → wall (each wall)", (at - sent) * 1000)

    def intake_answered(self, incident: int, sent: float) -> None:
        self.intake_sent[incident] = sent
        for wall in range(WALLS):
            at = self.created_early.pop((wall, incident), None)
            if at is not None:
                self.figures.add("intake → wall (each wall)", (at - sent) * 1000)

    def wall_event(self, wall: int, incident: int, at: float) -> None:
        pending = self.pending.get(incident)
        if pending is None or self.seen.get((wall, incident)) == pending[0]:
            return
        self.seen[(wall, incident)] = pending[0]
        self.figures.add(pending[1], (at - pending[0]) * 1000)


class Socket:
    """A socket that stays connected as the apps do: reconnect with backoff, resume from the last id."""

    path = ""
    resume_param = ""

    def __init__(self, load: Load, name: str, session: str) -> None:
        self.load, self.name, self.session, self.last = load, name, session, 0
        self.socket = None

    async def run(self) -> None:
        attempt = 0
        while not self.load.stop.is_set():
            await self.before_connect()
            query = f"?{self.resume_param}={self.last}" if self.last else ""
            try:
                async with connect(self.load.ws + self.path + query, open_timeout=60,
                                   additional_headers={"Origin": self.load.url, **self.load.cookies(self.session)}
                                   ) as socket:
                    self.socket = socket
                    async for raw in socket:
                        self.load.frames += 1
                        frame = json.loads(raw)
                        if frame.get("type") == "caught_up":
                            attempt = 0
                            self.load.caught_up.add(self.name)
                        await self.frame(frame, time.perf_counter())
                        if self.load.stop.is_set():
                            break
            except (OSError, WebSocketException, TimeoutError):
                pass
            except Exception as exc:  # a fault of this script: say so, the socket stays down
                logging.getLogger(__name__).exception("%s: %s", self.name, exc)
                self.load.faults += 1
                return
            self.socket = None
            self.load.caught_up.discard(self.name)
            if self.load.stop.is_set():
                return
            await asyncio.sleep(backoff_s(attempt, self.load.rng))
            attempt += 1

    async def before_connect(self) -> None:
        pass

    async def frame(self, frame: dict, at: float) -> None:
        raise NotImplementedError


class Wall(Socket):
    resume_param = "last_event"

    def __init__(self, load: Load, index: int, session: str) -> None:
        super().__init__(load, f"wall-{index}", session)
        self.index = index
        self.path = f"/ws/wall/{DEMO_CODE}/"

    async def before_connect(self) -> None:
        if not self.last:  # as the page: the snapshot first, the socket resumes from its last event
            response = await self.load.call("wall snapshot", "GET", f"/api/v1/wall/{DEMO_CODE}/state/", self.session)
            if response is not None and response.status == 200:
                self.last = response.json()["last_event"]

    async def frame(self, frame: dict, at: float) -> None:
        kind = frame.get("type")
        if kind == "event":
            event = frame["event"]
            self.last = max(self.last, event["id"])
            if event["kind"] == "created":
                self.load.wall_created(self.index, event["incident"], at)
            else:
                self.load.wall_event(self.index, event["incident"], at)
        elif kind == "floor":
            sent = self.load.floor_sent.get(frame["n"])
            if sent is not None:
                self.load.figures.add("floor: wall-group send → each wall", (at - sent) * 1000)
        elif kind == "caught_up":
            self.last = max(self.last, frame.get("last_event") or 0)

    async def reload(self) -> None:
        while not self.load.stop.is_set():
            await asyncio.sleep(WALL_RELOAD_S * (0.8 + 0.4 * self.load.rng.random()))
            await self.load.call("wall snapshot", "GET", f"/api/v1/wall/{DEMO_CODE}/state/", self.session)


class Phone(Socket):
    path = "/ws/member/"
    resume_param = "last_message"

    def __init__(self, load: Load, member: int, session: str, home) -> None:
        super().__init__(load, f"phone-{member}", session)
        self.member = member
        rng = load.rng
        self.xy = home or rng.choice(load.ctx["points"])
        self.orders: set[int] = set()
        self.batch = 0
        self.batches: dict[int, float] = {}  # positions sent over the socket, by id, awaiting their answer

    async def frame(self, frame: dict, at: float) -> None:
        if frame.get("type") in ("positions", "error") and frame.get("id") in self.batches:
            sent = self.batches.pop(frame["id"])
            self.load.figures.add("phone: position batch", (at - sent) * 1000,
                                  201 if frame["type"] == "positions" else 400)
            return
        if frame.get("type") != "message":
            return
        message = frame["message"]
        self.last = max(self.last, message["id"])
        if message["kind"] == "order" and message["order"] and message["order"] not in self.orders:
            self.orders.add(message["order"])
            sent = self.load.dispatched.pop(message["order"], None)
            if sent is not None:
                self.load.figures.add("dispatch → order on the phone", (at - sent) * 1000)
            asyncio.create_task(self.handle(message["order"], message["incident"]))

    async def positions(self) -> None:
        rng = self.load.rng
        await asyncio.sleep(rng.random() * POSITION_EVERY_S)
        while not self.load.stop.is_set():
            x, y = self.xy
            self.xy = (x + rng.uniform(-2e-4, 2e-4), y + rng.uniform(-2e-4, 2e-4))
            fix = {"member": self.member, "at": datetime.now(UTC).isoformat(), "lon": self.xy[0], "lat": self.xy[1],
                   "accuracy_m": 8, "datum": "WGS84"}
            if self.load.args.positions == "socket" and self.socket is not None and self.name in self.load.caught_up:
                self.batch += 1
                self.batches[self.batch] = time.perf_counter()
                try:
                    await self.socket.send(json.dumps({"type": "positions", "id": self.batch, "positions": [fix]}))
                except WebSocketException:
                    self.batches.pop(self.batch, None)
            else:  # the socket is down (or `--positions http`): over HTTP
                kind = "phone: position batch" if self.load.args.positions == "http" else "phone: position batch (HTTP)"
                await self.load.call(kind, "POST", "/api/v1/positions/", self.session, json={"positions": [fix]})
            await asyncio.sleep(POSITION_EVERY_S)

    async def handle(self, order: int, incident: int) -> None:
        load, pace = self.load, self.load.args.pace
        steps = (
            ("phone: accept", f"/api/v1/dispatch/orders/{order}/accept/", {}, (2, 8)),
            ("phone: arrive", f"/api/v1/incidents/{incident}/transitions/", None, (10, 30)),
            ("phone: report from the scene", f"/api/v1/incidents/{incident}/transitions/",
             {"action": "report_on_site", "text": "现场已处置，双方情绪平稳。"}, (10, 30)),
            ("phone: resolve", f"/api/v1/incidents/{incident}/transitions/",
             {"action": "resolve", "text": "已调解完毕。"}, (10, 30)),
        )
        for kind, path, body, (low, high) in steps:
            await asyncio.sleep(load.rng.uniform(low, high) / pace)
            if load.stop.is_set():
                return
            if body is None:  # arrive: the phone's position is the scene
                self.xy = load.scenes.get(incident, self.xy)
                body = {"action": "arrive", "position": {"type": "Point", "coordinates": list(self.xy)}}
            load.expect_event(incident, "wall event (action → each wall)")
            response = await load.call(kind, "POST", path, self.session, json=body)
            if response is None or response.status >= 400:
                return


class Desk:
    """A dispatcher or call-taker at the console: intake, recommendation, dispatch of the first candidate."""

    def __init__(self, load: Load, index: int, session: str) -> None:
        self.load, self.index, self.session = load, index, session

    async def run(self) -> None:
        load = self.load
        await asyncio.sleep(load.rng.random() * load.args.intake_every)
        while not load.stop.is_set():
            started = time.perf_counter()
            await self.one_case()
            await asyncio.sleep(max(0.0, load.args.intake_every - (time.perf_counter() - started)))

    async def one_case(self) -> None:
        load, ctx = self.load, self.load.ctx
        lon, lat = load.rng.choice(ctx["points"])
        sent = time.perf_counter()
        response = await load.call("intake", "POST", "/api/v1/incidents/", self.session, json={
            "channel": ctx["channel"], "category": ctx["category"], "subdistrict": DEMO_CODE,
            "description": f"高峰测试：第{self.index}席受理", "location": {"type": "Point", "coordinates": [lon, lat]}})
        if response is None or response.status != 201:
            return
        incident = response.json()["id"]
        load.scenes[incident] = (lon, lat)
        load.intake_answered(incident, sent)
        await asyncio.sleep(load.rng.uniform(5, 15) / load.args.pace)  # reading the case
        response = await load.call("recommendation", "GET", f"/api/v1/incidents/{incident}/recommendations/",
                                   self.session)
        if response is None or response.status != 200:
            return
        candidates = [c for c in response.json().get("candidates", []) if c["member"]["id"] in load.phones]
        if not candidates:
            return
        member = candidates[0]["member"]["id"]
        load.expect_event(incident, "wall event (action → each wall)")
        sent = time.perf_counter()
        response = await load.call("dispatch", "POST", f"/api/v1/incidents/{incident}/transitions/", self.session,
                                   json={"action": "dispatch", "members": [member], "method": "app",
                                         "off_duty_override": [member]})
        if response is not None and response.status == 200:
            for order in response.json().get("orders", []):
                if order["member"]["id"] == member:
                    load.dispatched[order["id"]] = sent


async def probe(load: Load, session: str, incident: int) -> None:
    while not load.stop.is_set():
        await load.call("probe: a case read by a dispatcher", "GET", f"/api/v1/incidents/{incident}/", session)
        await asyncio.sleep(PROBE_EVERY_S)


async def floors(load: Load, floor_fn) -> None:
    n = 0
    while not load.stop.is_set():
        n += 1
        await load.call("floor: HTTP request without Django", "GET", FLOOR_PATH, None)
        load.floor_sent[n] = time.perf_counter()
        await load.call("floor: wall-group send (request)", "POST", WALL_FLOOR_PATH, None, json={"n": n})
        x, y = load.rng.choice(load.ctx["points"])
        sent = time.perf_counter()
        await asyncio.to_thread(floor_fn, x, y)
        load.figures.add("floor: recommendation's SQL + Dijkstra (bench process)", (time.perf_counter() - sent) * 1000)
        await load.call("floor: recommendation's SQL + Dijkstra (in the server)", "POST", RECOMMEND_FLOOR_PATH, None,
                        json={"x": x, "y": y})
        await asyncio.sleep(1.0)


# --- the run -----------------------------------------------------------------------------------------------

class Server:
    def __init__(self, env: dict, port: int, logs: Path, workers: int) -> None:
        self.env, self.port, self.logs, self.processes = env, port, logs, workers
        if workers > 1 and not env.get("REDIS_URL"):
            env["GRIDLINK_RELAY_PEERS"] = "1"  # as scripts/run-server
        self.process: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = self.logs / f"uvicorn-{self.starts}.log"
        with log.open("w") as out:
            self.process = subprocess.Popen(  # noqa: S603 - fixed arguments
                [sys.executable, "-m", "uvicorn", "tests.bench.bench_server:app", "--host", "127.0.0.1", "--port",
                 str(self.port), *uvicorn_options(), "--workers", str(self.processes),
                 "--no-access-log"], cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        wait_for(lambda: http_ok(f"http://127.0.0.1:{self.port}/accounts/login/"), self.process, log, "uvicorn")

    def start_workers(self) -> None:
        for name in WORKERS:
            with (self.logs / f"{name}.log").open("w") as out:
                self.workers.append(subprocess.Popen(  # noqa: S603 - fixed arguments
                    [sys.executable, "manage.py", name], cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT))

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)

    def stop_all(self) -> None:
        self.stop()
        for worker in self.workers:
            _stop(worker)

    def tree(self) -> list[int]:
        """The server's processes: uvicorn's parent and its worker processes."""
        pids = [self.process.pid]
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as stat:
                        if int(stat.read().rsplit(")", 1)[1].split()[1]) == self.process.pid:
                            pids.append(int(entry))
                except OSError:
                    continue
        return pids

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.tree())

    def rss(self) -> int:
        return sum(rss_bytes(pid) for pid in self.tree())

    def workers_cpu(self) -> float:
        return sum(cpu_seconds(w.pid) for w in self.workers if w.poll() is None)


async def run(args, ctx: dict, server: Server) -> dict:
    url = f"http://127.0.0.1:{server.port}"
    load = Load(args, ctx, url)
    load.dispatched, load.scenes = {}, {}
    info: dict = {}
    floor_fn = ctx["recommendation_floor"]
    walls = [Wall(load, k, s) for k, s in enumerate(ctx["wall_sessions"])]
    for member in ctx["members"]:
        load.phones[member] = Phone(load, member, ctx["sessions"][member], ctx["homes"].get(member))
    sockets = [*walls, *load.phones.values()]
    everyone = {s.name for s in sockets}

    # Connect everything (50 handshakes at a time, as a fleet coming online over a minute would).
    started = time.perf_counter()
    gate = asyncio.Semaphore(50)
    tasks = []

    async def start_socket(socket: Socket) -> None:
        async with gate:
            tasks.append(asyncio.create_task(socket.run()))
            while socket.name not in load.caught_up and not load.stop.is_set():
                await asyncio.sleep(0.05)

    async def progress() -> None:
        while True:
            await asyncio.sleep(5)
            print(f"  connecting: {len(load.caught_up)} of {len(sockets)} caught up, {load.frames} frames", flush=True)

    watch = asyncio.create_task(progress())
    await asyncio.gather(*(start_socket(s) for s in sockets))
    watch.cancel()
    info["connect_s"] = time.perf_counter() - started
    info["rss_connected"] = server.rss()
    print(f"  {len(load.phones)} phones and {len(walls)} walls connected in {info['connect_s']:.1f} s "
          f"(server RSS {info['rss_connected'] / 2**20:.0f} MiB), load {os.getloadavg()[0]:.2f}", flush=True)

    # --- the peak
    probe_case = ctx["probe_case"]
    background = [asyncio.create_task(p.positions()) for p in load.phones.values()]
    background += [asyncio.create_task(w.reload()) for w in walls]
    background += [asyncio.create_task(Desk(load, k, s).run()) for k, s in enumerate(ctx["desk_sessions"])]
    background += [asyncio.create_task(probe(load, ctx["desk_sessions"][0], probe_case)),
                   asyncio.create_task(floors(load, floor_fn))]
    cpu0, wcpu0, t0 = server.cpu(), server.workers_cpu(), time.perf_counter()
    own0 = time.process_time()
    await asyncio.sleep(args.peak)
    info["peak_cpu"] = (server.cpu() - cpu0) / (time.perf_counter() - t0)
    info["peak_own_cpu"] = (time.process_time() - own0) / (time.perf_counter() - t0)
    info["peak_workers_cpu"] = (server.workers_cpu() - wcpu0) / (time.perf_counter() - t0)
    info["rss_peak"] = server.rss()
    print(f"  peak of {args.peak:.0f} s done, load {os.getloadavg()[0]:.2f}", flush=True)

    # --- the burst: 200 snapshots and recommendations at once, then 20 logins while the rest goes on
    load.figures.phase = "burst"
    cases = list(load.scenes)[-50:] or [probe_case]
    session = ctx["desk_sessions"][1 % len(ctx["desk_sessions"])]
    requests = []
    for k in range(BURST):
        if k % 2:
            requests.append(load.call("wall snapshot", "GET", f"/api/v1/wall/{DEMO_CODE}/state/", session))
        else:
            requests.append(load.call("recommendation", "GET",
                                      f"/api/v1/incidents/{cases[k % len(cases)]}/recommendations/", session))
    bcpu0, bt0 = {pid: cpu_seconds(pid) for pid in server.tree()}, time.perf_counter()
    await asyncio.gather(*requests)
    used = [round(cpu_seconds(pid) - cpu, 2) for pid, cpu in bcpu0.items() if cpu_seconds(pid) > cpu]
    print(f"  burst: answered in {time.perf_counter() - bt0:.1f} s; server CPU by process {used} s", flush=True)
    await asyncio.sleep(3)
    load.figures.phase = "logins"

    async def login(username: str) -> None:
        await load.call("login (POST /accounts/login/)", "POST", "/accounts/login/", None,
                        headers={"Cookie": f"csrftoken={CSRF}"},
                        data={"username": username, "password": LOGIN_PASSWORD, "csrfmiddlewaretoken": CSRF})

    await asyncio.gather(*(login(u) for u in ctx["logins"]))
    await asyncio.sleep(1)
    load.figures.phase = "after"
    info["rss_burst"] = server.rss()

    # --- the restart: everything reconnects by itself
    server.stop()
    stopped = time.perf_counter()
    load.caught_up.clear()  # every socket's connection ended with the server
    await asyncio.to_thread(server.start)
    back = time.perf_counter()
    while len(load.caught_up & everyone) < len(everyone) and time.perf_counter() - back < args.restart_timeout:
        await asyncio.sleep(0.05)
    info["restart_back_s"] = time.perf_counter() - back
    info["restart_total_s"] = time.perf_counter() - stopped
    info["restart_missing"] = len(everyone - load.caught_up)
    info["restart_server_s"] = back - stopped

    load.stop.set()
    for task in background:
        task.cancel()
    await asyncio.gather(*background, return_exceptions=True)
    await asyncio.wait(tasks, timeout=15)
    await load.http.close()
    info["figures"] = load.figures
    info["first_errors"] = load.first_errors
    info["faults"] = load.faults
    return info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peak", type=float, default=150, help="seconds of the peak (150)")
    parser.add_argument("--intake-every", type=float, default=12, help="seconds between two calls of one desk (12)")
    parser.add_argument("--pace", type=float, default=1.0, help="speed of the phones' human delays (1)")
    parser.add_argument("--restart-timeout", type=float, default=60)
    parser.add_argument("--positions", choices=["socket", "http"], default="socket",
                        help="how the phones send their positions: over their socket as the app does (default), "
                             "or each batch over HTTP (the app before it used its socket)")
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                        help="server processes, as scripts/run-server (one per CPU, at most 4)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--keep-database", action="store_true")
    args = parser.parse_args()
    open_files_for(4000)  # both ends of every socket live on this machine

    pg = _server()
    source = settings.DATABASES["default"]["NAME"]
    copy_name = f"bench_load_{os.getpid()}"
    load_before = os.getloadavg()
    how = copy_database(pg, source, copy_name)
    settings.DATABASES["default"]["NAME"] = copy_name
    logs = Path(tempfile.mkdtemp(prefix="bench-load-"))
    server = None
    try:
        migrated = bench_member.migrate_copy()
        ctx = prepare()
        from incidents.models import Incident

        ctx["recommendation_floor"] = recommendation_floor(ctx["sub"])
        ctx["probe_case"] = Incident.objects.filter(subdistrict=ctx["sub"]).order_by("-pk").values_list(
            "pk", flat=True).first()
        env = server_env(pg, copy_name, SERVER_POOL_SIZE)
        server = Server(env, _free_port(), logs, args.workers)
        server.start()
        server.start_workers()
        applied = f", {migrated} migrations applied" if migrated else ""
        print(f"GridLink load benchmark: {ctx['sub'].name} ({DEMO_CODE}) on a copy of {source} ({how}{applied}); "
              f"{len(ctx['members'])} phones, {WALLS} walls, {DESKS} desks (a call every {args.intake_every:.0f} s "
              f"each), the SLA clock, feedback worker and notifier; {args.workers} server process(es), in-memory channel "
              f"layer{' and the relay between them' if args.workers > 1 else ''}; "
              f"{os.cpu_count()} CPUs, load average {load_before[0]:.2f}", flush=True)
        info = uvloop.run(run(args, ctx, server))
    except BaseException:
        print(f"The server's logs are in {logs}", file=sys.stderr)
        raise
    finally:
        if server is not None:
            server.stop_all()
        connection.close()
        if not args.keep_database:
            _drop_database(pg, copy_name)
    shutil.rmtree(logs, ignore_errors=True)

    figures: Figures = info["figures"]
    floors = {"recommendation": "floor: recommendation's SQL + Dijkstra (in the server)",
              "wall event (action → each wall)": "floor: wall-group send → each wall",
              "intake → wall (each wall)": "floor: wall-group send → each wall"}
    for kind in ("intake", "dispatch", "phone: position batch", "phone: accept", "phone: arrive", "wall snapshot",
                 "probe: a case read by a dispatcher", "dispatch → order on the phone", "login (POST /accounts/login/)",
                 "phone: report from the scene", "phone: resolve"):
        floors.setdefault(kind, "floor: HTTP request without Django")
    header = "| kind | count | p50 ms | p95 ms | max ms | errors | p95 / floor |\n|---|---:|---:|---:|---:|---|---:|"
    for phase, title in (("peak", f"Peak ({args.peak:.0f} s)"), ("burst", f"Burst ({BURST} at once)"),
                         ("logins", f"{LOGINS} parallel logins, everything else going on")):
        print(f"\n{title}\n{header}")
        print("\n".join(figures.table(phase, floors)))
    kinds = figures.kinds
    print(f"\nserver: {info['peak_cpu'] * 100:.0f} % of a CPU during the peak (workers {info['peak_workers_cpu'] * 100:.0f} "
          f"%; this benchmark's clients {info['peak_own_cpu'] * 100:.0f} %), RSS {info['rss_connected'] / 2**20:.0f} MiB connected, {info['rss_peak'] / 2**20:.0f} after the peak, "
          f"{info['rss_burst'] / 2**20:.0f} after the burst")
    print(f"restart: the server answered again {info['restart_server_s']:.1f} s after it was stopped; every socket "
          f"was back and caught up {info['restart_back_s']:.1f} s later ({info['restart_missing']} missing)")

    def p95(name: str) -> float:
        kind = kinds.get(name)
        return pct(kind.ms, 95) if kind and kind.ms else float("nan")

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    errors = sum(n for name, k in kinds.items() if name.startswith("peak: ")
                 for s, n in k.statuses.items() if not 200 <= s < 400)
    print(f"\ntarget peak without errors: {errors} — {verdict(errors == 0)}")
    for kind, target in TARGETS.items():
        value = p95(f"peak: {kind}")
        print(f"target peak {kind} p95 ≤ {target:.0f} ms: {value:.1f} — {verdict(value <= target)}")
    ratio = p95("peak: recommendation") / p95(f"peak: {floors['recommendation']}")
    quiet = p95("peak: recommendation") / p95("peak: floor: recommendation's SQL + Dijkstra (bench process)")
    print(f"target peak recommendation p95 ≤ 5× its floor (run in the server beside it): {ratio:.1f}× — "
          f"{verdict(ratio <= 5)} (against the same floor in this benchmark's own process: {quiet:.1f}×)")
    burst_500 = sum(k.statuses.get(500, 0) for name, k in kinds.items() if name.startswith("burst: "))
    print(f"target burst without a 500: {burst_500} — {verdict(burst_500 == 0)}")
    snap = p95("burst: wall snapshot")
    print(f"target burst snapshot p95 ≤ 2 s: {snap:.0f} ms — {verdict(snap <= 2000)}")
    for kind in ("phone: position batch", "probe: a case read by a dispatcher"):
        during, peak = p95(f"logins: {kind}"), p95(f"peak: {kind}")
        print(f"target logins keep {kind} p95 ≤ 2× the peak's: {during:.1f} against {peak:.1f} ms — "
              f"{verdict(during <= 2 * peak)}")
    print(f"target everything back within 10 s of the restart: {info['restart_back_s']:.1f} s — "
          f"{verdict(info['restart_back_s'] <= 10 and not info['restart_missing'])}")
    for (kind, status), body in info["first_errors"].items():
        print(f"first {status} of {kind}: {body}")
    if info["faults"]:
        print(f"{info['faults']} sockets stopped on a fault of this script (see above)")
    load_after = os.getloadavg()
    print(f"(load average at the end {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
