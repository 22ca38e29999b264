from django.core.management.base import BaseCommand

from config.worker import run_loop
from incidents.feedback import feedback_deliver_due


class Command(BaseCommand):
    help = "Post case results back to the district linkage centre, retrying with backoff until acknowledged."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=5.0, help="seconds between two looks for due deliveries")
        parser.add_argument("--once", action="store_true", help="one pass, then exit")

    def handle(self, *args, interval: float, once: bool, **options):
        run_loop(feedback_deliver_due, name="feedback", interval=interval, once=once)
