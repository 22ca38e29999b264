#!/usr/bin/env python
"""Benchmark: the wall map's live updates, end to end through a real server.

Run by `make bench` (after `make setup`): `.venv/bin/python tests/bench/bench_wall.py`. It works on a
throwaway copy of the development database (`CREATE DATABASE bench_wall_<pid> TEMPLATE <dev db>`,
or pg_dump | pg_restore when another session holds the development database open), dropped at the
end: the demo the wall shows is never touched.

One `uvicorn config.asgi:application` process as `make run` starts it (in-memory channel layer,
DEBUG off), and in this process, on one asyncio loop (uvloop), websocket clients using the
`websockets` library, each authenticated with the session cookie of a staff user (sessions written
straight into the session store; 100 clients share one):
- intake to wall: an incident POSTed to `/api/v1/incidents/` (token auth) until its `created` event is
  on a connected wall socket, one at a time;
- event to client with 200 and with 1,000 sockets connected: the same POSTs, each one's `created`
  event timed from the moment the request was sent to its receipt at every client; the spread is
  first to last delivery of one event (the server's fan-out). The server's resident memory (VmRSS
  of /proc/<pid>/status) is sampled while they are connected.
Beside each, the floor: a bare `websockets` broadcast server (no Django, no Channels; a subprocess
of this script) sends an event payload of the same size to the same number of clients when a
producer socket asks it to — `websockets.broadcast`, JSON encoded once.

HTTP requests per event per wall (target 0): each simulated wall follows the page's rule
(frontend/static/wall/wall.js `handle()`): an event frame that carries its incident's board row
(`"incident"`) is applied as it is; one without it makes the wall GET the incident
(`/api/v1/wall/<code>/incidents/<id>/`, as the page did before frames carried rows) — requests the
walls really send, counted over every event frame of the server's runs.

Also printed: the server's CPU time per event (user + system, from /proc/<pid>/stat: the figure
least disturbed by other work on the machine) and how long the clients took to connect. Options:
`--redis` runs the server on channels-redis (a redis-server of its own) instead of the in-memory
layer; `--uvicorn-args '...'` tries server options; `--profile FILE` runs the server under cProfile.

Targets on the 2-core machine: intake-to-wall p95 at most 300 ms; event-to-client p95 at most
250 ms with 1,000 clients, the server under 1 GiB while they are connected; no HTTP request per
event from any wall. Not a test: the verdict
lines say whether each target was met; the load average is printed because other work on the
machine shows in every figure.
"""

from __future__ import annotations

import asyncio
import json
import sys

FLOOR_SERVER_FLAG = "--floor-server"


# --- the floor: a bare websockets broadcast server (imports no Django) --------------------------------

def floor_server(port: int) -> None:
    """Clients connect to `/`, are told `caught_up`, and receive what a producer asks for: a message
    `{"produce": <id>, "payload": <event payload>}` is broadcast (encoded once) with `incident` = id."""
    import uvloop
    from websockets.asyncio.server import broadcast, serve

    listeners = set()

    async def handler(connection):
        listeners.add(connection)
        try:
            await connection.send(json.dumps({"type": "caught_up", "last_event": 0}))
            async for raw in connection:
                command = json.loads(raw)
                if "produce" in command:
                    listeners.discard(connection)  # the producer is not a wall map
                    event = {**command["payload"], "incident": command["produce"]}
                    broadcast(listeners, json.dumps({"type": "event", "event": event}))
        finally:
            listeners.discard(connection)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", port, max_size=2**20):
            print("floor server ready", flush=True)
            await asyncio.Future()

    uvloop.run(main())


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == FLOOR_SERVER_FLAG:
    floor_server(int(sys.argv[2]))
    sys.exit(0)


import argparse  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402
from collections import defaultdict  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from importlib import import_module  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# This process's own few queries need no pool (its connections would outlive the dropped copy);
# the server keeps the configured one.
SERVER_POOL_SIZE = os.environ.get("DB_POOL_MAX_SIZE")
os.environ["DB_POOL_MAX_SIZE"] = "0"

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
import psycopg2  # noqa: E402
import uvloop  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from fixtures.demo import DEMO_CODE  # noqa: E402
from tests.e2e.conftest import (  # noqa: E402
    _admin_cursor,
    _drop_database,
    _free_port,
    _server,
    _stop,
    subprocess_env,
)

TARGET_INTAKE_P95_MS = 300.0
TARGET_FANOUT_P95_MS = 250.0
TARGET_RSS_BYTES = 1 << 30
CLIENTS_PER_SESSION = 100
DELIVERY_TIMEOUT_S = 20.0
CONNECT_CONCURRENCY = 50


def pct(values, q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if len(values) else float("nan")


# --- the database copy ----------------------------------------------------------------------------------

def copy_database(server: dict[str, str], source: str, target: str) -> str:
    """A copy of `source` named `target`; returns how it was made."""
    from psycopg2 import sql

    for _attempt in range(2):  # PostgreSQL itself waits 5 s for other sessions to leave
        try:
            with _admin_cursor(server) as cursor:
                cursor.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(target), sql.Identifier(source)))
            return "template"
        except psycopg2.errors.ObjectInUse:  # another session on the source database
            time.sleep(1)
    with _admin_cursor(server) as cursor:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target)))
    options = []
    for flag, key in (("-h", "host"), ("-p", "port"), ("-U", "user")):
        if server[key]:
            options += [flag, server[key]]
    env = {**os.environ, "PGPASSWORD": server["password"]} if server["password"] else None
    dump = subprocess.Popen(["pg_dump", *options, "-Fc", source], stdout=subprocess.PIPE, env=env)  # noqa: S603, S607
    restore = subprocess.run(["pg_restore", *options, "--no-owner", "-d", target],  # noqa: S603, S607
                             stdin=dump.stdout, env=env, capture_output=True, check=False)
    dump.stdout.close()
    if dump.wait() != 0 or restore.returncode != 0:
        raise RuntimeError(f"copying {source} failed: {restore.stderr.decode(errors='replace')[-2000:]}")
    return "pg_dump | pg_restore"


# --- servers --------------------------------------------------------------------------------------------

def wait_for(check, process: subprocess.Popen, log: Path, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not start within {timeout:.0f} s; see {log}")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own local server
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def redis_ping(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=port).ping())
    except redis.ConnectionError:
        return False


def rss_bytes(pid: int, field_name: str = "VmRSS") -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) * 1024
    return 0


def session_for(user) -> str:
    """A session of `user` written straight into the store (no password check), as a login leaves
    it: the backend named is the first that can load a user (django-axes' own comes first and
    cannot)."""
    backend = next(path for path in settings.AUTHENTICATION_BACKENDS if hasattr(import_string(path), "get_user"))
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = backend
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def open_files_for(need: int) -> None:
    """Raise this process's open-file limit to `need` (within the hard limit); the servers it starts
    inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard) if hard != resource.RLIM_INFINITY else need, hard))


def server_env(server: dict[str, str], name: str, pool_size: str | None, *, redis: bool = False) -> dict[str, str]:
    """The environment of a server or worker the benchmark starts on the copy `name`: as production
    (DEBUG off) but over plain http on 127.0.0.1 (tests/e2e/conftest.py's `subprocess_env`), the
    in-memory channel layer unless `redis`, and the pool size asked for the server (`pool_size`)."""
    env = subprocess_env(server, name, debug=False)
    if not redis:
        env.pop("REDIS_URL", None)
    env.pop("DB_POOL_MAX_SIZE", None)
    if pool_size is not None:
        env["DB_POOL_MAX_SIZE"] = pool_size
    return env


class RssSampler:
    """The peak VmRSS of a process while it runs (sampled every 100 ms)."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._task = pid, 0, None

    async def _run(self) -> None:
        while True:
            self.peak = max(self.peak, rss_bytes(self.pid))
            await asyncio.sleep(0.1)

    def __enter__(self):
        self.peak = rss_bytes(self.pid)
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc) -> None:
        self._task.cancel()
        self.peak = max(self.peak, rss_bytes(self.pid))


# --- clients --------------------------------------------------------------------------------------------

@dataclass
class Deliveries:
    """Receipt times of `created` events at the clients, by incident id."""

    expected: int = 0
    times: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    complete: dict[int, asyncio.Event] = field(default_factory=dict)
    # The walls' HTTP requests for events (the page's rule, see the module docstring): `fetch(headers,
    # incident)` sends one; None for the floor (its frames are not the wall's).
    fetch: object = None
    frames: int = 0  # event frames received, all clients
    requests: int = 0  # HTTP requests the walls sent for them

    def waiter(self, incident: int) -> asyncio.Event:
        if incident not in self.complete:
            self.complete[incident] = asyncio.Event()
            if len(self.times[incident]) >= self.expected:
                self.complete[incident].set()
        return self.complete[incident]

    def arrived(self, incident: int, at: float) -> None:
        received = self.times[incident]
        received.append(at)
        if len(received) >= self.expected:
            self.waiter(incident).set()


async def wall_client(url: str, headers: dict, deliveries: Deliveries, ready: asyncio.Future, stop: asyncio.Event):
    async with connect(url, additional_headers=headers, open_timeout=60, max_size=2**22) as socket:
        async def listen() -> None:
            async for raw in socket:
                now = time.perf_counter()
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "event" and message["event"]["kind"] == "created":
                    deliveries.arrived(message["event"]["incident"], now)
                if kind == "event" and deliveries.fetch is not None:
                    deliveries.frames += 1
                    if "incident" not in message:  # no row: the wall asks for the incident
                        deliveries.requests += 1
                        asyncio.get_running_loop().create_task(
                            deliveries.fetch(headers, message["event"]["incident"]))
                elif kind in ("caught_up", "resync") and not ready.done():
                    ready.set_result(True)

        listener = asyncio.create_task(listen())
        stopping = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({listener, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if listener in done and not ready.done():
            ready.set_exception(RuntimeError(f"socket closed before caught_up: {socket.close_code}"))
        listener.cancel()
        stopping.cancel()


@dataclass
class Result:
    label: str
    clients: int
    latencies_ms: list[float]
    spreads_ms: list[float]
    lost: int
    rss_peak: int = 0
    connect_s: float = 0.0
    cpu_ms_per_event: float = 0.0
    frames: int = 0  # event frames the walls received
    requests: int = 0  # HTTP requests the walls sent for them

    @property
    def requests_per_event_per_wall(self) -> float:
        return self.requests / self.frames if self.frames else float("nan")


async def run_phase(label: str, *, clients: int, url: str, headers_for, produce, events: int,
                    pid: int, pause: float = 0.05, fetch=None) -> Result:
    """Connect `clients` wall sockets, then produce `events` events one at a time, each awaited until
    every client has it (or DELIVERY_TIMEOUT_S). `fetch`: the walls' request for an event's incident
    (the real server's runs)."""
    deliveries = Deliveries(expected=clients, fetch=fetch)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    readies = [loop.create_future() for _ in range(clients)]
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(k: int) -> None:
        async with gate:
            task = asyncio.create_task(wall_client(url, headers_for(k), deliveries, readies[k], stop))
            try:
                await readies[k]
            except BaseException:
                task.cancel()
                raise
        await task

    started = time.perf_counter()
    with RssSampler(pid) as sampler:
        tasks = [asyncio.create_task(one(k)) for k in range(clients)]
        await asyncio.gather(*readies)
        connect_s = time.perf_counter() - started
        latencies, spreads, lost = [], [], 0
        cpu_before = cpu_seconds(pid)
        for _ in range(events):
            sent = time.perf_counter()
            incident = await produce()
            try:
                await asyncio.wait_for(deliveries.waiter(incident).wait(), DELIVERY_TIMEOUT_S)
            except TimeoutError:
                pass
            received = deliveries.times[incident]
            lost += clients - len(received)
            latencies += [(t - sent) * 1000 for t in received]
            if received:
                spreads.append((max(received) - min(received)) * 1000)
            await asyncio.sleep(pause)
        cpu_ms_per_event = (cpu_seconds(pid) - cpu_before) * 1000 / events
        await asyncio.sleep(0.5)  # the frames of each event's later steps, if any, and their requests
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    return Result(label, clients, latencies, spreads, lost, sampler.peak, connect_s, cpu_ms_per_event,
                  deliveries.frames, deliveries.requests)


# --- the benchmark --------------------------------------------------------------------------------------

def prepare(copy_name: str, sessions: int) -> dict:
    """In the copy: a staff user's sessions and API token, the intake's channel, category and points."""
    from rest_framework.authtoken.models import Token

    from geo.models import Subdistrict
    from incidents.models import Category, Channel, Incident, IncidentEvent

    sub = Subdistrict.objects.filter(code=DEMO_CODE).first()
    if sub is None:
        raise SystemExit("No demo sub-district: run `make setup` first.")
    user = get_user_model().objects.filter(groups__name="dispatcher", is_active=True).order_by("pk").first()
    if user is None:
        raise SystemExit("No dispatcher user: run `.venv/bin/python manage.py seed_demo` first.")
    keys = [session_for(user) for _ in range(sessions)]
    channel = Channel.objects.filter(kind=Channel.Kind.HOTLINE, active=True).order_by("code").first()
    category = (Category.objects.filter(major_by_default=False, incidents__subdistrict=sub)
                .annotate(n=Count("incidents")).order_by("-n").first())
    points = list(Incident.objects.filter(subdistrict=sub, location__isnull=False)
                  .order_by("-reported_at").values_list("location", flat=True)[:500])
    last_event = IncidentEvent.objects.filter(subdistrict=sub).order_by("-pk").values_list("pk", flat=True).first()
    return {"sub": sub, "user": user, "sessions": keys, "token": Token.objects.get_or_create(user=user)[0].key,
            "channel": channel.code, "category": category.code, "points": [(p.x, p.y) for p in points],
            "last_event": last_event or 0}


async def benchmark(args, ctx: dict, server_url: str, server_pid: int, floor_url: str, floor_pid: int) -> list:
    rng = random.Random(args.seed)
    origin = server_url
    cookie = settings.SESSION_COOKIE_NAME
    wall_url = server_url.replace("http://", "ws://") + f"/ws/wall/{DEMO_CODE}/?last_event={ctx['last_event']}"

    def wall_headers(k: int) -> dict:
        return {"Origin": origin, "Cookie": f"{cookie}={ctx['sessions'][k // CLIENTS_PER_SESSION]}"}

    def floor_headers(_k: int) -> dict:
        return {"Origin": origin}

    http = httpx.AsyncClient(base_url=server_url, timeout=30, headers={
        "Authorization": f"Token {ctx['token']}", "Accept-Language": "en"})
    serial = 0
    payload_sample: dict = {}
    post_ms: list[float] = []

    async def produce_incident() -> int:
        nonlocal serial
        serial += 1
        lon, lat = rng.choice(ctx["points"])
        body = {"channel": ctx["channel"], "category": ctx["category"], "subdistrict": DEMO_CODE,
                "description": f"墙图基准测试 {serial}", "location": {"type": "Point", "coordinates": [lon, lat]}}
        t0 = time.perf_counter()
        response = await http.post("/api/v1/incidents/", json=body)
        post_ms.append((time.perf_counter() - t0) * 1000)
        if response.status_code != 201:
            raise RuntimeError(f"intake: HTTP {response.status_code} {response.text[:300]}")
        return response.json()["id"]

    # one event payload as the socket carries it, for the floor's messages of the same size
    async with connect(wall_url, additional_headers=wall_headers(0)) as probe:
        while json.loads(await probe.recv())["type"] not in ("caught_up", "resync"):
            pass
        await produce_incident()
        while True:
            message = json.loads(await probe.recv())
            if message["type"] == "event":
                payload_sample = message["event"]
                break
    post_ms.clear()

    producer = await connect(floor_url)
    floor_serial = 10**9

    async def produce_floor() -> int:
        nonlocal floor_serial
        floor_serial += 1
        await producer.send(json.dumps({"produce": floor_serial, "payload": payload_sample}))
        return floor_serial

    async def fetch_incident(headers: dict, incident: int) -> None:
        """What the page did for every event before frames carried the row: GET the incident."""
        await walls_http.get(f"/api/v1/wall/{DEMO_CODE}/incidents/{incident}/", headers=headers)

    walls_http = httpx.AsyncClient(base_url=server_url, timeout=30)
    results = []
    phases = [("intake → wall", 1, args.intake_events)] + [
        (f"event → client, {n} clients", n, args.fanout_events) for n in args.clients]
    for label, clients, events in phases:
        floor = await run_phase(label, clients=clients, url=floor_url, headers_for=floor_headers,
                                produce=produce_floor, events=events, pid=floor_pid)
        post_ms.clear()
        real = await run_phase(label, clients=clients, url=wall_url, headers_for=wall_headers,
                               produce=produce_incident, events=events, pid=server_pid, fetch=fetch_incident)
        results.append((real, floor, list(post_ms)))
        print(f"  {label}: {len(real.latencies_ms)} deliveries, p95 {pct(real.latencies_ms, 95):.1f} ms "
              f"(floor {pct(floor.latencies_ms, 95):.1f} ms), connected in {real.connect_s:.1f} s, "
              f"HTTP requests per event per wall {real.requests_per_event_per_wall:.2f} "
              f"({real.requests} for {real.frames} event frames), "
              f"load {os.getloadavg()[0]:.2f}", flush=True)
    await producer.close()
    await http.aclose()
    await walls_http.aclose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[200, 1000], help="client counts (200 1000)")
    parser.add_argument("--intake-events", type=int, default=200, help="incidents of the intake-to-wall run")
    parser.add_argument("--fanout-events", type=int, default=40, help="events per client count")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--uvicorn-args", default="", help="extra uvicorn options, e.g. '--ws wsproto'")
    parser.add_argument("--redis", action="store_true",
                        help="channels-redis instead of the in-memory layer, on a redis-server of its own")
    parser.add_argument("--profile", metavar="FILE", help="run the server under cProfile, stats to FILE")
    parser.add_argument("--keep-database", action="store_true", help="keep the copy for a look afterwards")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)

    open_files_for(2 * max(args.clients) + 500)  # both ends of every socket live on this machine

    server = _server()
    source = settings.DATABASES["default"]["NAME"]
    copy_name = f"bench_wall_{os.getpid()}"
    load_before = os.getloadavg()
    started = time.monotonic()
    how = copy_database(server, source, copy_name)
    copy_s = time.monotonic() - started
    settings.DATABASES["default"]["NAME"] = copy_name  # before the first query of this process
    processes: list[subprocess.Popen] = []
    redis_process = None
    logs = Path(tempfile.mkdtemp(prefix="bench-wall-"))
    try:
        ctx = prepare(copy_name, sessions=-(-max(args.clients) // CLIENTS_PER_SESSION))
        connection.close()
        env = server_env(server, copy_name, SERVER_POOL_SIZE)
        if args.redis:
            redis_port = _free_port()
            redis_log = logs / "redis.log"
            with redis_log.open("w") as out:
                redis_process = subprocess.Popen(  # noqa: S603 - fixed arguments
                    [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(redis_port),
                     "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(logs)],
                    cwd=logs, stdout=out, stderr=subprocess.STDOUT)
            wait_for(lambda: redis_ping(redis_port), redis_process, redis_log, "redis-server")
            env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        port, floor_port = _free_port(), _free_port()
        server_log, floor_log = logs / "uvicorn.log", logs / "floor.log"
        with server_log.open("w") as out:
            processes.append(subprocess.Popen(  # noqa: S603 - fixed arguments
                [sys.executable, *(["-m", "cProfile", "-o", args.profile] if args.profile else []),
                 "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
                 "--port", str(port), "--lifespan", "off", *args.uvicorn_args.split()],
                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT))
        with floor_log.open("w") as out:
            processes.append(subprocess.Popen(  # noqa: S603 - fixed arguments
                [sys.executable, __file__, FLOOR_SERVER_FLAG, str(floor_port)],
                cwd=REPO, stdout=out, stderr=subprocess.STDOUT))
        server_url = f"http://127.0.0.1:{port}"
        wait_for(lambda: http_ok(server_url + "/accounts/login/"), processes[0], server_log, "uvicorn")
        wait_for(lambda: "ready" in floor_log.read_text(), processes[1], floor_log, "the floor server")
        print(f"GridLink wall-map benchmark: sub-district {ctx['sub'].name} ({DEMO_CODE}) on a copy of "
              f"{source} ({how}, {copy_s:.1f} s), {'channels-redis' if args.redis else 'in-memory channel layer'}, uvicorn {' '.join(['--lifespan off', args.uvicorn_args]).strip()}, "
              f"{os.cpu_count()} CPUs, load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
        idle_rss = rss_bytes(processes[0].pid)
        results = uvloop.run(benchmark(args, ctx, server_url, processes[0].pid,
                                       f"ws://127.0.0.1:{floor_port}/", processes[1].pid))
    except BaseException:
        print(f"The servers' logs are in {logs}", file=sys.stderr)
        raise
    finally:
        if args.profile and processes and processes[0].poll() is None:
            # uvicorn re-raises SIGTERM after its shutdown; after SIGINT cProfile still writes its stats
            processes[0].send_signal(signal.SIGINT)
            processes[0].wait(timeout=30)
        for process in [*processes, *([redis_process] if redis_process else [])]:
            _stop(process)
        connection.close()
        if not args.keep_database:
            _drop_database(server, copy_name)
    shutil.rmtree(logs, ignore_errors=True)  # kept when something failed (above)

    # --- the table ------------------------------------------------------------------------------------
    print()
    print(f"{'':34} {'deliveries':>10} {'lost':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
          f"{'spread p95':>10} {'p95/floor':>9} {'CPU/event':>9} {'RSS peak':>9} {'connect':>8}")
    for real, floor, _posts in results:
        for name, r in ((real.label, real), ("  floor: bare websockets broadcast", floor)):
            print(f"{name:34} {len(r.latencies_ms):10d} {r.lost:5d} {pct(r.latencies_ms, 50):8.1f} "
                  f"{pct(r.latencies_ms, 95):8.1f} {max(r.latencies_ms, default=float('nan')):8.1f} "
                  f"{pct(r.spreads_ms, 95):10.1f} "
                  f"{(pct(real.latencies_ms, 95) / pct(floor.latencies_ms, 95) if r is real else 1):9.1f} "
                  f"{r.cpu_ms_per_event:6.1f} ms "
                  f"{r.rss_peak / 2**20:7.0f} M {r.connect_s:7.1f}s")
    print()
    print("intake API (POST /api/v1/incidents/) response time: " + "; ".join(
        f"{real.label}: p50 {pct(posts, 50):.1f} ms, p95 {pct(posts, 95):.1f} ms" for real, _f, posts in results))
    print(f"server RSS idle before the clients: {idle_rss / 2**20:.0f} MiB; spread = first to last delivery of one "
          f"event; CPU/event = the server process's CPU time (user + system) while the events were produced, "
          f"per event; connect = all clients connected and caught up ({CONNECT_CONCURRENCY} handshakes at a "
          f"time); clients share a session per {CLIENTS_PER_SESSION}")
    intake = results[0][0]
    verdicts = [f"intake-to-wall p95 ≤ {TARGET_INTAKE_P95_MS:.0f} ms: {pct(intake.latencies_ms, 95):.1f} ms — "
                f"{'met' if pct(intake.latencies_ms, 95) <= TARGET_INTAKE_P95_MS and not intake.lost else 'NOT met'}"]
    for real, _floor, _posts in results[1:]:
        if real.clients == 1000:
            p95 = pct(real.latencies_ms, 95)
            verdicts.append(f"event-to-client p95 ≤ {TARGET_FANOUT_P95_MS:.0f} ms at 1,000 clients: {p95:.1f} ms — "
                            f"{'met' if p95 <= TARGET_FANOUT_P95_MS and not real.lost else 'NOT met'}")
            verdicts.append(f"server RSS < 1 GiB at 1,000 clients: {real.rss_peak / 2**20:.0f} MiB — "
                            f"{'met' if real.rss_peak < TARGET_RSS_BYTES else 'NOT met'}")
    requests = sum(real.requests for real, _f, _p in results)
    frames = sum(real.frames for real, _f, _p in results)
    print("HTTP requests per event per wall: " + "; ".join(
        f"{real.label}: {real.requests_per_event_per_wall:.2f} ({real.requests} / {real.frames} frames)"
        for real, _f, _p in results))
    verdicts.append(f"HTTP requests per event per wall = 0: {requests} requests for {frames} event frames — "
                    f"{'met' if requests == 0 and frames else 'NOT met'}")
    for line in verdicts:
        print("target " + line)
    load_after = os.getloadavg()
    print(f"(load average at the end {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
