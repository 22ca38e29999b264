from django.core.management.base import BaseCommand

from config.worker import run_loop
from reports.interviews import CLAIM_BATCH, interviews_overdue_raise

DEFAULT_INTERVAL = 60.0  # rectification deadlines are days long: a minute's delay is nothing


class Command(BaseCommand):
    help = ("The governance clock: raise the alarm of every accountability interview whose rectification "
            "deadline passed unrectified, exactly once (reports/interviews.py). Several may run side by side.")

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL, help="seconds between two looks")
        parser.add_argument("--batch", type=int, default=CLAIM_BATCH, help="interviews claimed per transaction")
        parser.add_argument("--once", action="store_true", help="one look, then exit")

    def handle(self, *args, interval: float, batch: int, once: bool, **options):
        batch = max(1, batch)
        run_loop(lambda: interviews_overdue_raise(batch=batch), name="governance-clock", interval=interval,
                 once=once)
