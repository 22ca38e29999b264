"""The department queue (/dept/): a unit's work on a desktop or a tablet (issue 10).

The page is a shell around the unit's queue API (/api/v1/dept/, incidents/dept_api.py), the
case's transitions endpoint, which takes the unit's moves (accept, return, progress, complete), and
the unit's live channel (`ws/dept/`, dispatch.consumers.DeptConsumer), on whose every message the
queue reloads — a new hand-over, a result sent back, a part completed on the unit's behalf, a case
reopened or a deadline overdue with a banner, a sound and a system notification.
Native ES modules under static/gridlink/dept/ draw it. Everything they need — API URLs reversed
here, the unit, the time zone, the part states with their labels, the CSRF cookie and header names,
and every word in the user's language — goes through `json_script` (#dept-config), never into code.
Nothing here writes.
"""

from django.conf import settings
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from config.permissions import role_required
from config.roles import has_role
from frontend.views import csrf_header_name, url_template
from incidents.dept_api import DEPT_ROLES
from incidents.models import Handover
from incidents.selectors import DEPT_DONE_DAYS, dept_unit_of

REFRESH_SECONDS = 30
# Seconds before `accept_by` from which its countdown turns amber (as on the wall map).
AMBER_SECONDS = 10 * 60

# The buttons of a part: the short words of the offices.
BUTTONS = {
    "accept_handover": pgettext_lazy("department queue button", "Accept"),
    "return_handover": pgettext_lazy("department queue button", "Return"),
    "progress": pgettext_lazy("department queue button", "Progress"),
    "complete": pgettext_lazy("department queue button", "Complete"),
}

# What a form asks for before an action is sent (accepting asks nothing).
FORM_LABELS = {
    "return_handover": _("Why your unit returns the case"),
    "progress": _("What your unit has done so far"),
    "complete": _("Your unit's result"),
}

# What the page says after an action the server took.
DONE = {
    "accept_handover": _("Accepted: the part is now being worked on."),
    "return_handover": _("Returned to the command room."),
    "progress": _("Progress note added."),
    "complete": _("Your unit's part is completed."),
}

DEPT_TEXT = {
    "buttons": BUTTONS,
    "formLabels": FORM_LABELS,
    "done": DONE,
    "send": _("Send"),
    "cancel": _("Cancel"),
    "sending": _("Sending…"),
    "empty": {
        "waiting": _("No case waits for your unit."),
        "working": _("Your unit works on no case now."),
        "done": _("Nothing done in the last 7 days."),
    },
    "acceptBy": _("Accept by %(time)s"),
    "reportBy": _("Report the result by %(time)s"),
    "noDeadline": _("No deadline"),
    "dueIn": _("%(time)s left"),
    "overdueBy": _("overdue by %(time)s"),
    "overdue": _("Overdue"),
    "handedOverLabel": _("Handed over"),
    "handedOver": _("%(time)s by %(name)s"),
    "reason": _("Why it was handed over"),
    "lead": _("Lead office"),
    "major": _("Major"),
    "progress": _("Progress notes"),
    "noProgress": _("No progress noted yet."),
    "progressBy": _("%(time)s %(name)s"),
    "result": _("Result"),
    "returnReason": _("Returned because"),
    "onBehalf": _("Completed by the command room on your unit's behalf because"),
    "finished": _("%(state)s %(time)s"),
    "description": _("Description"),
    "address": _("Address"),
    "location": _("Location"),
    "otherParts": _("Other offices on this case"),
    "noOtherParts": _("No other office holds a part of this case."),
    "noActions": _("Nothing for your unit to do on this part now."),
    "select": _("Select a case in the lists to see it here."),
    "gone": _("This part is no longer in your unit's queue."),
    "updated": _("Updated %(time)s"),
    "loadError": _("The queue could not be loaded; retrying."),
    "failed": _("The request failed; try again."),
    "signedOut": _("You are signed out: log in again."),
    "needText": _("Write something first."),
    "case": _("Case %(number)s"),
    # The unit's live channel (ws/dept/): its state, and what the staff are told of at once.
    "live": {
        "connecting": _("Connecting…"),
        "live": _("Live: new hand-overs arrive at once"),
        "reconnecting": _("Reconnecting…"),
        "signedOut": _("You are signed out: log in again."),
    },
    "news": {
        "handover": _("New hand-over: case %(number)s"),
        "sent_back": _("The command room sent your result back: case %(number)s"),
        "on_behalf": _("The command room completed your unit's part: case %(number)s"),
        "reopened": _("Reopened: your unit's part of case %(number)s is open again"),
        "overdue": _("Overdue: case %(number)s"),
    },
    "newsShow": _("Show"),
    "newsClose": _("Got it"),
    "notifyEnable": _("Allow notifications"),
}

# The unit's live channel (dispatch.consumers.DeptConsumer).
LIVE_SOCKET = "/ws/dept/"


def dept_config(unit) -> dict:
    """What app.js needs."""
    return {
        "unit": {"id": unit.pk, "name": unit.name},
        "timeZone": settings.TIME_ZONE,
        "language": get_language(),
        "api": {
            "queue": reverse("dept_api:queue"),
            "part": url_template("dept_api:part"),
            "transitions": url_template("incidents:incident-transition"),
        },
        "csrf": {"cookie": settings.CSRF_COOKIE_NAME, "header": csrf_header_name()},
        "partStates": {value: str(label) for value, label in Handover.State.choices},
        "live": {"path": LIVE_SOCKET},
        "refreshSeconds": REFRESH_SECONDS,
        "amberSeconds": AMBER_SECONDS,
        "doneDays": DEPT_DONE_DAYS,
        "text": DEPT_TEXT,
    }


@role_required()
def dept_view(request):
    """The department queue. A user who is not the staff of a unit (a department role or a
    responder, linked to an active member) gets a page saying what the queue is for (403)."""
    unit = dept_unit_of(request.user) if has_role(request.user, *DEPT_ROLES) else None
    if unit is None:
        return render(request, "frontend/dept/not_unit.html", status=403)
    get_token(request)  # the CSRF cookie the modules send back with every action
    return render(request, "frontend/dept/queue.html", {"unit": unit, "dept_config": dept_config(unit)})
