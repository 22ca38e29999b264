from django.core.management.base import BaseCommand

from config.worker import run_loop
from dispatch.notifier import notifier_deliver_due


class Command(BaseCommand):
    help = ("Send members' messages not read in the app within the grace through the outbound gateway "
            "(SMS / messaging app), retrying with backoff; without a gateway, to the outbox log. "
            "Several may run side by side.")

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=2.0, help="seconds between two looks for due messages")
        parser.add_argument("--once", action="store_true", help="one pass, then exit")

    def handle(self, *args, interval: float, once: bool, **options):
        run_loop(notifier_deliver_due, name="notifier", interval=interval, once=once)
