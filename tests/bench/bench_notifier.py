#!/usr/bin/env python
"""Benchmark: the outbound notifier's throughput against a local gateway.

Run by `make bench` (after `make setup`): `.venv/bin/python tests/bench/bench_notifier.py`. Like
`bench_wall.py` (whose helpers it uses) it works on a throwaway copy of the development database,
dropped at the end.

The gateway: a real threaded HTTP server (`http.server.ThreadingHTTPServer`) in a thread of this
process, answering every POST 200 `{"id": "gw-<n>"}` like the test gateway of
`tests/dispatch/test_notifier.py`, and noting when each request arrived, its message id and its
Idempotency-Key. Each run first writes N messages (2,000) through `dispatch.notify.message_resend`
— "please confirm" resends of the demo's newest orders, due outbound now (`outbound_now`), in
transactions holding the orders' locks as the SLA clock does — then starts the real worker,
`manage.py run_notifier` in a process of its own (DEBUG off, gateway URL and token in its
environment), and waits until the gateway has every message and the database has every one
`sent`:
- `run_notifier --interval 0` (looks back to back: the worker's own pace), one worker, then two
  side by side;
- the worker as `make run` starts it (`run_notifier`: a look every 2 s, each taking at most 50
  messages), on 300 messages (`--paced-messages`): its pace is the loop's, whatever N;
- the floor, in the same run: the first run's N requests (same URL, headers and bodies) POSTed one
  after another from one `httpx.Client` in this process.

Printed per run: messages per second (first request at the gateway to the last message recorded
`sent`), the time per message (between two consecutive requests at the gateway: the gateway call
plus recording the answer, and the share of the batch's claim) at p50 / p95 / max, duplicate keys
at the gateway, and for the floor the POST's own round trip. Not a test: no target is set.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# This process's own queries need no pool (its connections would outlive the dropped copy); the
# worker keeps the configured one.
WORKER_POOL_SIZE = os.environ.get("DB_POOL_MAX_SIZE")
os.environ["DB_POOL_MAX_SIZE"] = "0"

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from dispatch.models import DispatchOrder, MemberMessage, MessageAttempt  # noqa: E402
from dispatch.notifier import CONTENT_TYPE, HEADER_IDEMPOTENCY, idempotency_key, message_text  # noqa: E402
from dispatch.notify import message_resend  # noqa: E402
from fixtures.demo import DEMO_CODE  # noqa: E402
from tests.bench.bench_member import migrate_copy  # noqa: E402
from tests.bench.bench_wall import copy_database, pct, server_env  # noqa: E402
from tests.e2e.conftest import _drop_database, _server, _stop  # noqa: E402

GATEWAY_TOKEN = "bench-gateway-token"  # noqa: S105 - a local stand-in
DRAIN_TIMEOUT_S = 300
LOCK_CHUNK = 100


# --- the gateway ----------------------------------------------------------------------------------------

class Gateway(BaseHTTPRequestHandler):
    """200 {"id": "gw-<n>"} to every POST; notes (arrival, message id, Idempotency-Key)."""

    lock = threading.Lock()
    arrivals: list[tuple[float, int, str]] = []
    seen: set[int] = set()
    expected: set[int] = set()
    complete = threading.Event()

    @classmethod
    def expect(cls, ids) -> None:
        with cls.lock:
            cls.arrivals, cls.seen, cls.expected = [], set(), set(ids)
            cls.complete.clear()

    def do_POST(self):  # noqa: N802 - http.server's naming
        at = time.perf_counter()
        cls = type(self)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        message_id = json.loads(body)["message_id"]
        with cls.lock:
            cls.arrivals.append((at, message_id, self.headers.get(HEADER_IDEMPOTENCY, "")))
            cls.seen.add(message_id)
            if cls.expected <= cls.seen:
                cls.complete.set()
            answer = json.dumps({"id": f"gw-{len(cls.arrivals)}"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


# --- the messages ---------------------------------------------------------------------------------------

def messages_write(orders: list[int]) -> tuple[list[int], float]:
    """One resend per order, due outbound now, through dispatch.notify; (message ids, seconds)."""
    ids = []
    started = time.perf_counter()
    for start in range(0, len(orders), LOCK_CHUNK):
        with transaction.atomic():
            locked = (DispatchOrder.objects.select_for_update(of=("self",))
                      .filter(pk__in=orders[start:start + LOCK_CHUNK])
                      .select_related("incident__grid", "incident__category", "member__unit").order_by("pk"))
            for order in locked:
                message = message_resend(order, timezone.now(), outbound_now=True, publish=False)
                if message is None or message.state != MemberMessage.State.PENDING:
                    raise RuntimeError(f"order {order.pk}: no pending message written")
                ids.append(message.pk)
    return ids, time.perf_counter() - started


def sent_count(ids: list[int]) -> int:
    return MemberMessage.objects.filter(pk__in=ids, state=MemberMessage.State.SENT).count()


@dataclass
class Run:
    label: str
    messages: int
    seconds: float = float("nan")
    per_message_ms: list[float] = field(default_factory=list)
    round_trip_ms: list[float] = field(default_factory=list)
    duplicates: int = 0
    first_after_s: float = float("nan")  # from the worker's start to its first request
    attempts: int = 0

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else float("nan")

    def row(self, floor: Run) -> str:
        gaps = self.per_message_ms
        trip = f"{pct(self.round_trip_ms, 95):9.2f}" if self.round_trip_ms else f"{'':9}"
        return (f"{self.label:56} {self.messages:8d} {self.duplicates:5d} {self.rate:9.1f} {self.rate / floor.rate:8.1%} "
                f"{pct(gaps, 50):8.2f} {pct(gaps, 95):8.2f} {max(gaps, default=float('nan')):8.1f} {trip}")


def gateway_figures(run: Run, ids: list[int]) -> float:
    """Fill in the per-message gaps and duplicates from the gateway's notes; the first arrival."""
    with Gateway.lock:
        arrivals = sorted(Gateway.arrivals)
    keys = [key for _at, _id, key in arrivals]
    run.duplicates = len(keys) - len(set(keys))
    times = [at for at, _id, _key in arrivals]
    run.per_message_ms = [(b - a) * 1000 for a, b in zip(times, times[1:], strict=False)]
    missing = set(ids) - {message_id for _at, message_id, _key in arrivals}
    if missing:
        raise RuntimeError(f"{len(missing)} messages never reached the gateway")
    return times[0]


def drain(number: int, label: str, ids: list[int], env: dict, workers: int, interval: float | None,
          logs: Path) -> Run:
    """Start `workers` real notifier processes and wait until every message is recorded sent."""
    run = Run(label, len(ids))
    Gateway.expect(ids)
    args = [sys.executable, "manage.py", "run_notifier"] + ([] if interval is None else ["--interval", str(interval)])
    processes = []
    started = time.perf_counter()
    try:
        for k in range(workers):
            log = logs / f"run{number}-notifier{k}.log"
            with log.open("w") as out:
                processes.append(subprocess.Popen(args, cwd=REPO, env=env, stdout=out,  # noqa: S603 - fixed args
                                                  stderr=subprocess.STDOUT))
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while not Gateway.complete.wait(0.2):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{label}: the gateway has {len(Gateway.seen)} of {len(ids)} after "
                                   f"{DRAIN_TIMEOUT_S} s; logs in {logs}")
            for k, process in enumerate(processes):
                if process.poll() is not None:
                    tail = (logs / f"run{number}-notifier{k}.log").read_text()[-3000:]
                    raise RuntimeError(f"{label}: notifier {k} exited with {process.returncode}:\n{tail}")
        deadline = time.monotonic() + 30
        while sent_count(ids) < len(ids):  # the last answers being recorded
            if time.monotonic() > deadline:
                raise RuntimeError(f"{label}: not every message recorded sent; logs in {logs}")
            time.sleep(0.005)
        done = time.perf_counter()
    finally:
        for process in processes:
            _stop(process)
    first = gateway_figures(run, ids)
    run.seconds, run.first_after_s = done - first, first - started
    run.attempts = MessageAttempt.objects.filter(message_id__in=ids).count()
    return run


def floor_run(ids: list[int], url: str) -> Run:
    """The same requests as the notifier's, POSTed one after another from one client."""
    run = Run("floor: plain POSTs, one httpx client, same process", len(ids))
    messages = MemberMessage.objects.filter(pk__in=ids).select_related("member").order_by("pk")
    requests = []
    for m in messages:
        body = {"message_id": m.pk, "phone": m.member.phone.strip(), "text": message_text(m.title, m.body),
                "member_code": m.member.code}
        requests.append((json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
                         {"Content-Type": CONTENT_TYPE, HEADER_IDEMPOTENCY: idempotency_key(m.pk),
                          "Authorization": f"Bearer {GATEWAY_TOKEN}"}))
    Gateway.expect(ids)
    with httpx.Client(timeout=settings.NOTIFY_TIMEOUT_SECONDS) as client:
        for body, headers in requests:
            t0 = time.perf_counter()
            response = client.post(url, content=body, headers=headers)
            run.round_trip_ms.append((time.perf_counter() - t0) * 1000)
            response.json()
            if response.status_code != 200:
                raise RuntimeError(f"floor: HTTP {response.status_code}")
    done = time.perf_counter()
    first = gateway_figures(run, ids)
    run.seconds = done - first
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages per run (2000)")
    parser.add_argument("--paced-messages", type=int, default=300,
                        help="messages of the run as `make run` starts the worker (300: its looks are 2 s apart)")
    parser.add_argument("--keep-database", action="store_true", help="keep the copy for a look afterwards")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)

    server = _server()
    source = settings.DATABASES["default"]["NAME"]
    copy_name = f"bench_notifier_{os.getpid()}"
    load_before = os.getloadavg()
    started = time.monotonic()
    how = copy_database(server, source, copy_name)
    copy_s = time.monotonic() - started
    settings.DATABASES["default"]["NAME"] = copy_name  # before the first query of this process
    gateway = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{gateway.server_address[1]}/sms/send"
    logs = Path(tempfile.mkdtemp(prefix="bench-notifier-"))
    runs, writes = [], []
    try:
        migrated = migrate_copy()
        # Nothing else due in the copy: the runs' messages are all the workers find.
        parked = (MemberMessage.objects.filter(state=MemberMessage.State.PENDING)
                  .update(next_attempt_at=timezone.now() + timedelta(days=365)))
        orders = list(DispatchOrder.objects.filter(incident__subdistrict__code=DEMO_CODE, member__active=True)
                      .order_by("-dispatched_at", "-pk").values_list("pk", flat=True)[:args.messages])
        if len(orders) < args.messages:
            raise SystemExit(f"The demo has {len(orders)} orders, fewer than {args.messages}: run `make setup`.")
        connection.close()
        env = server_env(server, copy_name, WORKER_POOL_SIZE, redis=True)
        env |= {"NOTIFY_GATEWAY_URL": url, "NOTIFY_GATEWAY_TOKEN": GATEWAY_TOKEN}
        applied = f", {migrated} migrations applied to it" if migrated else ""
        print(f"GridLink notifier benchmark: {args.messages} messages per run on a copy of {source} ({how}, "
              f"{copy_s:.1f} s{applied}), gateway {url} (ThreadingHTTPServer in this process), {os.cpu_count()} CPUs, "
              f"load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}", flush=True)
        if parked:
            print(f"  {parked} messages pending in the demo put off by a year in the copy", flush=True)

        plan = [("run_notifier --interval 0 (looks back to back)", 1, 0, args.messages),
                ("2 × run_notifier --interval 0 side by side", 2, 0, args.messages),
                ("run_notifier as `make run` starts it (a look every 2 s)", 1, None, args.paced_messages)]
        floor = None
        for number, (label, workers, interval, count) in enumerate(plan, start=1):
            ids, write_s = messages_write(orders[:count])
            writes.append(count / write_s)
            connection.close()
            if floor is None:  # the floor sends the first run's messages as the worker will
                floor = floor_run(ids, url)
                print(f"  {floor.label}: {floor.rate:.0f} messages/s, load {os.getloadavg()[0]:.2f}", flush=True)
            run = drain(number, label, ids, env, workers, interval, logs)
            runs.append(run)
            print(f"  {label}: {run.rate:.1f} messages/s, first request {run.first_after_s:.1f} s after the start, "
                  f"{run.attempts} attempts recorded, load {os.getloadavg()[0]:.2f}", flush=True)
            connection.close()
    except BaseException:
        print(f"The workers' logs are in {logs}", file=sys.stderr)
        raise
    finally:
        gateway.shutdown()
        gateway.server_close()
        connection.close()
        if not args.keep_database:
            _drop_database(server, copy_name)
    shutil.rmtree(logs, ignore_errors=True)  # kept when something failed (above)

    print()
    print(f"{'':56} {'messages':>8} {'dups':>5} {'msgs/s':>9} {'of floor':>8} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'max ms':>8} {'POST p95':>9}")
    for run in [*runs, floor]:
        print(run.row(floor))
    print()
    print(f"msgs/s = messages / (first request at the gateway → last message recorded sent); p50 / p95 / max = the time "
          f"per message, between two consecutive requests at the gateway (the call, recording its answer, the "
          f"share of the claim of each batch of 50); dups = requests beyond one per Idempotency-Key; POST p95 = "
          f"the floor's own round trip. The messages were written through dispatch.notify.message_resend at "
          f"{min(writes):.0f}–{max(writes):.0f} messages/s; "
          f"{sum(r.attempts for r in runs)} attempts recorded for {sum(r.messages for r in runs)} messages sent.")
    load_after = os.getloadavg()
    print(f"(load average at the end {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
