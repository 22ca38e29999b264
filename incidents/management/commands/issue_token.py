"""Print the API token of a user, creating it if absent. Machine clients such as the district
linkage centre are users in the `integration` group; they send the token as
`Authorization: Token <key>` (REST API) or as Open311's `api_key`; `--channel CODE` makes the user
the external system of that channel, whose cases its key reads."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from config.roles import UserRole, has_role
from incidents.api_support import api_token_issue
from incidents.models import Channel


class Command(BaseCommand):
    help = "Print a user's API token (created if absent); --rotate replaces it."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--rotate", action="store_true",
                            help="Replace the existing token: the old key stops working at once.")
        parser.add_argument("--channel", metavar="CODE", default=None,
                            help="Make the user the external system of this channel: its key reads the "
                                 "channel's cases (Open311 and /api/v1/).")

    def handle(self, *args, username: str, rotate: bool, channel: str | None = None, **options):
        user_model = get_user_model()
        user = user_model.objects.filter(**{user_model.USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(_("No user “%(username)s”.") % {"username": username})
        if not user.is_active:
            raise CommandError(_("User “%(username)s” is inactive.") % {"username": username})
        if not has_role(user, UserRole.INTEGRATION):
            self.stderr.write(self.style.WARNING(
                _("Note: “%(username)s” is not in the “%(group)s” group of machine clients.")
                % {"username": username, "group": UserRole.INTEGRATION.value}))
        speaks_for = None
        if channel:
            speaks_for = Channel.objects.filter(code=channel).first()
            if speaks_for is None:
                raise CommandError(_("No channel “%(code)s”.") % {"code": channel})
        token, _created = api_token_issue(user=user, rotate=rotate, channel=speaks_for)
        self.stdout.write(token.key)
