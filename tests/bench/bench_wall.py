#!/usr/bin/env python
"""Benchmark: the wall map's live updates, end to end through a real server — the demo's
sub-district, then a city's.

Run by `make bench` (after `make setup`): `.venv/bin/python tests/bench/bench_wall.py`. The demo part
works on a throwaway copy of the development database (`CREATE DATABASE bench_wall_<pid> TEMPLATE
<dev db>`, or pg_dump | pg_restore when another session holds the development database open),
dropped at the end: the demo the wall shows is never touched.

The server is started as `make run WORKERS=N` starts it (scripts/run-server): `uvicorn
config.asgi:application --lifespan off --ws-max-size 65536 --workers N`, DEBUG off; for the demo
part one process (`--workers`), on the in-memory channel layer (`--redis`: channels-redis on a
redis-server of its own; more than one worker implies it). Its CPU and memory are its worker
processes' (the children of uvicorn's master), summed. The wall sockets are clients using the
`websockets` library on asyncio (uvloop) in separate client processes (this script with
`--clients-process`; the sockets dealt among them in turn, receipt times on CLOCK_MONOTONIC, which
every process of the machine shares), each authenticated with the session cookie of a staff user
(sessions written straight into the session store; 100 clients share one):
- intake to wall: an incident POSTed to `/api/v1/incidents/` (token auth) until its `created` event is
  on a connected wall socket, one at a time;
- event to client with 200 and with 1,000 sockets connected: the same POSTs, each one's `created`
  event timed from the moment the request was sent to its receipt at every client; the spread is
  first to last delivery of one event (the server's fan-out). The server's resident memory (VmRSS
  of /proc/<pid>/status) is sampled while they are connected.
Beside each, the floor: a bare `websockets` broadcast server (no Django, no Channels; a subprocess
of this script) sends an event payload of the same size to the same number of clients, through the
same client processes, when a producer socket asks it to — `websockets.broadcast`, JSON encoded once,
to the clients of the event's sub-district (the path they connected to).

The city part (issue 16; `--city-subdistricts 0` skips it, `--city-only` runs it alone): a throwaway
city of `--city-subdistricts` sub-districts (`fixtures.city.bench_city`: generated, migrated, dropped
at the end; `--database NAME` reuses a city seeded before and keeps it), served by `--city-workers`
(2) processes on channels-redis. Each sub-district's walls are a command-room user bound to it by
tenancy (geo.models.Tenancy); the intake's token is the district centre's (`district`, the whole
district). Three runs, each beside its floor:
- intake to wall: incidents POSTed to random sub-districts, each timed to its `created` frame on
  the one wall socket of that sub-district;
- event to client with `--city-sockets` (5,000) sockets spread over the sub-districts in turn:
  incidents POSTed to the sub-districts in turn, so that every socket receives events; each
  delivery timed;
- the worst case: the same number of sockets all on one sub-district (every event reaches all).
The city's sockets resume from their sub-district's newest event (as a page that has just loaded
its snapshot); the demo's from the copy's newest before the runs, as they always did.

HTTP requests per event per wall (target 0): each simulated wall follows the page's rule
(frontend/static/wall/wall.js `handle()`): an event frame that carries its incident's board row
(`"incident"`) is applied as it is; one without it makes the wall GET the incident
(`/api/v1/wall/<code>/incidents/<id>/`, as the page did before frames carried rows) — requests the
walls really send, counted over every event frame of the server's runs. A `resync` frame after the
socket caught up (the layer dropped a message: the page reloads its snapshot) is counted apart from
the deliveries that never came; both must be 0.

Also printed: the server's CPU time per event (user + system, from /proc/<pid>/stat: the figure
least disturbed by other work on the machine), the client processes' own, how long the clients
took to connect, the sockets each server process holds and the load average at the end of each run.
Options: `--uvicorn-args '...'` tries server options; `--profile FILE` runs a one-process server
under cProfile.

Targets on the 2-core machine: intake-to-wall p95 at most 300 ms; event-to-client p95 at most
250 ms with 1,000 clients, the server under 1 GiB while they are connected; in the city, on 2
workers and channels-redis, intake-to-wall p95 at most 300 ms and event-to-client p95 at most
250 ms with 5,000 sockets; no HTTP request per event from any wall, no delivery lost. Not a test:
the verdict lines say whether each target was met; the load average is printed because other work
on the machine shows in every figure.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field

FLOOR_SERVER_FLAG = "--floor-server"
CLIENTS_FLAG = "--clients-process"
CONNECT_CONCURRENCY = 50  # handshakes at a time, per client process
PIPE_LIMIT = 2**26  # the longest line between this script and its client processes


def now() -> float:
    """The receipt and send times: CLOCK_MONOTONIC, one clock for every process of the machine."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def open_files_for(need: int) -> None:
    """Raise this process's open-file limit to `need` (within the hard limit); the servers it starts
    inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard) if hard != resource.RLIM_INFINITY else need, hard))


# --- the floor: a bare websockets broadcast server (imports no Django) --------------------------------

def floor_server(port: int) -> None:
    """Clients connect to `/<group>`, are told `caught_up`, and receive what a producer asks for: a
    message `{"produce": <id>, "group": "/<group>", "payload": <event payload>}` is broadcast
    (encoded once) to the group's clients with `incident` = id."""
    import uvloop
    from websockets.asyncio.server import broadcast, serve

    groups: dict[str, set] = defaultdict(set)

    async def handler(connection):
        listeners = groups[connection.request.path]
        listeners.add(connection)
        try:
            await connection.send(json.dumps({"type": "caught_up", "last_event": 0}))
            async for raw in connection:
                command = json.loads(raw)
                if "produce" in command:
                    listeners.discard(connection)  # the producer is not a wall map
                    event = {**command["payload"], "incident": command["produce"]}
                    broadcast(groups[command["group"]], json.dumps({"type": "event", "event": event}))
        finally:
            listeners.discard(connection)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", port, max_size=2**20):
            print("floor server ready", flush=True)
            await asyncio.Future()

    uvloop.run(main())


# --- the clients: wall sockets, in client processes (import no Django) --------------------------------

@dataclass
class Deliveries:
    """Receipt times of `created` events at the clients, by incident id."""

    times: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    waiting: dict[int, tuple[int, asyncio.Event]] = field(default_factory=dict)
    # The walls' HTTP requests for events (the page's rule, see the module docstring): `fetch(headers,
    # code, incident)` sends one; None for the floor (its frames are not the wall's).
    fetch: object = None
    frames: int = 0  # event frames received, all clients
    requests: int = 0  # HTTP requests the walls sent for them
    resyncs: int = 0  # `resync` frames after caught_up: the layer dropped a message

    def arrived(self, incident: int, at: float) -> None:
        received = self.times[incident]
        received.append(at)
        waiting = self.waiting.get(incident)
        if waiting is not None and len(received) >= waiting[0]:
            waiting[1].set()

    async def wait(self, incident: int, expected: int, timeout: float) -> list[float]:
        """The receipt times of `incident` once `expected` clients have it, or after `timeout`."""
        if len(self.times[incident]) < expected:
            self.waiting[incident] = (expected, asyncio.Event())
            try:
                await asyncio.wait_for(self.waiting[incident][1].wait(), timeout)
            except TimeoutError:
                pass
            finally:
                del self.waiting[incident]
        return self.times.pop(incident)


async def wall_client(url: str, headers: dict, code: str, deliveries: Deliveries, ready: asyncio.Future,
                      stop: asyncio.Event):
    from websockets.asyncio.client import connect

    async with connect(url, additional_headers=headers, open_timeout=120, max_size=2**22) as socket:
        async def listen() -> None:
            async for raw in socket:
                at = now()
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "event" and message["event"]["kind"] == "created":
                    deliveries.arrived(message["event"]["incident"], at)
                if kind == "event" and deliveries.fetch is not None:
                    deliveries.frames += 1
                    if "incident" not in message:  # no row: the wall asks for the incident
                        deliveries.requests += 1
                        asyncio.get_running_loop().create_task(
                            deliveries.fetch(headers, code, message["event"]["incident"]))
                elif kind in ("caught_up", "resync") and not ready.done():
                    ready.set_result(True)
                elif kind == "resync":
                    deliveries.resyncs += 1

        listener = asyncio.create_task(listen())
        stopping = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({listener, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if listener in done and not ready.done():
            ready.set_exception(RuntimeError(f"socket closed before caught_up: {socket.close_code}"))
        listener.cancel()
        stopping.cancel()


async def clients_process() -> None:
    """A client process: JSON lines on stdin, answers on stdout. First `{"sockets": [[url, headers,
    code], ...], "http": <server URL, or null for the floor>}`: it connects them
    (CONNECT_CONCURRENCY handshakes at a time) and answers `{"ready": <seconds>}` once every one is
    caught up (or `{"error": ...}`); then `{"wait": <incident>, "expected": n, "timeout": s}` is
    answered with the receipt times `{"times": [...]}`, and `{"stop": true}` with the counts and the
    process's CPU seconds since it was ready."""
    import httpx

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=PIPE_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def answer(message: dict) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    spec = json.loads(await reader.readline())
    sockets = spec["sockets"]
    open_files_for(len(sockets) + 500)
    walls_http = httpx.AsyncClient(base_url=spec["http"], timeout=30) if spec["http"] else None

    async def fetch_incident(headers: dict, code: str, incident: int) -> None:
        """What the page did for every event before frames carried the row: GET the incident."""
        await walls_http.get(f"/api/v1/wall/{code}/incidents/{incident}/", headers=headers)

    deliveries = Deliveries(fetch=fetch_incident if walls_http else None)
    stop = asyncio.Event()
    readies = [loop.create_future() for _ in sockets]
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(k: int) -> None:
        url, headers, code = sockets[k]
        async with gate:
            task = asyncio.create_task(wall_client(url, headers, code, deliveries, readies[k], stop))
            try:
                await readies[k]
            except BaseException:
                task.cancel()
                raise
        await task

    started = now()
    tasks = [asyncio.create_task(one(k)) for k in range(len(sockets))]
    try:
        await asyncio.gather(*readies)
    except Exception as exc:  # noqa: BLE001 - told to the parent, which stops
        answer({"error": f"{type(exc).__name__}: {exc}"})
        return
    answer({"ready": now() - started})
    cpu_before = time.process_time()
    while line := await reader.readline():
        command = json.loads(line)
        if "stop" in command:
            break
        answer({"times": await deliveries.wait(command["wait"], command["expected"], command["timeout"])})
    cpu_s = time.process_time() - cpu_before
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    if walls_http is not None:
        await walls_http.aclose()
    answer({"frames": deliveries.frames, "requests": deliveries.requests, "resyncs": deliveries.resyncs,
            "cpu_s": cpu_s})


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == FLOOR_SERVER_FLAG:
    floor_server(int(sys.argv[2]))
    sys.exit(0)
if __name__ == "__main__" and sys.argv[1:] == [CLIENTS_FLAG]:
    import uvloop

    uvloop.run(clients_process())
    sys.exit(0)


import argparse  # noqa: E402
import logging  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Awaitable, Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
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
from django.db.models import Count, Max  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from fixtures import city  # noqa: E402
from fixtures.demo import DEMO_CODE  # noqa: E402
from tests.e2e.conftest import (  # noqa: E402
    _admin_cursor,
    _drop_database,
    _free_port,
    _server,
    _stop,
    subprocess_env,
)
from tests.server_options import uvicorn_options  # noqa: E402

TARGET_INTAKE_P95_MS = 300.0
TARGET_FANOUT_P95_MS = 250.0
TARGET_RSS_BYTES = 1 << 30
CLIENTS_PER_SESSION = 100
DELIVERY_TIMEOUT_S = 20.0
CITY_HISTORY_DAYS = 14  # the generated city's history: two weeks at the demo's rate (its timeline: the last week)


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


def worker_pids(pid: int) -> list[int]:
    """A server's processes that serve: the children of uvicorn's master with `--workers` (not
    multiprocessing's resource tracker beside them), else the process itself."""
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) != pid:
                        continue
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    if b"resource_tracker" not in cmdline.read():
                        children.append(int(entry))
            except OSError:
                continue
    return sorted(children) or [pid]


def socket_fds(pid: int) -> int:
    """The sockets a process holds open (its clients', its database and Redis connections)."""
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            continue
    return count


def open_files_limit(pid: int) -> int:
    """The soft limit on a process's open files (/proc/<pid>/limits)."""
    with open(f"/proc/{pid}/limits") as limits:
        for line in limits:
            if line.startswith("Max open files"):
                return int(line.split()[3])
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


@dataclass
class Servers:
    """The servers of one part: GridLink's (uvicorn's master `pid`, its `workers`) and the floor's."""

    url: str
    pid: int
    workers: int
    layer: str
    floor_url: str
    floor_pid: int

    def worker_pids(self) -> list[int]:
        return worker_pids(self.pid)


@contextmanager
def serving(args, pg: dict[str, str], name: str, logs: Path, *, workers: int, redis: bool) -> Iterator[Servers]:
    """GridLink's server on the database `name` as `make run WORKERS=<workers>` starts it (channels-redis
    on a redis-server of its own when `redis`), and the floor server; stopped at the end."""
    env = server_env(pg, name, SERVER_POOL_SIZE)
    processes: list[subprocess.Popen] = []
    server = None
    profile = args.profile if workers == 1 else None
    try:
        if redis:
            redis_port = _free_port()
            redis_log = logs / f"redis-{name}.log"
            with redis_log.open("w") as out:
                processes.append(subprocess.Popen(  # noqa: S603 - fixed arguments
                    [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(redis_port),
                     "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(logs)],
                    cwd=logs, stdout=out, stderr=subprocess.STDOUT))
            wait_for(lambda: redis_ping(redis_port), processes[-1], redis_log, "redis-server")
            env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0" + (
                f"?max_connections={args.redis_max_connections}" if args.redis_max_connections else "")
        port, floor_port = _free_port(), _free_port()
        server_log, floor_log = logs / f"uvicorn-{name}.log", logs / f"floor-{name}.log"
        with server_log.open("w") as out:
            server = subprocess.Popen(  # noqa: S603 - fixed arguments
                [sys.executable, *(["-m", "cProfile", "-o", profile] if profile else []),
                 "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
                 *uvicorn_options(), "--workers", str(workers),
                 *args.uvicorn_args.split()],
                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
            processes.append(server)
        with floor_log.open("w") as out:
            floor = subprocess.Popen(  # noqa: S603 - fixed arguments
                [sys.executable, __file__, FLOOR_SERVER_FLAG, str(floor_port)],
                cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
            processes.append(floor)
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: http_ok(url + "/accounts/login/"), server, server_log, "uvicorn")
        wait_for(lambda: len(worker_pids(server.pid)) == workers or workers == 1, server, server_log,
                 "uvicorn's workers")
        wait_for(lambda: "ready" in floor_log.read_text(), floor, floor_log, "the floor server")
        yield Servers(url, server.pid, workers, "channels-redis" if redis else "in-memory channel layer",
                      f"ws://127.0.0.1:{floor_port}", floor.pid)
    finally:
        if profile and server is not None and server.poll() is None:
            # uvicorn re-raises SIGTERM after its shutdown; after SIGINT cProfile still writes its stats
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)
        for process in reversed(processes):
            _stop(process)


class RssSampler:
    """The peak resident memory of processes (summed) while they run, sampled every 100 ms."""

    def __init__(self, pids: list[int]):
        self.pids, self.peak, self._task = pids, 0, None

    def sample(self) -> None:
        self.peak = max(self.peak, sum(rss_bytes(pid) for pid in self.pids))

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(0.1)

    def __enter__(self):
        self.sample()
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc) -> None:
        self._task.cancel()
        self.sample()


# --- client processes -----------------------------------------------------------------------------------

# A wall socket: (its URL, its handshake's headers, its sub-district's code).
Socket = tuple[str, dict, str]


class ClientPool:
    """`processes` client processes of this script (`clients_process`), the sockets dealt among them
    in turn; knows how many of each process's sockets are on each sub-district."""

    def __init__(self, sockets: list[Socket], processes: int, http: str | None, logs: Path):
        self.sockets, self.http, self.logs = sockets, http, logs
        self.shares = [sockets[k::processes] for k in range(min(processes, len(sockets)))]
        self.counts = [Counter(code for _url, _headers, code in share) for share in self.shares]
        self.children: list[asyncio.subprocess.Process] = []

    async def _ask(self, child: asyncio.subprocess.Process, message: dict | None) -> dict:
        if message is not None:
            child.stdin.write((json.dumps(message) + "\n").encode())
            await child.stdin.drain()
        line = await child.stdout.readline()
        if not line:
            raise RuntimeError(f"a client process ended (code {await child.wait()}); see {self.logs}")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"a client process: {answer['error']}")
        return answer

    async def start(self) -> float:
        """Every socket connected and caught up; returns how long that took (the slowest process)."""
        for k, share in enumerate(self.shares):
            with (self.logs / f"clients-{k}.log").open("a") as log:
                child = await asyncio.create_subprocess_exec(
                    sys.executable, __file__, CLIENTS_FLAG, cwd=REPO, stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE, stderr=log, limit=PIPE_LIMIT)
            self.children.append(child)
            child.stdin.write((json.dumps({"sockets": share, "http": self.http}) + "\n").encode())
        answers = await asyncio.gather(*(self._ask(child, None) for child in self.children))
        return max(answer["ready"] for answer in answers)

    def expected(self, code: str) -> int:
        return sum(counts[code] for counts in self.counts)

    async def wait(self, incident: int, code: str) -> list[float]:
        """The receipt times of `incident`, an event of `code`, at every socket of `code`."""
        asked = [(child, counts[code]) for child, counts in zip(self.children, self.counts, strict=True) if counts[code]]
        answers = await asyncio.gather(*(self._ask(child, {"wait": incident, "expected": n,
                                                           "timeout": DELIVERY_TIMEOUT_S}) for child, n in asked))
        return [t for answer in answers for t in answer["times"]]

    def kill(self) -> None:
        for child in self.children:
            if child.returncode is None:
                child.kill()

    async def stop(self) -> dict:
        """The processes stopped; their counts summed."""
        answers = await asyncio.gather(*(self._ask(child, {"stop": True}) for child in self.children))
        for child in self.children:
            await child.wait()
        return {key: sum(answer[key] for answer in answers) for key in ("frames", "requests", "resyncs", "cpu_s")}


# --- a run ---------------------------------------------------------------------------------------------

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
    resyncs: int = 0  # resync frames after caught up
    client_cpu_ms_per_event: float = 0.0  # the client processes'
    sockets_by_process: list[int] = field(default_factory=list)  # each server process's sockets, connected
    load: float = 0.0  # 1-minute load average at the end of the run

    @property
    def requests_per_event_per_wall(self) -> float:
        return self.requests / self.frames if self.frames else float("nan")


@dataclass
class Phase:
    """A run: its wall sockets on GridLink's server, and the sub-district of each of its events."""

    label: str
    sockets: list[Socket]
    codes: list[str]
    target_ms: float | None = None  # the p95 the issue asks for, if any
    rss_target: bool = False  # whether the memory target applies


async def run_phase(label: str, *, sockets: list[Socket], codes: list[str],
                    produce: Callable[[str], Awaitable[tuple[int, str]]], pids: list[int], http: str | None,
                    processes: int, logs: Path, pause: float = 0.05) -> Result:
    """Connect `sockets` in `processes` client processes, then produce an event on each of `codes` one
    at a time, each awaited until every socket of its sub-district has it (or DELIVERY_TIMEOUT_S).
    `pids`: the server's processes; `http`: its URL for the walls' requests (None: the floor)."""
    pool = ClientPool(sockets, processes, http, logs)
    counts: dict = {}
    with RssSampler(pids) as sampler:
        try:
            connect_s = await pool.start()
            sockets_by_process = [socket_fds(pid) for pid in pids]
            latencies, spreads, lost = [], [], 0
            cpu_before = sum(cpu_seconds(pid) for pid in pids)
            for code in codes:
                sent = now()
                incident, _ = await produce(code)
                received = await pool.wait(incident, code)
                lost += pool.expected(code) - len(received)
                latencies += [(t - sent) * 1000 for t in received]
                if received:
                    spreads.append((max(received) - min(received)) * 1000)
                await asyncio.sleep(pause)
            cpu_ms_per_event = (sum(cpu_seconds(pid) for pid in pids) - cpu_before) * 1000 / len(codes)
            await asyncio.sleep(0.5)  # the frames of each event's later steps, if any, and their requests
            counts = await pool.stop()
        finally:
            pool.kill()  # what a failure left running
    return Result(label, len(sockets), latencies, spreads, lost, sampler.peak, connect_s, cpu_ms_per_event,
                  counts["frames"], counts["requests"], counts["resyncs"], counts["cpu_s"] * 1000 / len(codes),
                  sockets_by_process, os.getloadavg()[0])


class Floor:
    """The producer of the floor server's events: one socket, an event payload of the server's size."""

    def __init__(self, servers: Servers, payload: dict):
        self.servers, self.payload, self.serial, self.producer = servers, payload, 10**9, None

    def sockets(self, real: list[Socket]) -> list[Socket]:
        """The floor's clients: as many as `real`, on the same sub-districts."""
        return [(f"{self.servers.floor_url}/{code}", {"Origin": self.servers.url}, code) for _u, _h, code in real]

    async def produce(self, code: str) -> tuple[int, str]:
        if self.producer is None:
            self.producer = await connect(self.servers.floor_url + "/")
        self.serial += 1
        await self.producer.send(json.dumps({"produce": self.serial, "group": f"/{code}", "payload": self.payload}))
        return self.serial, code

    async def close(self) -> None:
        if self.producer is not None:
            await self.producer.close()


class Intake:
    """Incidents POSTed to `/api/v1/incidents/` with a token, as the intake's clients send them, at a
    point of the sub-district's (`points`: code -> [(lon, lat)])."""

    def __init__(self, servers: Servers, token: str, channel: str, category: str, points: dict[str, list],
                 seed: int):
        self.http = httpx.AsyncClient(base_url=servers.url, timeout=30, headers={
            "Authorization": f"Token {token}", "Accept-Language": "en"})
        self.channel, self.category, self.points = channel, category, points
        self.rng = random.Random(seed)
        self.serial = 0
        self.post_ms: list[float] = []

    async def post(self, code: str) -> tuple[int, str]:
        self.serial += 1
        lon, lat = self.rng.choice(self.points[code])
        body = {"channel": self.channel, "category": self.category, "subdistrict": code,
                "description": f"墙图基准测试 {self.serial}", "location": {"type": "Point", "coordinates": [lon, lat]}}
        t0 = now()
        response = await self.http.post("/api/v1/incidents/", json=body)
        self.post_ms.append((now() - t0) * 1000)
        if response.status_code != 201:
            raise RuntimeError(f"intake: HTTP {response.status_code} {response.text[:300]}")
        return response.json()["id"], code

    async def payload_sample(self, socket: Socket) -> dict:
        """One event payload as the socket carries it, for the floor's messages of the same size."""
        url, headers, code = socket
        async with connect(url, additional_headers=headers) as probe:
            while json.loads(await probe.recv())["type"] not in ("caught_up", "resync"):
                pass
            await self.post(code)
            while True:
                message = json.loads(await probe.recv())
                if message["type"] == "event":
                    self.post_ms.clear()
                    return message["event"]


async def beside_floor(phase: Phase, servers: Servers, intake: Intake, floor: Floor, *, processes: int,
                       logs: Path) -> tuple[Result, Result, list[float], Phase]:
    """A phase on the floor server, then on GridLink's: (GridLink's, the floor's, the intake's POST
    times, the phase)."""
    common = {"codes": phase.codes, "processes": processes, "logs": logs}
    floor_result = await run_phase(phase.label, sockets=floor.sockets(phase.sockets), produce=floor.produce,
                                   pids=[servers.floor_pid], http=None, **common)
    intake.post_ms.clear()
    real = await run_phase(phase.label, sockets=phase.sockets, produce=intake.post, pids=servers.worker_pids(),
                           http=servers.url, **common)
    print(f"  {phase.label}: {len(real.latencies_ms)} deliveries ({real.lost} lost, {real.resyncs} resyncs), "
          f"p95 {pct(real.latencies_ms, 95):.1f} ms (floor {pct(floor_result.latencies_ms, 95):.1f} ms), "
          f"connected in {real.connect_s:.1f} s (floor {floor_result.connect_s:.1f} s), socket fds per server process "
          f"{real.sockets_by_process}, HTTP requests per event per wall {real.requests_per_event_per_wall:.2f} "
          f"({real.requests} for {real.frames} event frames), client processes' CPU per event "
          f"{real.client_cpu_ms_per_event:.0f} ms (floor {floor_result.client_cpu_ms_per_event:.0f} ms), "
          f"load {real.load:.2f}", flush=True)
    return real, floor_result, list(intake.post_ms), phase


def wall_socket(servers: Servers, code: str, last_event: int, session: str) -> Socket:
    """A wall map's socket on sub-district `code`, resuming after `last_event`, signed in with `session`."""
    return (servers.url.replace("http://", "ws://") + f"/ws/wall/{code}/?last_event={last_event}",
            {"Origin": servers.url, "Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"}, code)


# --- the demo's sub-district ----------------------------------------------------------------------------

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


async def demo_benchmark(args, ctx: dict, servers: Servers, logs: Path) -> list:
    def sockets(n: int) -> list[Socket]:
        return [wall_socket(servers, DEMO_CODE, ctx["last_event"], ctx["sessions"][k // CLIENTS_PER_SESSION])
                for k in range(n)]

    phases = [Phase("intake → wall", sockets(1), [DEMO_CODE] * args.intake_events, TARGET_INTAKE_P95_MS)] + [
        Phase(f"event → client, {n} clients", sockets(n), [DEMO_CODE] * args.fanout_events,
              TARGET_FANOUT_P95_MS if n == 1000 else None, rss_target=n == 1000) for n in args.clients]
    intake = Intake(servers, ctx["token"], ctx["channel"], ctx["category"], {DEMO_CODE: ctx["points"]}, args.seed)
    floor = Floor(servers, await intake.payload_sample(phases[0].sockets[0]))
    try:
        return [await beside_floor(phase, servers, intake, floor, processes=1, logs=logs) for phase in phases]
    finally:
        await floor.close()
        await intake.http.aclose()


def demo_part(args, pg: dict[str, str], logs: Path) -> tuple[list, int]:
    """The demo's sub-district on a copy of the development database: (the results, the server's idle RSS)."""
    source = settings.DATABASES["default"]["NAME"]
    copy_name = f"bench_wall_{os.getpid()}"
    load_before = os.getloadavg()
    started = time.monotonic()
    how = copy_database(pg, source, copy_name)
    copy_s = time.monotonic() - started
    city.use_database(copy_name)  # before the first query of this process
    try:
        ctx = prepare(copy_name, sessions=-(-max(args.clients) // CLIENTS_PER_SESSION))
        connection.close()
        with serving(args, pg, copy_name, logs, workers=args.workers, redis=args.redis) as servers:
            print(f"GridLink wall-map benchmark: sub-district {ctx['sub'].name} ({DEMO_CODE}) on a copy of "
                  f"{source} ({how}, {copy_s:.1f} s), {servers.layer}, uvicorn {servers.workers} process(es) "
                  f"{args.uvicorn_args}".rstrip() + f", {os.cpu_count()} CPUs, load average "
                  f"{load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}", flush=True)
            idle_rss = sum(rss_bytes(pid) for pid in servers.worker_pids())
            results = uvloop.run(demo_benchmark(args, ctx, servers, logs))
    finally:
        connection.close()
        if not args.keep_database:
            _drop_database(pg, copy_name)
        city.use_database(source)
    return results, idle_rss


# --- a city ---------------------------------------------------------------------------------------------

def prepare_city(sockets: int) -> dict:
    """In the city: each sub-district's command-room user, bound to it by tenancy, with sessions for
    `sockets` walls (enough for all of them on the first sub-district); the district centre's API
    token; the intake's channel, category and points of each sub-district."""
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from config.roles import UserRole
    from geo.models import Subdistrict, Tenancy
    from incidents.models import Channel, Incident

    users = get_user_model().objects
    room = Group.objects.get_or_create(name=UserRole.COMMAND_ROOM)[0]

    def command_room_user(username: str, **tenancy) -> object:
        user = users.filter(username=username).first()
        if user is None:  # generate() writes no logins
            user = users.create_user(username)
            user.groups.add(room)
            Tenancy.objects.create(user=user, **tenancy)
        return user

    subs = list(Subdistrict.objects.order_by("code").defer("boundary"))
    per_sub = -(-sockets // len(subs))
    sessions, points = {}, {}
    for k, sub in enumerate(subs):
        user = command_room_user(f"bench-wall-{sub.code}", subdistrict=sub)
        sessions[sub.code] = [session_for(user)
                              for _ in range(-(-(sockets if k == 0 else per_sub) // CLIENTS_PER_SESSION))]
        points[sub.code] = [(p.x, p.y) for p in Incident.objects.filter(subdistrict=sub, location__isnull=False)
                            .order_by("-pk").values_list("location", flat=True)[:200]]
    district = city.district_user()
    channel = Channel.objects.filter(kind=Channel.Kind.HOTLINE, active=True).order_by("code").first()
    category = (Incident.objects.filter(category__major_by_default=False).order_by("-pk")
                .values_list("category__code", flat=True).first())
    return {"codes": [sub.code for sub in subs], "sessions": sessions, "points": points, "channel": channel.code,
            "category": category, "token": Token.objects.get_or_create(user=district)[0].key}


def newest_events(codes: list[str]) -> dict[str, int]:
    """The newest event id of each sub-district (what a wall that has just loaded its snapshot resumes
    after). Run in a thread of its own."""
    from incidents.models import IncidentEvent

    try:
        newest = dict(IncidentEvent.objects.filter(subdistrict__code__in=codes).values("subdistrict__code")
                      .annotate(last=Max("pk")).values_list("subdistrict__code", "last"))
        return {code: newest.get(code, 0) for code in codes}
    finally:
        connection.close()


async def city_benchmark(args, ctx: dict, servers: Servers, logs: Path) -> list:
    codes, sessions = ctx["codes"], ctx["sessions"]
    rng = random.Random(args.seed)

    async def walls(on: list[str]) -> list[Socket]:
        """A wall socket on each of `on`, each resuming after its sub-district's newest event."""
        newest = await asyncio.to_thread(newest_events, codes)
        socket_of = Counter()
        out = []
        for code in on:
            out.append(wall_socket(servers, code, newest[code], sessions[code][socket_of[code] // CLIENTS_PER_SESSION]))
            socket_of[code] += 1
        return out

    def in_turn(events: int) -> list[str]:
        """Every sub-district in turn, in a new random order each round: every socket receives events."""
        out = []
        while len(out) < events:
            out += rng.sample(codes, len(codes))
        return out[:max(events, len(codes))]

    n, k = args.city_sockets, len(codes)
    phases = [
        lambda on: Phase(f"intake → wall, {k} sub-districts", on, [rng.choice(codes) for _ in
                         range(args.city_intake_events)], TARGET_INTAKE_P95_MS),
        lambda on: Phase(f"event → client, {n:,} sockets over {k} sub-districts", on,
                         in_turn(args.city_fanout_events), TARGET_FANOUT_P95_MS),
        lambda on: Phase(f"event → client, {n:,} sockets on one sub-district", on,
                         [codes[0]] * args.city_fanout_events, TARGET_FANOUT_P95_MS),
    ]
    placements = [codes, [codes[s % k] for s in range(n)], [codes[0]] * n]
    intake = Intake(servers, ctx["token"], ctx["channel"], ctx["category"], ctx["points"], args.seed)
    floor = Floor(servers, await intake.payload_sample((await walls(codes[:1]))[0]))
    results = []
    try:
        for make, on in zip(phases, placements, strict=True):
            results.append(await beside_floor(make(await walls(on)), servers, intake, floor,
                                              processes=args.client_processes, logs=logs))
    finally:
        await floor.close()
        await intake.http.aclose()
    return results


def city_part(args, pg: dict[str, str], logs: Path) -> tuple[str, str, list, int]:
    """A city's walls on `--city-workers` processes and channels-redis: (its title, its short name,
    the results, the server's idle RSS)."""
    from django.contrib.sessions.models import Session

    k = args.city_subdistricts
    began = time.monotonic()
    with city.bench_city(args.database, "bench_wall_city", subdistricts=k,
                         incidents=round(k * city.PER_DAY * CITY_HISTORY_DAYS), seed=14) as (name, stats):
        ctx = prepare_city(args.city_sockets)
        connection.close()
        try:
            with serving(args, pg, name, logs, workers=args.city_workers, redis=True) as servers:
                pids = servers.worker_pids()
                limits = [open_files_limit(pid) for pid in pids]
                print(f"\nGridLink wall-map benchmark, a city: {len(ctx['codes'])} sub-districts ({name}, "
                      f"{'reused' if stats is None else 'generated'}; set up in {time.monotonic() - began:.0f} s), "
                      f"uvicorn {servers.workers} processes {args.uvicorn_args}".rstrip()
                      + f" on {servers.layer} (Redis connections per process: "
                      f"{args.redis_max_connections or 'redis-py default'}), their open-file limits {limits}; "
                      f"clients in {args.client_processes} "
                      f"processes; load average {os.getloadavg()[0]:.2f}", flush=True)
                if min(limits) < args.city_sockets + 200:
                    print(f"  warning: a server process may open fewer files ({min(limits)}) than the "
                          f"{args.city_sockets:,} sockets it may be given", flush=True)
                idle_rss = sum(rss_bytes(pid) for pid in pids)
                results = uvloop.run(city_benchmark(args, ctx, servers, logs))
        finally:
            if stats is None:  # a city kept: its benchmark sessions go
                Session.objects.filter(session_key__in=[s for keys in ctx["sessions"].values() for s in keys]).delete()
            connection.close()
    return (f"A city of {len(ctx['codes'])} sub-districts, {args.city_workers} workers on channels-redis, "
            f"{args.client_processes} client processes", "city", results, idle_rss)


# --- the table ------------------------------------------------------------------------------------------

def report(title: str, short: str, results: list, idle_rss: int) -> list[str]:
    """The part's table and notes printed; returns its verdict lines (each starting with `short`)."""
    print(f"\n{title}")
    print(f"{'':52} {'deliveries':>10} {'lost':>5} {'resync':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
          f"{'spread p95':>10} {'p95/floor':>9} {'CPU/event':>9} {'RSS peak':>9} {'connect':>8} {'load':>5}")
    for real, floor, _posts, _phase in results:
        for name, r in ((real.label, real), ("  floor: bare websockets broadcast", floor)):
            print(f"{name:52} {len(r.latencies_ms):10d} {r.lost:5d} {r.resyncs:6d} {pct(r.latencies_ms, 50):8.1f} "
                  f"{pct(r.latencies_ms, 95):8.1f} {max(r.latencies_ms, default=float('nan')):8.1f} "
                  f"{pct(r.spreads_ms, 95):10.1f} "
                  f"{(pct(real.latencies_ms, 95) / pct(floor.latencies_ms, 95) if r is real else 1):9.1f} "
                  f"{r.cpu_ms_per_event:6.1f} ms {r.rss_peak / 2**20:7.0f} M {r.connect_s:7.1f}s {r.load:5.2f}")
    print("intake API (POST /api/v1/incidents/) response time: " + "; ".join(
        f"{real.label}: p50 {pct(posts, 50):.1f} ms, p95 {pct(posts, 95):.1f} ms" for real, _f, posts, _p in results))
    print(f"server RSS idle before the clients: {idle_rss / 2**20:.0f} MiB; spread = first to last delivery of one "
          f"event; CPU/event = the server's processes' CPU time (user + system) while the events were produced, "
          f"per event; RSS = theirs, summed; connect = all clients connected and caught up ({CONNECT_CONCURRENCY} "
          f"handshakes at a time per client process); clients share a session per {CLIENTS_PER_SESSION}; "
          f"lost = deliveries that never came, resync = resync frames after caught up")
    print("HTTP requests per event per wall: " + "; ".join(
        f"{real.label}: {real.requests_per_event_per_wall:.2f} ({real.requests} / {real.frames} frames)"
        for real, _f, _p, _ph in results))
    verdicts = []
    for real, _floor, _posts, phase in results:
        p95 = pct(real.latencies_ms, 95)
        if phase.target_ms is not None:
            verdicts.append(f"{short}: {real.label} p95 ≤ {phase.target_ms:.0f} ms: {p95:.1f} ms, {real.lost} lost, "
                            f"{real.resyncs} resyncs — "
                            f"{'met' if p95 <= phase.target_ms and not real.lost and not real.resyncs else 'NOT met'}")
        if phase.rss_target:
            verdicts.append(f"{short}: server RSS < 1 GiB, {real.label}: {real.rss_peak / 2**20:.0f} MiB — "
                            f"{'met' if real.rss_peak < TARGET_RSS_BYTES else 'NOT met'}")
    requests = sum(real.requests for real, _f, _p, _ph in results)
    frames = sum(real.frames for real, _f, _p, _ph in results)
    verdicts.append(f"{short}: HTTP requests per event per wall = 0: {requests} requests for {frames} event frames — "
                    f"{'met' if requests == 0 and frames else 'NOT met'}")
    return verdicts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[200, 1000], help="client counts (200 1000)")
    parser.add_argument("--intake-events", type=int, default=200, help="incidents of the intake-to-wall run")
    parser.add_argument("--fanout-events", type=int, default=40, help="events per client count")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1,
                        help="the demo's server processes, as `make run WORKERS=N` (more than 1: channels-redis)")
    parser.add_argument("--uvicorn-args", default="", help="extra uvicorn options, e.g. '--ws wsproto'")
    parser.add_argument("--redis", action="store_true",
                        help="channels-redis instead of the in-memory layer, on a redis-server of its own")
    parser.add_argument("--redis-max-connections", type=int, default=1000,
                        help="each server process's pool of Redis connections (REDIS_URL's max_connections; 1000; "
                             "0: redis-py's default, 100, which 5,000 sockets over 2 processes exhaust)")
    parser.add_argument("--profile", metavar="FILE", help="run the one-process server under cProfile, stats to FILE")
    parser.add_argument("--keep-database", action="store_true", help="keep the demo's copy for a look afterwards")
    city_options = parser.add_argument_group("the city part")
    city_options.add_argument("--city-subdistricts", type=int, default=20,
                              help="sub-districts of the throwaway city (20; 0 skips the city part)")
    city_options.add_argument("--city-sockets", type=int, default=5000, help="wall sockets of the fan-out runs (5000)")
    city_options.add_argument("--city-workers", type=int, default=2, help="server processes (2), on channels-redis")
    city_options.add_argument("--city-intake-events", type=int, default=100, help="incidents of the intake run")
    city_options.add_argument("--city-fanout-events", type=int, default=20,
                              help="events per fan-out run (20; spread: at least one per sub-district)")
    city_options.add_argument("--client-processes", type=int, default=2, help="client processes of the city's runs")
    city_options.add_argument("--database", default=None,
                              help="an existing city (manage.py seed_city into it): reused and kept")
    city_options.add_argument("--city-only", action="store_true", help="the city part alone")
    args = parser.parse_args()
    if args.workers > 1:
        args.redis = True  # the processes reach each other's sockets through it
    if args.profile and args.workers > 1:
        parser.error("--profile runs one server process (without --workers)")
    if args.city_only and args.city_subdistricts < 1:
        parser.error("--city-only needs --city-subdistricts")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    open_files_for(2 * max(*args.clients, args.city_sockets) + 1000)  # both ends of every socket live on this machine

    pg = _server()
    logs = Path(tempfile.mkdtemp(prefix="bench-wall-"))
    verdicts = []
    try:
        if not args.city_only:
            results, idle_rss = demo_part(args, pg, logs)
            verdicts += report(f"The demo's sub-district ({DEMO_CODE}), {args.workers} server process(es)", "demo",
                               results, idle_rss)
        if args.city_subdistricts > 0:
            verdicts += report(*city_part(args, pg, logs))
    except BaseException:
        print(f"The servers' and clients' logs are in {logs}", file=sys.stderr)
        raise
    shutil.rmtree(logs, ignore_errors=True)  # kept when something failed (above)
    print()
    for line in verdicts:
        print("target " + line)
    load_after = os.getloadavg()
    print(f"(load average at the end {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
