"""The call-taker / dispatcher console and the incident page.

Both pages are shells around the REST API (/api/v1/): the console's forms and queues post and
poll it from the console's modules (static/gridlink/console/app.js); the incident page is rendered
here (autoescaped templates) and its action buttons come from the detail API's `actions`. Everything the scripts need — API URLs,
map layers, choice lists, labels in the user's language — is handed over through `json_script`.
Reads go through selectors; nothing here writes.
"""

from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from config.permissions import role_required
from config.roles import COMMAND_ROLES, REVEAL_ROLES, UserRole, has_role
from dispatch.models import DispatchOrder, Unit
from frontend.incident_page import panels_text, recommend_urls, sla_urls
from frontend.views import map_config, url_template
from geo.tenancy import request_subdistrict
from incidents.models import CallbackTask, Category, Channel, Handover, Incident
from incidents.selectors import contact_reveal_allowed, incident_detail

CONSOLE_ROLES = (UserRole.CALL_TAKER, UserRole.DISPATCHER, UserRole.COMMAND_ROOM)

# Short words of the console and the incident page, handed to the scripts. Model and flow
# labels are reused where they fit (capitalised for English), so that few new words need a
# translation.
TEXT = {
    "police": capfirst(_("police-type")),
    "nonPolice": _("Non-police"),
    "major": capfirst(_("major incident")),
    "suggested": _("Suggested"),
    "grid": capfirst(_("grid")),
    "community": _("Community"),
    "outside": capfirst(_("outside jurisdiction")),
    "noGrid": _("No grid at this point"),
    "pinHint": _("Click the map or search an address."),
    "noMatches": _("No matching address"),
    "linkTo": _("Link to this case"),
    "created": _("Case %(number)s created"),
    "linked": _("Report added to case %(number)s"),
    "failed": _("The request failed; try again."),
    "emptyQueue": _("No cases"),
    "placeOnMap": _("Place on map"),
    "setLocation": _("Set location"),
    "clickMapToPlace": _("Click the map where case %(number)s happened."),
    "reached": capfirst(_("called back")),
    "unreachable": capfirst(_("unreachable")),
    "reopen": _("Reopen"),
    "note": _("Note"),
    "record": _("Record"),
    "revealCall": _("Reveal the number"),
    "cancel": _("Cancel"),
    "members": _("Members"),
    "unit": _("Unit"),
    "method": capfirst(_("instruction method")),
    "text": _("Text"),
    "lead": capfirst(_("lead unit")),
    "reason": _("Reason"),
    "allOffices": _("All offices"),
    "loading": _("Loading…"),
    "choose": _("Choose…"),
    "updated": _("Updated %(time)s"),
}

# The console forms' fields by their API names, as a refusal's summary names them
# ("category: required"); the scripts read no text from the template.
FIELD_LABELS = {
    "channel": capfirst(_("channel")),
    "caller_phone": _("Caller phone"),
    "caller_name": _("Caller name"),
    "description": _("Description"),
    "address": _("Address"),
    "location": capfirst(_("location")),
    "category": capfirst(_("category")),
    "major": capfirst(_("major incident")),
    "offices": capfirst(_("units")),
    "deadline": capfirst(_("deadline")),
    "state": capfirst(_("state")),
    "satisfaction": capfirst(_("satisfaction")),
    "note": _("Note"),
    "reopen": _("Reopen"),
}


def _category_list() -> list[dict]:
    return [
        {"code": c.code, "name": c.display_name(), "police": c.is_police, "major": c.major_by_default}
        for c in Category.objects.order_by("-is_police", "sort_order", "code")
    ]


def _channel_list(kind: str) -> list[dict]:
    return [
        {"code": c.code, "name": c.name, "phone": c.phone}
        for c in Channel.objects.filter(kind=kind, active=True).order_by("sort_order", "code")
    ]


def _unit_list(subdistrict) -> list[dict]:
    if subdistrict is None:
        return []
    return [
        {"id": u.pk, "name": u.name, "kind": u.get_kind_display()}
        for u in Unit.objects.filter(subdistrict=subdistrict).order_by("kind", "code")
    ]


def _api_urls() -> dict:
    return {
        "incidents": reverse("incidents:incidents"),
        "incident": url_template("incidents:incident-detail"),
        "transitions": url_template("incidents:incident-transition"),
        "locateIncident": url_template("incidents:incident-locate"),
        "duplicates": reverse("incidents:duplicates"),
        "suggest": reverse("incidents:category-suggest"),
        "gazetteer": reverse("incidents:gazetteer"),
        "locate": reverse("incidents:locate"),
        "callbacks": reverse("incidents:callbacks"),
        "callbackComplete": url_template("incidents:callback-complete"),
        "reveal": url_template("incidents:party-reveal"),
        "revealContacts": url_template("incidents:incident-reveal"),
        "members": reverse("dispatch:members"),
    }


def _page_urls() -> dict:
    return {"incident": url_template("console:incident")}


@role_required(*CONSOLE_ROLES)
def console_view(request):
    """The console: hotline intake, live queues, call-backs and assignment forms around a map."""
    subdistrict = request_subdistrict(request, required=False)
    joint = _channel_list(Channel.Kind.JOINT_ASSIGNMENT)
    config = {
        "map": map_config(request, subdistrict),
        "api": _api_urls(),
        "pages": _page_urls(),
        "subdistrict": subdistrict.code if subdistrict else None,
        "hotlines": _channel_list(Channel.Kind.HOTLINE),
        "jointChannel": joint[0]["code"] if joint else None,
        "categories": _category_list(),
        "units": _unit_list(subdistrict),
        # The statuses, their groups and the time zone are the page's shared data (base.html's
        # #gridlink-shared), not repeated here.
        "satisfaction": dict(CallbackTask.Satisfaction.choices),
        "can": {"callbacks": has_role(request.user, *COMMAND_ROLES)},
        "pollSeconds": 10,
        "text": {**TEXT, "fields": FIELD_LABELS},
    }
    return render(request, "frontend/console.html", {"subdistrict": subdistrict, "console_config": config})


def _transfer_request(incident: Incident) -> dict | None:
    ask = incident.transfer_request_open
    if ask is None:
        return None
    return {"unit": (ask.data or {}).get("unit"), "reason": ask.note}


@role_required()
def incident_view(request, incident_id: int):
    """One case: its facts, timeline, people, hand-overs and orders; actions from the API.
    A case the user may not see is a 404 (not a 403), so its existence is not confirmed."""
    incident: Incident | None = incident_detail(user=request.user, incident_id=incident_id)
    if incident is None:
        raise Http404
    events = list(incident.events.all())
    handovers = list(incident.handovers.all())
    orders = list(incident.orders.all())
    channels = {incident.channel.pk: incident.channel}
    for report in incident.reports.all():
        channels.setdefault(report.channel.pk, report.channel)
    pending_units = [{"id": h.unit_id, "name": h.unit.name} for h in handovers
                     if h.state == Handover.State.PENDING]
    # The offices' parts: each with its two deadlines, marked when passed while the part is still
    # waiting for its decision (accept_by) or its result (deadline).
    now = timezone.now()
    for h in handovers:
        h.accept_overdue = h.state == Handover.State.PENDING and h.accept_by is not None and h.accept_by < now  # type: ignore[attr-defined]  # for the template
        h.report_overdue = h.state == Handover.State.ACCEPTED and h.deadline is not None and h.deadline < now  # type: ignore[attr-defined]  # for the template
    accepted_units = [{"id": h.unit_id, "name": h.unit.name} for h in handovers
                      if h.state == Handover.State.ACCEPTED]
    completed_units = [{"id": h.unit_id, "name": h.unit.name} for h in handovers
                       if h.state == Handover.State.COMPLETED]
    live_members = [{"id": o.member_id, "name": o.member.name, "unit": o.member.unit.name} for o in orders
                    if o.state in DispatchOrder.LIVE_STATES]
    location = [incident.location.x, incident.location.y] if incident.location else None
    config = {
        "incident": incident.pk,
        "map": map_config(request, incident.subdistrict),
        "api": _api_urls(),
        "location": location,
        "units": _unit_list(incident.subdistrict),
        "methods": dict(DispatchOrder.Method.choices),
        "pendingUnits": pending_units,
        "acceptedUnits": accepted_units,
        "completedUnits": completed_units,
        # The command room decides and completes for a named office; an office only for itself.
        "can": {"command": has_role(request.user, *COMMAND_ROLES)},
        "liveMembers": live_members,
        # A responder's open request for a transfer: the transfer form opens with these filled in.
        "transferRequest": _transfer_request(incident),
        # The SLA panel's and the recommendation's APIs; their words under text.sla / text.recommend.
        "sla": sla_urls(incident.pk),
        "recommend": recommend_urls(),
        "text": {**TEXT, **panels_text()},
    }
    context = {
        "incident": incident,
        "category_name": incident.category.display_name(),
        "events": events,
        "handovers": handovers,
        "returns": sum(1 for h in handovers if h.state == Handover.State.RETURNED),
        "orders": orders,
        "channels": list(channels.values()),
        "reports": list(incident.reports.all()),
        "parties": list(incident.parties.all()),
        "callbacks": list(incident.callbacks.all()),
        "deliveries": list(incident.deliveries.all()),
        "can_reveal": has_role(request.user, *REVEAL_ROLES),
        # Names and phones of callers and parties are masked; some may reveal them (logged).
        "can_reveal_contacts": contact_reveal_allowed(user=request.user, incident=incident),
        "is_console_user": has_role(request.user, *CONSOLE_ROLES),
        "incident_config": config,
    }
    return render(request, "frontend/incident.html", context)
