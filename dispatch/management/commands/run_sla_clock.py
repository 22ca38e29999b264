from functools import partial

from django.conf import settings
from django.core.management.base import BaseCommand

from config.worker import run_loop
from dispatch.sla import CLAIM_BATCH, sla_tick


class Command(BaseCommand):
    help = ("The SLA clock: raise an alarm, exactly once, for every passed arrival deadline, overdue "
            "hand-over and new major incident; reopen snoozed alarms. Several may run side by side.")

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=None,
                            help="seconds between two looks (default: settings.SLA_CLOCK_INTERVAL_SECONDS)")
        parser.add_argument("--batch", type=int, default=CLAIM_BATCH, help="rows claimed per transaction")
        parser.add_argument("--once", action="store_true", help="one look, then exit")

    def handle(self, *args, interval: float | None, batch: int, once: bool, **options):
        interval = settings.SLA_CLOCK_INTERVAL_SECONDS if interval is None else interval
        run_loop(partial(sla_tick, batch=max(1, batch)), name="sla-clock", interval=interval, once=once)
