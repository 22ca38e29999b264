"""A small loop for the background workers started beside the web server (`make run`).

Each tick runs the job once; the job itself claims its rows with SKIP LOCKED, so several workers
may run side by side, and nothing lives only in memory: a killed worker loses nothing. A tick that
handled something is followed at once by the next (a backlog — 692 messages of one call — drains
at the job's own pace, not one batch per interval); the worker waits `interval` only after a tick
that found nothing to do, or failed."""

import logging
import signal
import time
from collections.abc import Callable

from django.db import close_old_connections

log = logging.getLogger("gridlink.worker")


def run_loop(job: Callable[[], int], *, name: str, interval: float, once: bool = False) -> None:
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("%s: started (every %.1f s)", name, interval)
    while not stopping:
        close_old_connections()
        done = 0
        try:
            done = job()
            if done:
                log.info("%s: %d handled", name, done)
        except Exception:  # one bad tick must not end the worker; it is logged and retried
            log.exception("%s: tick failed", name)
        if once:
            break
        if done:
            continue  # more may be due: the rows handled are marked, so the next tick takes others
        deadline = time.monotonic() + interval
        while not stopping and time.monotonic() < deadline:
            time.sleep(min(0.2, interval))
    log.info("%s: stopped", name)
