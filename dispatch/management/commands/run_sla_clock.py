import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand

from config.worker import run_loop
from dispatch.sla import CLAIM_BATCH, sla_tick
from dispatch.track_partitions import track_partitions_maintain
from incidents.photos import photos_orphans_sweep

log = logging.getLogger("gridlink.sla")

# The clock also sweeps the on-site photos' orphan files (written by a report that then rolled back):
# at most once an hour per clock process, after a tick (outside its transactions), in the latest two
# months' directories; `manage.py photos_sweep` looks in every one.
PHOTOS_SWEEP_EVERY = timedelta(hours=1)
PHOTOS_SWEEP_MONTHS = 2
# It keeps the position track's day partitions too (dispatch/track_partitions.py): when it starts and
# at most once an hour after, likewise after a tick: today's and the next days' made, the days older
# than POSITION_TRACK_DAYS dropped.
TRACK_PARTITIONS_EVERY = timedelta(hours=1)


class ClockTick:
    """One look of the clock: every deadline (`sla_tick`), then, when this process has not done
    them for PHOTOS_SWEEP_EVERY and TRACK_PARTITIONS_EVERY, the photos' orphan files and the track's
    partitions. Returns what `sla_tick` handled."""

    def __init__(self, *, batch: int = CLAIM_BATCH):
        self.batch = batch
        self.swept_at: float | None = None  # time.monotonic() of this process's last sweep
        self.partitioned_at: float | None = None  # and of its last look at the track's partitions

    def __call__(self) -> int:
        handled = sla_tick(batch=self.batch)
        if self.swept_at is None or time.monotonic() - self.swept_at >= PHOTOS_SWEEP_EVERY.total_seconds():
            self.swept_at = time.monotonic()
            try:
                photos_orphans_sweep(months=PHOTOS_SWEEP_MONTHS)
            except Exception:  # a failed sweep waits for the next hour; the deadlines do not wait for it
                log.exception("photos sweep failed")
        if self.partitioned_at is None or \
                time.monotonic() - self.partitioned_at >= TRACK_PARTITIONS_EVERY.total_seconds():
            self.partitioned_at = time.monotonic()
            try:
                track_partitions_maintain()  # logs what it did; the default partition catches what it did not
            except Exception:
                log.exception("keeping the track's partitions failed")
        return handled


class Command(BaseCommand):
    help = ("The SLA clock: raise an alarm, exactly once, for every passed arrival deadline, overdue "
            "hand-over and new major incident; reopen snoozed alarms; hourly, delete orphan photo files and "
            "keep the position track's day partitions (made ahead, dropped after POSITION_TRACK_DAYS). "
            "Several may run side by side.")

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=None,
                            help="seconds between two looks (default: settings.SLA_CLOCK_INTERVAL_SECONDS)")
        parser.add_argument("--batch", type=int, default=CLAIM_BATCH, help="rows claimed per transaction")
        parser.add_argument("--once", action="store_true", help="one look, then exit")

    def handle(self, *args, interval: float | None, batch: int, once: bool, **options):
        interval = settings.SLA_CLOCK_INTERVAL_SECONDS if interval is None else interval
        run_loop(ClockTick(batch=max(1, batch)), name="sla-clock", interval=interval, once=once)
