"""The incident page's two panels, as handed to incident.js and recommend.js in the page's
json_script (#incident-config, built by `frontend.console_views.incident_view`): their API URLs
and their words in the user's language, under `config.sla` / `config.recommend` and
`config.text.sla` / `config.text.recommend`. Nothing of it is read from the page's markup.

URLs with an order's or alarm's id are reversed with 0 in its place (incident.js puts the id in
place of "/0/"); the recommendation's with "{id}" (core/http.js `url`)."""

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from frontend.views import url_template

# The SLA panel (issue 4): orders answered, the escalation level, the SLA clock's alarms and
# whether each person was reached (issue 10).
SLA_TEXT = {
    "remind": _("Remind again"),
    "unconfirmed": _("%(count)s not confirmed"),
    "remindedAt": _("Reminded %(time)s"),
    "standDown": _("Stand down"),
    "stoodDown": _("Stood down: %(reason)s"),
    "replacements": _("Replacements"),
    "inPlaceOfDeclined": _("%(name)s declined: send in their place"),
    "inPlaceOfOverdue": _("%(name)s is late: send in addition"),
    "send": _("Send %(name)s"),
    "eta": _("about %(minutes)s min away"),
    "noReplacement": _("Nobody of the same rule or force is available: raise the level."),
    "level": _("Escalation level %(level)s"),
    "raise": _("Raise the level"),
    "toLevel": _("New level"),
    "accept": _("Accept"),
    "decline": _("Decline"),
    "reason": _("Reason"),
    "arriveBy": _("Arrive by %(time)s"),
    "far": _("Arrived %(distance)s m from the scene"),
    "overdue": _("Overdue"),
    "alarms": _("Alarms"),
    "noAlarms": _("No alarms"),
    "told": _("Told: %(names)s"),
    "nobodyTold": _("Nobody on duty was told: phone them."),
    "toldAt": _("Told %(time)s"),
    "seenAt": _("seen %(time)s"),
    "notSeen": _("not seen"),
    "smsSent": _("SMS sent %(time)s"),
    "smsRetrying": _("SMS retrying (%(attempts)s attempts)"),
    "smsSkipped": _("no phone to send an SMS to"),
    "snoozedUntil": _("Snoozed until %(time)s"),
    "acknowledge": _("Acknowledge"),
    "snooze": _("Snooze"),
    "minutes": _("Minutes"),
    "note": _("Note"),
    "cancel": _("Cancel"),
    "failed": _("The request failed; try again."),
}

# The dispatch recommendation at the top of the dispatch form (recommend.js).
RECOMMEND_TEXT = {
    "title": _("Recommended responders"),
    "grid": _("Grid"),
    "level": _("Escalation level %(level)s"),
    "backups": _("On the border; backups from:"),
    "eta": _("%(minutes)s min away"),
    "noRoute": _("no route"),
    "km": _("%(km)s km"),
    "m": _("%(m)s m"),
    "deadline": _("deadline %(minutes)s min"),
    "noDeadline": _("no arrival deadline at this hour"),
    "inTime": _("in time"),
    "late": _("too late"),
    "onDuty": _("on duty"),
    "offDuty": _("off duty"),
    "load": _("load %(load)s/%(limit)s"),
    "includeOffDuty": _("include although off duty"),
    "others": _("Other members"),
    "none": _("No responsibility rule names anybody: choose from the other members."),
    "loading": _("Loading…"),
    "failed": _("The request failed; try again."),
}


def sla_urls(incident_id: int) -> dict[str, str]:
    """The SLA panel's API: the incident's dispatch summary and level, and the order and alarm
    answers (with 0 for the id)."""
    return {
        "api": reverse("dispatch:incident-dispatch", args=[incident_id]),
        "levelUrl": reverse("dispatch:incident-level", args=[incident_id]),
        "acceptUrl": reverse("dispatch:order-accept", args=[0]),
        "declineUrl": reverse("dispatch:order-decline", args=[0]),
        "standDownUrl": reverse("dispatch:order-stand-down", args=[0]),
        "replaceUrl": reverse("dispatch:order-replace", args=[0]),
        "remindUrl": reverse("dispatch:order-remind", args=[0]),
        "acknowledgeUrl": reverse("dispatch:alarm-acknowledge", args=[0]),
        "snoozeUrl": reverse("dispatch:alarm-snooze", args=[0]),
    }


def recommend_urls() -> dict[str, str]:
    """The recommendation's API, "{id}" for the incident."""
    return {"url": url_template("incidents:incident-recommendations")}


def panels_text() -> dict[str, Any]:
    return {"sla": SLA_TEXT, "recommend": RECOMMEND_TEXT}
