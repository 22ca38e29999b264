"""The weekly meeting's pages (/reports/agenda/, /reports/interviews/): server-rendered tables from
the same selectors as the API (reports/agenda.py, reports/interviews.py), their Excel files, and
the meeting's forms — a decision recorded as an assignment form, an interview, its rectification.

Reads for the report roles; the forms for the governance roles (403 for the others: the buttons
are shown only to them). A form refused by its service is shown again with the service's message
and the refusal's status (400, 404, 409); a form taken redirects (Post/Redirect/Get), keeping the
sub-district and the week. The hot issues' map is a native ES module (static/gridlink/reports/
agenda-map.js) fed through `json_script`; the tables read and print without it.
"""

from datetime import datetime, timedelta

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.errors import DomainError
from config.inputs import ascii_int
from config.permissions import role_required
from config.roles import has_role
from dispatch.models import Unit
from frontend.reports_views import report_context, report_subdistrict
from geo.models import Community
from incidents.models import Category
from reports import agenda as agenda_module
from reports import interviews
from reports.access import GOVERNANCE_ROLES, REPORT_ROLES
from reports.excel import workbook_response
from reports.periods import week_param, week_period

HOT_SPOTS_LISTED = 15  # the table's first rows; the rest fold away (all on the map and in Excel)


def _query(request, **more) -> str:
    """The query string that keeps the sub-district (and `more`)."""
    params = {k: v for k, v in {"subdistrict": request.GET.get("subdistrict") or "", **more}.items() if v}
    return f"?{urlencode(params)}" if params else ""


def _when(value: str, *, field: str, required: bool = False) -> datetime | None:
    """A `datetime-local` input ("2026-12-10T17:00") in the sub-district's time zone."""
    value = (value or "").strip()
    if not value:
        if required:
            raise DomainError(_("%(field)s is required.") % {"field": field}, code="required")
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        raise DomainError(_("%(field)s is not a date and time.") % {"field": field}, code="datetime")
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


# --- the agenda --------------------------------------------------------------------------------------

def _bad_week(request, subdistrict, exc: DomainError):
    """A malformed `?week=`: the page with the chooser and the message, 400."""
    context = report_context(request, "agenda", subdistrict=subdistrict, period_error=str(exc.message))
    return render(request, "frontend/reports/agenda.html", context, status=exc.http_status)


def _agenda_page(request, *, status: int = 200, decision_error: str = "", decision_form: dict | None = None):
    subdistrict = report_subdistrict(request)
    try:
        period = week_param(request.GET.get("week"))
    except DomainError as exc:
        return _bad_week(request, subdistrict, exc)
    agenda = agenda_module.weekly_agenda(subdistrict=subdistrict, period=period)
    can_decide = has_role(request.user, *agenda_module.DECISION_ROLES)
    week_query = _query(request, week=period.key)
    map_config = {
        "leaflet": static("vendor/leaflet/leaflet-src.esm.js"),
        "communities": reverse("geo:communities") + _query(request),
        "labelled": HOT_SPOTS_LISTED,
        "spots": [{"rank": n, "category": h.category, "count": h.count, "inWeek": h.in_week, "lat": h.lat,
                   "lon": h.lon, "radius": h.radius_m, "addresses": h.addresses[:3],
                   "cases": [{"number": c.number, "url": c.url} for c in h.cases]}
                  for n, h in enumerate(agenda.hot_spots, start=1)],
        "text": {"cases": _("%(count)s cases, %(in_week)s in the week"), "noSpots": _("No hot issue this week."),
                 "mapFailed": _("The map could not be drawn; the table lists every hot issue.")},
    }
    context = report_context(
        request, "agenda", subdistrict=subdistrict, period=period, agenda=agenda, counts=agenda.counts,
        hot_listed=agenda.hot_spots[:HOT_SPOTS_LISTED], hot_more=agenda.hot_spots[HOT_SPOTS_LISTED:],
        hot_listed_count=HOT_SPOTS_LISTED, parameters=agenda.parameters,
        previous_week=period.previous().key, next_week=_next_week(period),
        excel_url=reverse("reports_page:agenda-excel") + week_query,
        decision_url=reverse("reports_page:agenda-decision") + week_query,
        interviews_url=reverse("reports_page:interviews") + _query(request),
        can_decide=can_decide, may_govern=has_role(request.user, *GOVERNANCE_ROLES),
        choices=agenda_module.decision_choices(subdistrict=subdistrict) if can_decide else None,
        decision_error=decision_error, decision_form=decision_form or {}, map_config=map_config,
    )
    return render(request, "frontend/reports/agenda.html", context, status=status)


def _next_week(period) -> str | None:
    """The week after, unless it has not begun yet."""
    following = week_period(period.last_day + timedelta(days=1))
    return following.key if following.start <= timezone.now() else None


@role_required(*REPORT_ROLES)
def agenda_view(request):
    return _agenda_page(request)


@role_required(*REPORT_ROLES)
def agenda_excel_view(request):
    subdistrict = report_subdistrict(request)
    try:
        period = week_param(request.GET.get("week"))
    except DomainError as exc:
        return _bad_week(request, subdistrict, exc)
    agenda = agenda_module.weekly_agenda(subdistrict=subdistrict, period=period)
    filename = _("weekly-meeting-%(week)s.xlsx") % {"week": period.key}
    return workbook_response(filename, agenda_module.agenda_sheets(agenda))


@role_required(*agenda_module.DECISION_ROLES)
@require_POST
def agenda_decision_view(request):
    """Record one decision of the meeting as an assignment form (the off-site intake)."""
    subdistrict = report_subdistrict(request)
    try:
        period = week_param(request.GET.get("week"))
    except DomainError as exc:
        return _bad_week(request, subdistrict, exc)
    form = {"category": request.POST.get("category", ""), "description": request.POST.get("description", ""),
            "offices": request.POST.getlist("offices"), "deadline": request.POST.get("deadline", ""),
            "address": request.POST.get("address", "")}
    try:
        category = Category.objects.filter(code=form["category"]).first()
        if category is None:
            raise DomainError(_("Choose the category."), code="category")
        office_ids = [ascii_int(v, minimum=1) for v in form["offices"]]
        if None in office_ids:
            raise DomainError(_("Choose the responsible offices from the list."), code="offices")
        offices = list(Unit.objects.filter(pk__in=office_ids, subdistrict=subdistrict))
        if len(offices) != len(set(office_ids)):
            raise DomainError(_("Choose the responsible offices from the list."), code="offices")
        incident = agenda_module.meeting_decision_record(
            actor=request.user, subdistrict=subdistrict, period=period, category=category,
            description=form["description"], offices=offices,
            deadline=_when(form["deadline"], field=_("Deadline")), address=form["address"])
    except DomainError as exc:
        return _agenda_page(request, status=exc.http_status, decision_error=str(exc.message), decision_form=form)
    messages.success(request, _("Decision recorded as assignment form %(number)s.") % {"number": incident.number})
    return redirect(reverse("reports_page:agenda") + _query(request, week=period.key) + "#decisions")


# --- interviews --------------------------------------------------------------------------------------

def _interviews_page(request, *, status: int = 200, error: str = "", form: dict | None = None):
    subdistrict = report_subdistrict(request)
    state = request.GET.get("state") or None
    if state is not None and state not in interviews.STATES:
        state = None  # an unknown filter shows all (the API refuses it)
    rows = interviews.interview_list(subdistrict=subdistrict, state=state)
    may_govern = has_role(request.user, *GOVERNANCE_ROLES)
    units, communities = interviews.interview_targets(subdistrict=subdistrict) if may_govern else ([], [])
    labels = interviews.state_labels()
    targets = {"communities": [{"value": f"community:{c.pk}", "name": c.name} for c in communities],
               "units": [{"value": f"unit:{u.pk}", "name": u.name} for u in units]}
    context = report_context(
        request, "interviews", subdistrict=subdistrict, rows=rows, state=state,
        state_label=labels[state] if state else "", states=[(s, labels[s]) for s in interviews.STATES],
        may_govern=may_govern, targets=targets, error=error, form=form or {}, query=_query(request),
        excel_url=reverse("reports_page:interviews-excel") + _query(request, state=state or ""),
        new_url=reverse("reports_page:interview-new") + _query(request),
        subdistrict_param=request.GET.get("subdistrict") or "",
    )
    return render(request, "frontend/reports/interviews.html", context, status=status)


@role_required(*REPORT_ROLES)
def interviews_view(request):
    return _interviews_page(request)


@role_required(*REPORT_ROLES)
def interviews_excel_view(request):
    subdistrict = report_subdistrict(request)
    state = request.GET.get("state") or None
    rows = interviews.interview_list(subdistrict=subdistrict, state=state if state in interviews.STATES else None)
    return workbook_response(_("interviews.xlsx"), interviews.interview_sheets(rows, subdistrict=subdistrict))


def _target(value: str, subdistrict) -> tuple[Unit | None, Community | None]:
    """"unit:<id>" or "community:<id>" of the sub-district (400 otherwise)."""
    kind, _sep, raw = (value or "").partition(":")
    pk = ascii_int(raw, minimum=1)
    if kind == "unit" and pk is not None:
        unit = Unit.objects.filter(pk=pk, subdistrict=subdistrict).first()
        if unit is not None:
            return unit, None
    if kind == "community" and pk is not None:
        community = Community.objects.defer("boundary").filter(pk=pk, subdistrict=subdistrict).first()
        if community is not None:
            return None, community
    raise DomainError(_("Choose the unit or the village/community interviewed from the list."), code="target")


@role_required(*GOVERNANCE_ROLES)
@require_POST
def interview_new_view(request):
    subdistrict = report_subdistrict(request)
    form = {k: request.POST.get(k, "") for k in ("target", "held_at", "reason", "findings", "requirements",
                                                  "deadline")}
    try:
        unit, community = _target(form["target"], subdistrict)
        interview = interviews.interview_record(
            actor=request.user, subdistrict=subdistrict, unit=unit, community=community,
            held_at=_when(form["held_at"], field=_("Held at")), reason=form["reason"], findings=form["findings"],
            requirements=form["requirements"], deadline=_when(form["deadline"], field=_("Rectify by"), required=True))
    except DomainError as exc:
        return _interviews_page(request, status=exc.http_status, error=str(exc.message), form=form)
    messages.success(request, _("Interview recorded."))
    return redirect(reverse("reports_page:interview", args=[interview.pk]) + _query(request))


def _interview_page(request, interview_id: int, *, status: int = 200, error: str = "", form: dict | None = None):
    subdistrict = report_subdistrict(request)
    interview = interviews.interview_get(subdistrict=subdistrict, interview_id=interview_id)
    if interview is None:
        raise Http404
    context = report_context(
        request, "interviews", subdistrict=subdistrict, interview=interview,
        target=interviews.target_name(interview), labels=interviews.state_labels(),
        may_govern=has_role(request.user, *GOVERNANCE_ROLES), error=error, form=form or {},
        list_url=reverse("reports_page:interviews") + _query(request),
        rectify_url=reverse("reports_page:interview-rectify", args=[interview.pk]) + _query(request),
        told=(interview.overdue_notified or {}).get("told", []),
        skipped=(interview.overdue_notified or {}).get("skipped", []),
    )
    return render(request, "frontend/reports/interview_detail.html", context, status=status)


@role_required(*REPORT_ROLES)
def interview_view(request, interview_id: int):
    return _interview_page(request, interview_id)


@role_required(*GOVERNANCE_ROLES)
@require_POST
def interview_rectify_view(request, interview_id: int):
    subdistrict = report_subdistrict(request)
    form = {"note": request.POST.get("note", ""), "rectified_at": request.POST.get("rectified_at", "")}
    try:
        interviews.interview_rectify(actor=request.user, subdistrict=subdistrict, interview_id=interview_id,
                                     note=form["note"],
                                     rectified_at=_when(form["rectified_at"], field=_("Rectified at")))
    except DomainError as exc:
        if exc.http_status == 404:
            raise Http404 from None
        return _interview_page(request, interview_id, status=exc.http_status, error=str(exc.message), form=form)
    messages.success(request, _("Rectification recorded."))
    return redirect(reverse("reports_page:interview", args=[interview_id]) + _query(request))
