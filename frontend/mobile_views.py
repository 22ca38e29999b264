"""The responders' app (/m/): one page for a phone, 360×640 and up, usable with gloves and in sunlight.

The page is a shell around the member's own work API (/api/v1/m/), the existing action endpoints
(accept / decline an order, the case's transitions) and the positions API; native ES modules under
static/gridlink/m/ draw it. Everything the modules need — API URLs reversed here, the member id,
the time zone, the order states with their labels, the CSRF cookie and header names, and every
word in the user's language — goes through `json_script` (#m-config), never into code.

Installable: a web app manifest and a service worker served from /m/ (so that the worker's scope
is /m/), which keeps the app shell — the page, its modules, CSS and Leaflet — for an offline start.
The worker's source is a static file; its version (a hash of the shell's files) is in its URL, so
a changed file installs a new worker with a new cache. Nothing here writes.
"""

import hashlib
import json
from functools import lru_cache

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import Http404, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from config.permissions import role_required
from config.roles import has_role
from dispatch.models import DispatchOrder
from dispatch.positions import POSITION_ROLES
from dispatch.selectors import member_of_user
from frontend.views import csrf_header_name, url_template

# The app shell the service worker keeps: static paths (Leaflet is served under vendor/ from npm).
SHELL_STATIC = [
    "gridlink/m/m.css",
    "gridlink/m/icon.svg",
    "gridlink/m/app.js",
    "gridlink/m/api.js",
    "gridlink/m/store.js",
    "gridlink/m/format.js",
    "gridlink/m/work.js",
    "gridlink/m/countdown.js",
    "gridlink/m/geo.js",
    "gridlink/m/nav.js",
    "gridlink/m/map.js",
    "gridlink/m/live.js",
    "gridlink/m/queue.js",
    "vendor/leaflet/leaflet.css",
    "vendor/leaflet/leaflet.js",
]
SERVICE_WORKER_STATIC = "gridlink/m/sw.js"

# Seconds before the deadline from which a countdown turns amber (as on the wall map).
AMBER_SECONDS = 10 * 60
REFRESH_SECONDS = 15
# A phone's fix less precise than this is not sent as the arrival position.
ARRIVAL_MAX_ACCURACY_M = 100
# Position sharing: keep a fix when this much time passed or the phone moved this far since the
# last one kept; send the kept ones in batches this often.
GEO_KEEP_SECONDS = 15
GEO_KEEP_METRES = 10
GEO_SEND_SECONDS = 30

# The buttons of an order card. The flows' labels are the command room's words ("Accept" a
# hand-over, "Resolve on site"); on the phone the short words the forces use.
BUTTONS = {
    "accept": pgettext_lazy("responders' app button", "Accept"),
    "decline": pgettext_lazy("responders' app button", "Decline"),
    "arrive": pgettext_lazy("responders' app button", "Arrived"),
    "report_on_site": pgettext_lazy("responders' app button", "Report from the scene"),
    "resolve": pgettext_lazy("responders' app button", "Resolve"),
    "note": pgettext_lazy("responders' app button", "Note"),
    "navigate": pgettext_lazy("responders' app button", "Navigate"),
    "otherMaps": pgettext_lazy("responders' app button", "Other map apps"),
}

# What a form asks for before an action is sent.
FORM_LABELS = {
    "decline": _("Why you cannot go"),
    "report_on_site": _("What you found and did on site"),
    "resolve": _("The result"),
    "note": _("Note"),
}

# What the phone says after an action the server took.
DONE = {
    "accept": _("Order accepted."),
    "decline": _("Order declined."),
    "arrive": _("Arrival recorded."),
    "report_on_site": _("Report sent."),
    "resolve": _("Case resolved."),
    "note": _("Note added."),
}

MOBILE_TEXT = {
    "buttons": BUTTONS,
    "formLabels": FORM_LABELS,
    "done": DONE,
    "send": _("Send"),
    "cancel": _("Cancel"),
    "sending": _("Sending…"),
    "noOrders": _("No orders now. A new order appears here by itself."),
    "noFinished": _("Nothing finished in the last 24 hours."),
    "onDuty": _("On duty"),
    "offDuty": _("Off duty"),
    "major": capfirst(_("major incident")),
    "dueIn": _("%(time)s left"),
    "overdueBy": _("overdue by %(time)s"),
    "noDeadline": _("No arrival deadline"),
    "arriveBy": _("Arrive by %(time)s"),
    "arrivedAt": _("Arrived at %(time)s"),
    "arrivalDistance": _("%(distance)s from the scene on arrival"),
    "arrivalFlagged": _("Far from the scene: the command room will check."),
    "distance": _("%(distance)s away"),
    "distanceFromShared": _("%(distance)s away (last shared position)"),
    "eta": _("about %(minutes)s min by road"),
    "metres": _("%(n)s m"),
    "kilometres": _("%(n)s km"),
    "declined": _("Declined: %(reason)s"),
    "stoodDown": _("Stood down: %(reason)s"),
    "description": _("Description"),
    "updated": _("Updated %(time)s"),
    "offline": _("No connection: showing what was loaded at %(time)s."),
    "offlineEmpty": _("No connection: your orders appear when the phone is online again."),
    "loadError": _("Your orders could not be loaded; retrying."),
    "failed": _("The request failed; try again."),
    "signedOut": _("You are signed out: log in again."),
    "locating": _("Reading your position…"),
    "arrivalNoFix": _("The phone's position could not be read: the arrival is checked against your last "
                      "shared position."),
    "arrivalInaccurate": _("The phone's position is too imprecise (±%(accuracy)s m, more than %(max)s m) and "
                           "was not sent: the arrival is checked against your last shared position."),
    "shareOn": _("Position sharing: on"),
    "shareOff": _("Position sharing: off"),
    "share": {
        "off": _("Your position is not shared."),
        "waiting": _("Waiting for the phone's position…"),
        "on": _("Shared; last sent %(time)s."),
        "onNotSent": _("Shared; sending…"),
        "paused": _("Paused while you are off duty."),
        "denied": _("The browser does not allow location: allow it for this site in the settings."),
        "unavailable": _("This phone cannot share its position here."),
        "refused": _("The server refused the positions: %(message)s"),
        "notAllowed": _("Your login may not share positions."),
    },
    "me": _("Me"),
    "scene": _("Scene"),
    "route": _("Route to the scene"),
    "case": _("Case %(number)s"),
    "live": {
        "connecting": _("Connecting…"),
        "live": _("Live: new orders arrive at once"),
        "reconnecting": _("Reconnecting…"),
        "signedOut": _("You are signed out: log in again."),
    },
    "notifyEnable": _("Allow notifications"),
    "inboxClose": _("Got it"),
    # The outbox (queue.js): actions kept on the phone until the connection returns.
    "queued": _("Saved: sent when the phone is online again."),
    "queueCount": _("%(n)s waiting to be sent"),
    "queueLastError": _("(last try: %(message)s)"),
}


def _shell_paths() -> list[str]:
    return [*SHELL_STATIC, SERVICE_WORKER_STATIC]


def _read_static(path: str) -> bytes:
    found = finders.find(path)
    if not found:
        raise Http404(path)
    with open(found, "rb") as handle:
        return handle.read()


def _shell_version_now() -> str:
    digest = hashlib.sha256()
    for path in _shell_paths():
        digest.update(path.encode())
        digest.update(_read_static(path))
    return digest.hexdigest()[:16]


@lru_cache(maxsize=1)
def _shell_version_cached() -> str:
    return _shell_version_now()


def shell_version() -> str:
    """A hash of the shell's files: the service worker's version and its cache's name. Computed once
    per process, except with DEBUG (files change under a running development server)."""
    return _shell_version_now() if settings.DEBUG else _shell_version_cached()


def mobile_config(request, member) -> dict:
    """What app.js needs."""
    center = settings.LEAFLET_CONFIG.get("DEFAULT_CENTER", (30.28, 120.00))
    return {
        "member": member.pk,
        "timeZone": settings.TIME_ZONE,
        "language": get_language(),
        "api": {
            "work": reverse("member_app:work"),
            "order": url_template("member_app:order"),
            "accept": url_template("dispatch:order-accept"),
            "decline": url_template("dispatch:order-decline"),
            "transitions": url_template("incidents:incident-transition"),
            "positions": reverse("positions:position-batch"),
        },
        "csrf": {"cookie": settings.CSRF_COOKIE_NAME, "header": csrf_header_name()},
        "orderStates": {value: str(label) for value, label in DispatchOrder.State.choices},
        "liveStates": list(DispatchOrder.LIVE_STATES),
        "amberSeconds": AMBER_SECONDS,
        "refreshSeconds": REFRESH_SECONDS,
        "arrivalMaxAccuracyM": ARRIVAL_MAX_ACCURACY_M,
        "geo": {"keepSeconds": GEO_KEEP_SECONDS, "keepMetres": GEO_KEEP_METRES, "sendSeconds": GEO_SEND_SECONDS,
                "allowed": has_role(request.user, *POSITION_ROLES),
                "storageKey": f"gridlink.m.share.{member.pk}"},
        "map": {
            "center": [center[1], center[0]],  # [lon, lat], as every coordinate the modules get
            "zoom": settings.LEAFLET_CONFIG.get("DEFAULT_ZOOM", 13),
            "tiles": {"url": settings.TILE_URL, "attribution": settings.TILE_ATTRIBUTION} if settings.TILE_URL else None,
        },
        "socket": "/ws/member/",
        "serviceWorker": {"url": f"{reverse('mobile:sw')}?v={shell_version()}", "scope": reverse("mobile:app")},
        "text": MOBILE_TEXT,
    }


@role_required()
def app_view(request):
    """The responders' app. A user not linked to an active member gets a page saying what the app
    is for (403)."""
    member = member_of_user(user=request.user)
    if member is None:
        return render(request, "frontend/m/not_member.html", status=403)
    get_token(request)  # the CSRF cookie the modules send back with every action
    return render(request, "frontend/m/app.html", {"member": member, "m_config": mobile_config(request, member)})


@never_cache
def service_worker(request):
    """The service worker's script, served from /m/ so that its scope is /m/. Public: it holds no data."""
    response = HttpResponse(_read_static(SERVICE_WORKER_STATIC), content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = reverse("mobile:app")
    return response


@never_cache
def shell(request):
    """What the service worker keeps for an offline start: its version and the shell's URLs."""
    return JsonResponse({"version": shell_version(),
                         "urls": [reverse("mobile:app"), reverse("mobile:manifest"),
                                  *(static(path) for path in SHELL_STATIC)]})


def manifest(request):
    """The web app manifest (installable on the home screen). The forces' app name is Chinese."""
    icon = static("gridlink/m/icon.svg")
    data = {
        "name": "网事警情·处置端",
        "short_name": "处置端",
        "description": "网事警情联动指挥平台的处置人员应用",
        "lang": "zh-CN",
        "id": reverse("mobile:app"),
        "start_url": reverse("mobile:app"),
        "scope": reverse("mobile:app"),
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": "#002b5c",
        "icons": [
            {"src": icon, "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
            {"src": icon, "sizes": "any", "type": "image/svg+xml", "purpose": "maskable"},
        ],
    }
    return HttpResponse(json.dumps(data, ensure_ascii=False), content_type="application/manifest+json; charset=utf-8")
