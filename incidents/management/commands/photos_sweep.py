"""Delete the on-site photos' orphan files: written by a report whose transaction then rolled back
(`incidents.photos.photos_orphans_sweep`). The SLA clock does it hourly for the latest two months;
this looks in every directory (or the latest --months)."""

from datetime import timedelta

from django.core.management.base import BaseCommand

from incidents.photos import photos_orphans_sweep


class Command(BaseCommand):
    help = ("Delete the files under MEDIA_ROOT/photos/ that no on-site photo names and that are older than "
            "--older-than minutes (default 60).")

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, default=60, metavar="MINUTES",
                            help="only files last modified at least this many minutes ago (default 60)")
        parser.add_argument("--months", type=int, default=None,
                            help="only the directories of the latest N months (default: every one)")

    def handle(self, *args, older_than: int, months: int | None, **options):
        deleted = photos_orphans_sweep(timedelta(minutes=max(1, older_than)), months=months)
        self.stdout.write(f"{deleted} orphan files deleted")
