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

Beyond the buttons of an order, the page hands the modules what the forms of the scene need: the
photo limits of an on-site report (the server's, checked again there), the roles of a person
involved, the units a transfer may be asked for (`transfer_units`), and how long the server honours
an Idempotency-Key (`idempotency_key_hours`: the outbox asks the member before sending an older
action).
"""

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import ImproperlyConfigured
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
from dispatch.models import DispatchOrder, Unit
from dispatch.positions import POSITION_ROLES
from dispatch.selectors import member_of_user
from frontend.views import csrf_header_name, url_template
from incidents.models import Party

SERVICE_WORKER_STATIC = "gridlink/m/sw.js"
MODULES_DIR = "gridlink/m"


def _shell_modules() -> list[str]:
    """Every ES module of the app (static/gridlink/m/*.js but the service worker): a module added
    to the page is in the offline shell without a list to keep in step."""
    entry = finders.find(f"{MODULES_DIR}/app.js")
    if not entry:
        raise ImproperlyConfigured(f"{MODULES_DIR}/app.js is not among the static files")
    names = sorted(path.name for path in Path(entry).parent.glob("*.js"))
    return [f"{MODULES_DIR}/{name}" for name in names if f"{MODULES_DIR}/{name}" != SERVICE_WORKER_STATIC]


def shell_static() -> list[str]:
    """The app shell the service worker keeps: static paths (Leaflet is served under vendor/ from npm)."""
    return ["gridlink/m/m.css", "gridlink/m/icon.svg", *_shell_modules(),
            "vendor/leaflet/leaflet.css", "vendor/leaflet/leaflet.js"]


# The units a responder may ask a transfer to, grouped as the plan hands cases on: police-type
# cases to the police, the others to the grid squad, or to a department. The service takes any
# unit of the case's sub-district (incidents.services.transition_check, `_handover_out`); the
# phone leaves out those that do not take over a case: the command room (who decides the request),
# the leading group, and the social units (property companies, construction sites, enterprises,
# parks), which their community or the responsible office brings in.
TRANSFER_GROUP_OF_KIND: dict[str, str] = {
    Unit.Kind.POLICE_STATION: "police",
    Unit.Kind.TRAFFIC_POLICE: "police",
    Unit.Kind.GRID_SQUAD: "grid",
}
NOT_TRANSFER_KINDS = (Unit.Kind.COMMAND_ROOM, Unit.Kind.LEADERSHIP, Unit.Kind.PROPERTY_COMPANY,
                      Unit.Kind.CONSTRUCTION_SITE, Unit.Kind.ENTERPRISE, Unit.Kind.PARK)
TRANSFER_GROUPS = {
    "police": pgettext_lazy("transfer to", "Police"),
    "grid": pgettext_lazy("transfer to", "Grid squad"),
    "department": pgettext_lazy("transfer to", "Departments"),
}

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
    "request_transfer": pgettext_lazy("responders' app button", "Ask for a transfer"),
    "register_party": pgettext_lazy("responders' app button", "Register a person"),
    "navigate": pgettext_lazy("responders' app button", "Navigate"),
    "otherMaps": pgettext_lazy("responders' app button", "Other map apps"),
}

# What a form asks for before an action is sent.
FORM_LABELS = {
    "decline": _("Why you cannot go"),
    "report_on_site": _("What you found and did on site"),
    "resolve": _("The result"),
    "note": _("Note"),
    "request_transfer": _("Why the case should be transferred"),
}

# What the phone says after an action the server took.
DONE = {
    "accept": _("Order accepted."),
    "decline": _("Order declined."),
    "arrive": _("Arrival recorded."),
    "report_on_site": _("Report sent."),
    "resolve": _("Case resolved."),
    "note": _("Note added."),
    "request_transfer": _("Transfer requested: the command room decides."),
    "register_party": _("Registered: %(name)s %(id_number)s"),
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
    # "My grids": a grid of a published version not in force yet (upcoming).
    "gridFrom": _("from %(time)s"),
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
    # The browser's session is no longer this page's member (another logged in, or nobody).
    "loginChanged": _("The login on this phone has changed: the app is loaded again."),
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
    "queuePhotos": _("%(n)s photos"),
    "queuedBehindStale": _("Saved: waits behind an older action; decide on that one first (above)."),
    # Another member's actions on a shared phone: how many, for whom — never what they are.
    "queueHeldMember": _("%(n)s actions waiting for %(name)s to log in again on this phone."),
    "queueHeldUnknown": _("%(n)s actions waiting for the member who saved them to log in again on this phone."),
    "queueStale": _("Saved %(time)s, more than %(days)s days ago: the server may no longer recognise it and "
                    "could apply it a second time. Send it anyway, or discard it?"),
    "sendAnyway": _("Send anyway"),
    "discard": _("Discard"),
    # The on-site report's photos (photos.js).
    "photos": _("Photos (at most %(n)s)"),
    "addPhotos": _("Take or add photos"),
    "removePhoto": _("Remove"),
    "photoAlt": _("Photo %(n)s"),
    "photoProblems": {
        "count": _("%(name)s: at most %(n)s photos per report."),
        "size": _("%(name)s is larger than %(max)s MB."),
        "type": _("%(name)s is not a JPEG, PNG or WebP photo."),
        "empty": _("%(name)s is empty."),
    },
    "photosSent": _("Photos from the scene"),
    # Registering the people involved (idcard.js checks as the server does).
    "parties": _("People involved"),
    # The caller and the people are shown masked; "call" reveals the number (logged) and dials it.
    "caller": _("Caller"),
    "dial": _("Call"),
    "person": {"name": _("Name"), "phone": _("Phone"), "id_number": _("ID card number"), "role": _("Role")},
    "personProblems": {
        "required": _("Enter the name."),
        "phone": _("Not a valid phone number."),
        "format": _("An ID card number has 17 digits and a final digit or X."),
        "date": _("The ID card number holds no valid birth date."),
        "check": _("The ID card number's check digit is wrong."),
    },
    # Asking for a transfer.
    "transferUnit": _("Transfer to"),
    "chooseUnit": _("Choose a unit"),
    # Logging out with actions still on the phone.
    "logoutWaiting": _("%(n)s actions are still waiting to be sent from this phone. They stay here and are "
                       "sent when you log in again on this phone. Log out anyway?"),
    "loggingOut": _("Logging out…"),
}


def _shell_paths() -> list[str]:
    return [*shell_static(), SERVICE_WORKER_STATIC]


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


def transfer_units(member) -> list[dict]:
    """The units of the member's sub-district a transfer may be asked for, by group (police, grid,
    department), then kind and code: [{id, name, kind, kind_display, group}]."""
    order = {"police": 0, "grid": 1, "department": 2}
    units = Unit.objects.filter(subdistrict=member.subdistrict_id).exclude(kind__in=NOT_TRANSFER_KINDS)
    rows = [{"id": u.pk, "name": u.name, "kind": u.kind, "kind_display": u.get_kind_display(),
             "group": TRANSFER_GROUP_OF_KIND.get(u.kind, "department")} for u in units.order_by("kind", "code")]
    return sorted(rows, key=lambda row: order[row["group"]])


def mobile_config(request, member) -> dict:
    """What app.js needs."""
    center = settings.LEAFLET_CONFIG.get("DEFAULT_CENTER", (30.28, 120.00))
    return {
        "member": {"id": member.pk, "name": member.name},
        "timeZone": settings.TIME_ZONE,
        "language": get_language(),
        "api": {
            "work": reverse("member_app:work"),
            "order": url_template("member_app:order"),
            "accept": url_template("dispatch:order-accept"),
            "decline": url_template("dispatch:order-decline"),
            "transitions": url_template("incidents:incident-transition"),
            "parties": url_template("incidents:incident-parties"),
            "reveal": url_template("incidents:incident-reveal"),
            "positions": reverse("positions:position-batch"),
        },
        "csrf": {"cookie": settings.CSRF_COOKIE_NAME, "header": csrf_header_name()},
        "orderStates": {value: str(label) for value, label in DispatchOrder.State.choices},
        "liveStates": list(DispatchOrder.LIVE_STATES),
        "amberSeconds": AMBER_SECONDS,
        "refreshSeconds": REFRESH_SECONDS,
        "arrivalMaxAccuracyM": ARRIVAL_MAX_ACCURACY_M,
        # The forms of the scene: the server's photo limits, the roles of a person, the transfer units.
        "photo_max_bytes": settings.PHOTO_MAX_BYTES,
        "photo_max_count": settings.PHOTO_MAX_COUNT,
        "party_roles": [{"value": value, "label": str(label)} for value, label in Party.Role.choices],
        "transfer_units": transfer_units(member),
        "transfer_groups": TRANSFER_GROUPS,
        # How long the server honours an Idempotency-Key: the outbox holds older entries for the member.
        "idempotency_key_hours": settings.IDEMPOTENCY_KEY_HOURS,
        "geo": {"keepSeconds": GEO_KEEP_SECONDS, "keepMetres": GEO_KEEP_METRES, "sendSeconds": GEO_SEND_SECONDS,
                "allowed": has_role(request.user, *POSITION_ROLES),
                "storageKey": f"gridlink.m.share.{member.pk}"},
        "map": {
            "center": [center[1], center[0]],  # [lon, lat], as every coordinate the modules get
            "zoom": settings.LEAFLET_CONFIG.get("DEFAULT_ZOOM", 13),
            "tiles": {"url": settings.TILE_URL, "attribution": settings.TILE_ATTRIBUTION} if settings.TILE_URL else None,
        },
        "socket": "/ws/member/",
        "socketMaxFrameBytes": settings.WS_MAX_FRAME_BYTES,  # a larger positions batch goes over HTTP
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
                                  *(static(path) for path in shell_static())]})


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
