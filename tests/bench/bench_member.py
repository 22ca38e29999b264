#!/usr/bin/env python
"""Benchmark: an order reaching the responder's open app, with every member's socket connected.

Run by `make bench` (after `make setup`): `.venv/bin/python tests/bench/bench_member.py`. Like
`bench_wall.py` (whose helpers it uses) it works on a throwaway copy of the development database,
dropped at the end. In the copy every active member of the demo sub-district gets an app login of
their own (a user with no usable password, linked to the member) and a session written straight
into the session store — no password hashing.

One uvicorn process serving `config.asgi:application` as `make run` starts it (in-memory channel
layer, DEBUG off, `--lifespan off`), started through this script (`--server PORT`) so that one bench
route sits in front of the application: `POST /__bench__/member-floor/ {"n", "members"}` sends a
tiny frame to each named member's group through the server's channel layer — no database, no
Django — and the member's socket (`dispatch.consumers.MemberConsumer`) passes it on. In this
process, on one asyncio loop (uvloop), one `websockets` client per member on `ws/member/` (692 in
the demo), each logged in as its member:
- **order → responder's socket**: for N members one at a time (a fresh case each, reported through
  the intake API beforehand), the dispatcher's `POST /api/v1/incidents/{id}/transitions/
  {"action": "dispatch", "members": [m], "method": "app"}` (token auth; the member named in
  `off_duty_override` too, so the roster does not decide who is in the sample), timed from the
  moment the request is sent until the order's `message` frame is on that member's socket;
- the floor, in the same run, on the same server, sockets and members: the bench route's send to
  the one member's group, timed the same way (an HTTP request on the same connection, then the
  frame on the member's socket);
- the broadcast floor: one bench request sending to every member's group at once; each socket's
  receipt timed from the request (the spread is first to last socket).

Also printed: the dispatch request's own response time and the server's CPU time per order
(user + system, /proc/<pid>/stat). Target on the 2-core machine: order → socket p95 at most
300 ms. Not a test: the verdict line says whether the target was met.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

SERVER_FLAG = "--server"
FLOOR_PATH = "/__bench__/member-floor/"
REPO = Path(__file__).resolve().parents[2]


# --- the server: config.asgi:application with the floor's route in front of it ------------------------

def serve(port: int) -> None:
    """uvicorn as `make run` starts it (scripts/uvicorn-options), plus the floor's route."""
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import uvicorn
    from channels.layers import get_channel_layer

    from config.asgi import application
    from config.live import member_group

    layer = get_channel_layer()

    async def floor(receive, send) -> None:
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        command = json.loads(body)
        text = json.dumps({"type": "floor", "n": command["n"]})
        for member_id in command["members"]:
            await layer.group_send(member_group(member_id), {"type": "member.message", "id": -1, "text": text})
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def app(scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] == FLOOR_PATH:
            await floor(receive, send)
        else:
            await application(scope, receive, send)

    uvicorn.run(app, host="127.0.0.1", port=port, lifespan="off", ws_max_size=65536, ws_per_message_deflate=False)


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == SERVER_FLAG:
    serve(int(sys.argv[2]))
    sys.exit(0)


import argparse  # noqa: E402
import asyncio  # noqa: E402
import logging  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# This process's own few queries need no pool (its connections would outlive the dropped copy);
# the server keeps the configured one.
SERVER_POOL_SIZE = os.environ.get("DB_POOL_MAX_SIZE")
os.environ["DB_POOL_MAX_SIZE"] = "0"

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
import uvloop  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

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

TARGET_P95_MS = 300.0
DELIVERY_TIMEOUT_S = 10.0
CONNECT_CONCURRENCY = 50
WARMUP_ORDERS = 5
BENCH_USER_PREFIX = "bench-member-"


# --- the copy: an app login and a session per member, the dispatcher's token ------------------------------

def prepare() -> dict:
    from rest_framework.authtoken.models import Token

    from dispatch.models import Member
    from geo.models import Subdistrict
    from incidents.models import Category, Channel, Incident

    sub = Subdistrict.objects.filter(code=DEMO_CODE).first()
    if sub is None:
        raise SystemExit("No demo sub-district: run `make setup` first.")
    dispatcher = get_user_model().objects.filter(groups__name="dispatcher", is_active=True).order_by("pk").first()
    if dispatcher is None:
        raise SystemExit("No dispatcher user: run `.venv/bin/python manage.py seed_demo` first.")
    user_model = get_user_model()
    with transaction.atomic():
        loginless = list(Member.objects.filter(subdistrict=sub, active=True, user__isnull=True).order_by("pk"))
        users = user_model.objects.bulk_create([
            user_model(username=f"{BENCH_USER_PREFIX}{m.pk}", password=make_password(None)) for m in loginless])
        for member, user in zip(loginless, users, strict=True):
            member.user = user
        Member.objects.bulk_update(loginless, ["user"])
    members = list(Member.objects.filter(subdistrict=sub, active=True).select_related("user").order_by("pk"))
    sessions = {member.pk: session_for(member.user) for member in members}
    channel = Channel.objects.filter(kind=Channel.Kind.HOTLINE, active=True).order_by("code").first()
    category = (Category.objects.filter(major_by_default=False, incidents__subdistrict=sub)
                .annotate(n=Count("incidents")).order_by("-n").first())
    points = list(Incident.objects.filter(subdistrict=sub, location__isnull=False)
                  .order_by("-reported_at").values_list("location", flat=True)[:500])
    return {"sub": sub, "members": [m.pk for m in members], "sessions": sessions, "new_logins": len(loginless),
            "token": Token.objects.get_or_create(user=dispatcher)[0].key, "channel": channel.code,
            "category": category.code, "points": [(p.x, p.y) for p in points]}


# --- the member sockets ---------------------------------------------------------------------------------

@dataclass
class Arrivals:
    """Receipt times at the sockets, by key: ("order", member) or ("floor", n)."""

    times: dict = field(default_factory=dict)
    expected: dict = field(default_factory=dict)
    complete: dict = field(default_factory=dict)

    def expect(self, key, count: int = 1) -> asyncio.Event:
        self.times[key], self.expected[key], self.complete[key] = [], count, asyncio.Event()
        return self.complete[key]

    def arrived(self, key, at: float) -> None:
        if key in self.times:
            self.times[key].append(at)
            if len(self.times[key]) >= self.expected[key]:
                self.complete[key].set()


async def member_socket(url: str, headers: dict, member_id: int, arrivals: Arrivals, ready: asyncio.Future,
                        stop: asyncio.Event) -> None:
    async with connect(url, additional_headers=headers, open_timeout=60) as socket:
        async def listen() -> None:
            async for raw in socket:
                now = time.perf_counter()
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "message" and frame["message"]["kind"] == "order":
                    arrivals.arrived(("order", member_id), now)
                elif kind == "floor":
                    arrivals.arrived(("floor", frame["n"]), now)
                elif kind == "caught_up" and not ready.done():
                    ready.set_result(True)

        listener = asyncio.create_task(listen())
        stopping = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({listener, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if listener in done and not ready.done():
            ready.set_exception(RuntimeError(f"member {member_id}: socket closed before caught_up "
                                             f"({socket.close_code})"))
        listener.cancel()
        stopping.cancel()


@dataclass
class Phase:
    label: str
    latencies_ms: list[float] = field(default_factory=list)
    request_ms: list[float] = field(default_factory=list)
    spreads_ms: list[float] = field(default_factory=list)
    lost: int = 0
    cpu_ms: float = 0.0  # the server's CPU time per request

    def row(self, floor: Phase | None) -> str:
        lat = self.latencies_ms
        ratio = pct(lat, 95) / pct(floor.latencies_ms, 95) if floor else 1.0
        spread = f"{pct(self.spreads_ms, 95):10.1f}" if self.spreads_ms else f"{'':10}"
        return (f"{self.label:44} {len(lat):10d} {self.lost:5d} {pct(lat, 50):8.1f} {pct(lat, 95):8.1f} "
                f"{max(lat, default=float('nan')):8.1f} {spread} {ratio:9.1f} {self.cpu_ms:6.1f} ms "
                f"{pct(self.request_ms, 95):10.1f}")


async def benchmark(args, ctx: dict, server_url: str, server_pid: int) -> tuple[list[Phase], dict]:
    rng = random.Random(args.seed)
    members = ctx["members"]
    sample = rng.sample(members, min(len(members), args.orders + WARMUP_ORDERS))
    warmup, timed = sample[:WARMUP_ORDERS], sample[WARMUP_ORDERS:]
    http = httpx.AsyncClient(base_url=server_url, timeout=30, headers={"Accept-Language": "en"})
    auth = {"Authorization": f"Token {ctx['token']}"}

    # A fresh case per order, reported through the intake API before any socket connects (untimed).
    cases = []
    for k in range(len(sample)):
        lon, lat = rng.choice(ctx["points"])
        response = await http.post("/api/v1/incidents/", headers=auth, json={
            "channel": ctx["channel"], "category": ctx["category"], "subdistrict": DEMO_CODE,
            "description": f"派单基准测试 {k + 1}", "location": {"type": "Point", "coordinates": [lon, lat]}})
        if response.status_code != 201:
            raise RuntimeError(f"intake: HTTP {response.status_code} {response.text[:300]}")
        cases.append(response.json()["id"])
    case_of = dict(zip(sample, cases, strict=True))

    arrivals, stop = Arrivals(), asyncio.Event()
    loop = asyncio.get_running_loop()
    readies = {m: loop.create_future() for m in members}
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    url = server_url.replace("http://", "ws://") + "/ws/member/"
    cookie = settings.SESSION_COOKIE_NAME

    async def one(member_id: int) -> None:
        headers = {"Origin": server_url, "Cookie": f"{cookie}={ctx['sessions'][member_id]}"}
        async with gate:
            task = asyncio.create_task(member_socket(url, headers, member_id, arrivals, readies[member_id], stop))
            try:
                await readies[member_id]
            except BaseException:
                task.cancel()
                raise
        await task

    started = time.perf_counter()
    tasks = [asyncio.create_task(one(m)) for m in members]
    await asyncio.gather(*readies.values())
    info = {"connect_s": time.perf_counter() - started, "rss_connected": rss_bytes(server_pid)}
    print(f"  {len(members)} member sockets connected in {info['connect_s']:.1f} s "
          f"(server RSS {info['rss_connected'] / 2**20:.0f} MiB), load {os.getloadavg()[0]:.2f}", flush=True)

    async def wait(key, event: asyncio.Event, sent: float, phase: Phase, expected: int = 1) -> None:
        try:
            await asyncio.wait_for(event.wait(), DELIVERY_TIMEOUT_S)
        except TimeoutError:
            pass
        received = arrivals.times[key]
        phase.lost += expected - len(received)
        phase.latencies_ms += [(t - sent) * 1000 for t in received]
        if expected > 1 and received:
            phase.spreads_ms.append((max(received) - min(received)) * 1000)

    serial = 0

    async def floor_send(phase: Phase, targets: list[int]) -> None:
        nonlocal serial
        serial += 1
        event = arrivals.expect(("floor", serial), len(targets))
        sent = time.perf_counter()
        response = await http.post(FLOOR_PATH, json={"n": serial, "members": targets})
        phase.request_ms.append((time.perf_counter() - sent) * 1000)
        if response.status_code != 204:
            raise RuntimeError(f"floor: HTTP {response.status_code} {response.text[:300]}")
        await wait(("floor", serial), event, sent, phase, len(targets))

    async def dispatch(phase: Phase, member_id: int) -> None:
        event = arrivals.expect(("order", member_id))
        sent = time.perf_counter()
        response = await http.post(f"/api/v1/incidents/{case_of[member_id]}/transitions/", headers=auth, json={
            "action": "dispatch", "members": [member_id], "method": "app", "off_duty_override": [member_id]})
        phase.request_ms.append((time.perf_counter() - sent) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"dispatch: HTTP {response.status_code} {response.text[:300]}")
        await wait(("order", member_id), event, sent, phase)

    # warm-up (untimed): the server's pool, the road graph, the first of each query
    scratch = Phase("warm-up")
    for member_id in warmup:
        await dispatch(scratch, member_id)
        await floor_send(scratch, [member_id])
    await floor_send(scratch, members)

    async def run(phase: Phase, requests) -> None:
        cpu_before = cpu_seconds(server_pid)
        count = 0
        for request in requests:
            await request()
            count += 1
            await asyncio.sleep(args.pause)
        phase.cpu_ms = (cpu_seconds(server_pid) - cpu_before) * 1000 / max(1, count)
        print(f"  {phase.label}: {len(phase.latencies_ms)} deliveries, p95 {pct(phase.latencies_ms, 95):.1f} ms, "
              f"load {os.getloadavg()[0]:.2f}", flush=True)

    real = Phase(f"order → responder's socket, {len(members)} on")
    floor = Phase("  floor: member-group send, 1 member")
    broadcast = Phase(f"  floor: send to all {len(members)} member groups")
    await run(real, [lambda m=m: dispatch(real, m) for m in timed])
    await run(floor, [lambda m=m: floor_send(floor, [m]) for m in timed])
    await run(broadcast, [lambda: floor_send(broadcast, members) for _ in range(args.broadcasts)])
    info["rss_end"] = rss_bytes(server_pid)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    await http.aclose()
    return [real, floor, broadcast], info


def migrate_copy() -> int:
    """Apply to the copy the migrations the development database lacks (code newer than the last
    `make setup`); how many."""
    from django.core.management import call_command
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        call_command("migrate", interactive=False, verbosity=0)
    return len(plan)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=200, help="orders dispatched one at a time (200)")
    parser.add_argument("--broadcasts", type=int, default=20, help="sends to every member's group (20)")
    parser.add_argument("--pause", type=float, default=0.05, help="seconds between two requests (0.05)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--keep-database", action="store_true", help="keep the copy for a look afterwards")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)

    open_files_for(2 * 1000 + 500)  # both ends of every socket live on this machine

    server = _server()
    source = settings.DATABASES["default"]["NAME"]
    copy_name = f"bench_member_{os.getpid()}"
    load_before = os.getloadavg()
    started = time.monotonic()
    how = copy_database(server, source, copy_name)
    copy_s = time.monotonic() - started
    settings.DATABASES["default"]["NAME"] = copy_name  # before the first query of this process
    process = None
    logs = Path(tempfile.mkdtemp(prefix="bench-member-"))
    try:
        migrated = migrate_copy()
        ctx = prepare()
        connection.close()
        env = server_env(server, copy_name, SERVER_POOL_SIZE)
        port = _free_port()
        server_log = logs / "uvicorn.log"
        with server_log.open("w") as out:
            process = subprocess.Popen(  # noqa: S603 - fixed arguments
                [sys.executable, __file__, SERVER_FLAG, str(port)],
                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        server_url = f"http://127.0.0.1:{port}"
        wait_for(lambda: http_ok(server_url + "/accounts/login/"), process, server_log, "uvicorn")
        applied = f", {migrated} migrations applied to it" if migrated else ""
        print(f"GridLink order → responder benchmark: sub-district {ctx['sub'].name} ({DEMO_CODE}) on a copy of "
              f"{source} ({how}, {copy_s:.1f} s{applied}), {len(ctx['members'])} members ({ctx['new_logins']} given "
              f"an app login in the copy), in-memory channel layer, uvicorn --lifespan off, {os.cpu_count()} CPUs, "
              f"load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}", flush=True)
        idle_rss = rss_bytes(process.pid)
        phases, info = uvloop.run(benchmark(args, ctx, server_url, process.pid))
    except BaseException:
        print(f"The server's log is in {logs}", file=sys.stderr)
        raise
    finally:
        if process is not None:
            _stop(process)
        connection.close()
        if not args.keep_database:
            _drop_database(server, copy_name)
    shutil.rmtree(logs, ignore_errors=True)  # kept when something failed (above)

    real, floor, broadcast = phases
    print()
    print(f"{'':44} {'deliveries':>10} {'lost':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
          f"{'spread p95':>10} {'p95/floor':>9} {'CPU/req':>9} {'req p95 ms':>10}")
    print(real.row(floor))
    print(floor.row(None))
    print(broadcast.row(floor))
    print()
    print(f"timed from the request sent to the frame received on the member's socket; req = the HTTP request's own "
          f"response time; CPU/req = the server process's CPU time (user + system) per request; spread = first to "
          f"last socket of one send; p95/floor against the one-member send. Server RSS idle {idle_rss / 2**20:.0f} "
          f"MiB, {info['rss_connected'] / 2**20:.0f} MiB with every socket connected "
          f"({info['connect_s']:.1f} s, {CONNECT_CONCURRENCY} handshakes at a time), {info['rss_end'] / 2**20:.0f} "
          f"MiB at the end")
    p95 = pct(real.latencies_ms, 95)
    verdict = "met" if p95 <= TARGET_P95_MS and not real.lost else "NOT met"
    print(f"target order → responder's socket p95 ≤ {TARGET_P95_MS:.0f} ms with {len(ctx['members'])} members "
          f"connected: {p95:.1f} ms — {verdict}")
    load_after = os.getloadavg()
    print(f"(load average at the end {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
