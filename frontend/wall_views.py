"""The wall map page: the command room's big display (3840×2160 seen from across the room, also
usable at 1920×1080).

The page is a shell around the wall read API (/api/v1/wall/<code>/...), the geo API and the wall
websocket (ws/wall/<code>/): wall.js draws and updates everything. What it needs — URLs, the
basemap configuration, choice lists and every word in the user's language — goes through
`json_script` (#wall-config); what every page shares and the server owns (the statuses and their
groups, the time zone, the category glyphs) through `{% gridlink_shared %}` (#gridlink-shared).
The scripts are ES modules (frontend/static/wall/wall.js imports the rest). Staff roles only, as the
socket and the API (a responder must not see the whole sub-district's forces). Nothing here writes.
"""

from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from config.permissions import role_required
from config.roles import STAFF_ROLES
from config.ws_frames import CLOSE_ANONYMOUS, CLOSE_FORBIDDEN
from dispatch.models import Alarm, DispatchOrder, Force
from dispatch.recommend import BUSY_STATUSES, LOAD_STATES
from frontend.reports_trends_views import heat_config
from frontend.views import map_config
from geo.tenancy import request_subdistrict
from incidents.models import Category, Channel, IncidentEvent

# Words of the wall, handed to wall.js. Model labels are reused where they fit.
WALL_TEXT = {
    "live": _("Live"),
    "reconnecting": _("Reconnecting…"),
    "connecting": _("Connecting…"),
    "lastEvent": _("last event %(time)s"),
    "noEventYet": _("no event yet"),
    "fullscreen": _("Full screen"),
    "exitFullscreen": _("Exit full screen"),
    "soundOn": _("Sound on"),
    "soundOff": _("Sound off"),
    "noAlarms": _("No overdue arrivals"),
    "overdueBy": _("overdue %(time)s"),
    "dueIn": _("due in %(time)s"),
    "arriveBy": _("Arrive by"),
    "deadline": _("Deadline"),
    "eta": _("ETA"),
    "dispatchedAt": _("Dispatched"),
    "arrivedAt": _("Arrived"),
    "people": _("People dispatched"),
    "timeline": _("Timeline"),
    "noOrders": _("Nobody dispatched yet"),
    "close": _("Close"),
    "address": _("Address"),
    "grid": capfirst(_("grid")),
    "channel": capfirst(_("channel")),
    "reportedAt": _("Reported"),
    "major": capfirst(_("major incident")),
    "level": _("Level %(level)s"),
    "alarmBanner": _("Overdue arrival: case %(number)s"),
    "alarmBannerMany": _("%(count)s overdue arrivals"),
    "members": _("Responders"),
    "onDuty": _("On duty"),
    "busy": _("Busy on an order"),
    "offDuty": _("Off duty"),
    "route": _("Route to the scene"),
    "statuses": _("Status"),
    "categories": _("Category"),
    "gridLoad": _("Open incidents per grid"),
    "emptyQueue": _("No open cases"),
    "loadError": _("The wall data could not be loaded; retrying."),
    "cardError": _("The case could not be loaded."),
    "play": _("Play"),
    "pause": _("Pause"),
    "replaying": _("Replay of %(date)s"),
    "replayEmpty": _("Nothing happened on that day."),
    "replayError": _("That day could not be loaded."),
    "openCase": _("Open case page"),
    "positionAt": _("Position at"),
    "stale": _("position out of date"),
    "signedOut": _("The session has ended: log in again to keep the wall live."),
    "replacements": _("Replacements"),
    "transferRequested": _("%(member)s asks to transfer to %(unit)s"),
    "photos": _("Photos from the scene"),
    "inPlaceOfDeclined": _("%(name)s declined: send in their place"),
    "inPlaceOfOverdue": _("%(name)s is late: send in addition"),
    "send": _("Send %(name)s"),
    "etaMinutes": _("about %(minutes)s min away"),
    "noReplacement": _("Nobody of the same rule or force is available: raise the level."),
    "sendFailed": _("The request failed; try again."),
    "toldAt": _("told %(time)s"),
    "seenAt": _("seen %(time)s"),
    "notSeen": _("not seen"),
    "smsSent": _("SMS sent %(time)s"),
    "smsRetrying": _("SMS retrying (%(attempts)s attempts)"),
}

# Seconds before the deadline from which a countdown turns amber.
AMBER_SECONDS = 10 * 60


def wall_config(request, subdistrict) -> dict:
    code = subdistrict.code if subdistrict else "-"
    return {
        "subdistrict": {"code": code, "name": subdistrict.name} if subdistrict else None,
        "map": map_config(request, subdistrict),
        "heat": heat_config(request, subdistrict),  # the hot-spot layer
        "api": {
            "state": reverse("wall:state", args=[code]),
            "incident": reverse("wall:incident", args=[code, 0]).replace("/0/", "/{id}/"),
            "replay": reverse("wall:replay", args=[code]),
            "replace": reverse("dispatch:order-replace", args=[0]).replace("/0/", "/{id}/"),
        },
        "pages": {"incident": reverse("console:incident", args=[0]).replace("/0/", "/{id}/")},
        "socket": f"/ws/wall/{code}/",
        "categories": [
            {"code": c.code, "name": c.display_name(), "scope": c.scope}
            for c in Category.objects.order_by("sort_order", "code")
        ],
        "channels": {c.code: c.name for c in Channel.objects.order_by("sort_order", "code")},
        "eventKinds": dict(IncidentEvent.Kind.choices),
        "forces": dict(Force.choices),
        "orderStates": dict(DispatchOrder.State.choices),
        "amberSeconds": AMBER_SECONDS,
        # What the store needs to follow responders and alarms between snapshots (store.js): who
        # is busy (the snapshot's rule: an order in these states on a case in these statuses),
        # when a shared position is out of date, the alarms' kinds in words.
        "busy": {"statuses": list(BUSY_STATUSES), "orderStates": [str(state) for state in LOAD_STATES]},
        "staleMinutes": settings.POSITION_STALE_MINUTES,
        "alarmKinds": dict(Alarm.Kind.choices),
        # Close codes of the socket that mean "not signed in (any more)" / "not allowed".
        "closeCodes": {"anonymous": CLOSE_ANONYMOUS, "forbidden": CLOSE_FORBIDDEN},
        "text": WALL_TEXT,
    }


@role_required(*STAFF_ROLES)
def wall_view(request):
    """The wall map of a sub-district (`?subdistrict=<code>`, one of the user's: geo/tenancy.py)."""
    subdistrict = request_subdistrict(request, required=False)
    return render(
        request,
        "wall/wall.html",
        {"subdistrict": subdistrict, "wall_config": wall_config(request, subdistrict)},
    )
