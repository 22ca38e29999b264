"""A small loop for the background workers started beside the web server (`make run`).

Each tick runs the job once; the job itself claims its rows with SKIP LOCKED, so several workers
may run side by side, and nothing lives only in memory: a killed worker loses nothing."""

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
        try:
            done = job()
            if done:
                log.info("%s: %d handled", name, done)
        except Exception:  # one bad tick must not end the worker; it is logged and retried
            log.exception("%s: tick failed", name)
        if once:
            break
        deadline = time.monotonic() + interval
        while not stopping and time.monotonic() < deadline:
            time.sleep(min(0.2, interval))
    log.info("%s: stopped", name)
