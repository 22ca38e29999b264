"""Keep the position track's day partitions (`dispatch.track_partitions.track_partitions_maintain`):
today's and the next days' made, stray fixes moved out of the default partition, the days older than
POSITION_TRACK_DAYS dropped. The SLA clock does the same when it starts and hourly; this is for cron
or by hand. `--list` prints the partitions afterwards."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from dispatch.track_partitions import track_partitions, track_partitions_maintain


class Command(BaseCommand):
    help = ("Keep the position track's day partitions: make today's and the next --ahead days' (default "
            "POSITION_TRACK_DAYS_AHEAD), move stray fixes out of the default partition, drop the days older "
            "than --keep-days (default POSITION_TRACK_DAYS) with their fixes.")

    def add_arguments(self, parser):
        parser.add_argument("--ahead", type=int, default=None, help="days ahead of today to make partitions for")
        parser.add_argument("--keep-days", type=int, default=None,
                            help="days before today whose fixes are kept; older partitions are dropped")
        parser.add_argument("--list", action="store_true", dest="show", help="print the partitions afterwards")

    def handle(self, *args, ahead: int | None, keep_days: int | None, show: bool, **options):
        done = track_partitions_maintain(ahead=ahead, keep_days=keep_days)
        self.stdout.write(str(done))
        if show:
            for p in track_partitions():
                span = "DEFAULT" if p.default else "?" if p.start is None or p.end is None else \
                    f"{timezone.localtime(p.start):%Y-%m-%d %H:%M} – {timezone.localtime(p.end):%Y-%m-%d %H:%M}"
                self.stdout.write(f"{p.name:40} {span:40} ~{max(p.rows, 0):,} fixes")
        if done.failed:
            self.stderr.write("some steps could not have their locks in time; run again")
