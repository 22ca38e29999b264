"""Print a channel's callback signing secret, creating it if absent, for the integrator to set up on
the district linkage centre's side: every result callback carries X-GridLink-Signature, the
HMAC-SHA256 of "<X-GridLink-Timestamp>." + body keyed with it (see incidents/feedback.py)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from incidents.feedback import channel_secret_issue
from incidents.models import Channel


class Command(BaseCommand):
    help = "Print a channel's callback signing secret (created if absent); --rotate replaces it."

    def add_arguments(self, parser):
        parser.add_argument("channel_code", help="the channel's code, e.g. district_order")
        parser.add_argument("--rotate", action="store_true",
                            help="Replace the existing secret: callbacks are signed with the new one at once.")

    def handle(self, *args, channel_code: str, rotate: bool, **options):
        channel = Channel.objects.filter(code=channel_code).first()
        if channel is None:
            raise CommandError(_("No channel “%(code)s”.") % {"code": channel_code})
        if channel.kind != Channel.Kind.DISTRICT_ORDER or not channel.callback_url:
            self.stderr.write(self.style.WARNING(
                _("Note: channel “%(code)s” receives no result callbacks (only district orders with a "
                  "callback URL do).") % {"code": channel_code}))
        self.stdout.write(channel_secret_issue(channel, rotate=rotate))
