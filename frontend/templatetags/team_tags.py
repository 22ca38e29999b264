"""The configuration of "My team" in the responders' app (frontend/static/gridlink/m/team.js):
its API URLs, the CSRF names, the time zone and every word in the user's language, for the page's
`json_script` (#m-team-config, frontend/templates/frontend/m/team.html). Kept apart from the app's
own configuration (#m-config, frontend/mobile_views.py): the leaders' section is a module of its own.

`roles`: what the member leads, decided as /api/v1/m/team/ decides it (`dispatch.selectors.leader_roles`).
With none — a plain responder — team.js starts nothing: no request, no polling."""

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from dispatch.selectors import leader_roles
from frontend.views import csrf_header_name, url_template

register = template.Library()

# While the page is visible, "My team" is loaded again this often (and on every message of the
# member's socket).
TEAM_REFRESH_SECONDS = 30
# Seconds before the deadline from which a countdown turns amber (as the app's own orders).
TEAM_AMBER_SECONDS = 10 * 60

TEAM_TEXT = {
    "alarmsHeading": _("Alarms you were told of"),
    "ordersHeading": _("Your unit's orders"),
    "incidentsHeading": _("Open cases of your grids"),
    "noAlarms": _("No alarms."),
    "noOrders": _("Nobody of your unit is on an order now."),
    "noIncidents": _("No open cases in your grids."),
    "nobodySent": _("Nobody sent yet."),
    "call": _("Call %(name)s"),
    "acknowledge": _("Acknowledge"),
    "acknowledgedBy": _("Acknowledged at %(time)s by %(name)s"),
    "acknowledgedDone": _("Acknowledged."),
    "queued": _("Saved: sent when the phone is online again."),
    "sending": _("Sending…"),
    "overdue": _("Overdue"),
    "dueIn": _("%(time)s left"),
    "overdueBy": _("overdue by %(time)s"),
    "noDeadline": _("No arrival deadline"),
    "deadline": _("Deadline %(time)s"),
    "raisedAt": _("Raised at %(time)s"),
    "ageMinutes": _("reported %(minutes)s min ago"),
    "ageHours": _("reported %(hours)s h %(minutes)s min ago"),
    "major": _("major incident"),
    "updated": _("Updated %(time)s"),
    "loadError": _("Your team could not be loaded; retrying."),
    "offline": _("No connection: showing what was loaded at %(time)s."),
    "failed": _("The request failed; try again."),
}


@register.simple_tag
def team_config(user, member) -> dict:
    """What team.js needs, for `{{ ...|json_script:"m-team-config" }}` (lazy strings are encoded in
    the active language). `user`: the logged-in user whose active member `member` is."""
    return {
        "member": member.pk,
        "roles": leader_roles(user=user, member=member),
        "timeZone": settings.TIME_ZONE,
        "api": {"team": reverse("member_app:team"), "acknowledge": url_template("member_app:alarm-acknowledge")},
        "csrf": {"cookie": settings.CSRF_COOKIE_NAME, "header": csrf_header_name()},
        "refreshSeconds": TEAM_REFRESH_SECONDS,
        "amberSeconds": TEAM_AMBER_SECONDS,
        "text": TEAM_TEXT,
    }
