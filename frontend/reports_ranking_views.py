"""The monthly ranking's page (/reports/ranking/), the compliance page (/reports/compliance/), the
year-end assessment (/reports/assessment/) and their Excel files.

Server-rendered tables from the same selectors as the API (reports/ranking.py, compliance.py,
assessment.py): the ranking page draws the board the API answers — the month's publication when
there is one (as published, with how many orders changed since), else the board computed now — and
its Excel file is built from that same board. The "Publish" button (governance roles, a month that
has ended and is not published) is static/gridlink/reports/ranking-publish.js, posting to the API
with the CSRF token and an Idempotency-Key. Report roles only (403 for the others) — but the
compliance page and its Excel file also for a unit's office, its own unit only (see below); a bad
period or unit is the page with its chooser and the message (400); another sub-district's unit: 404.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from config.errors import DomainError
from config.permissions import role_required
from config.roles import has_role
from dispatch.models import Unit
from frontend.reports_views import report_context, report_pages, report_subdistrict
from frontend.views import csrf_header_name
from reports import assessment, compliance, ranking
from reports.access import GOVERNANCE_ROLES, REPORT_ROLES, compliance_own_unit
from reports.excel import workbook_response
from reports.periods import month_param, year_param


def _query(request, **more) -> str:
    params = {k: v for k, v in {"subdistrict": request.GET.get("subdistrict") or "", **more}.items() if v}
    return f"?{urlencode(params)}" if params else ""


def _months_around(request, period) -> dict:
    """The chooser's neighbours: the month before, and the month after unless it has not begun."""
    previous = period.previous()
    nxt = period.end.date()
    today = timezone.localdate()
    return {"previous_url": _query(request, month=previous.key),
            "next_url": _query(request, month=f"{nxt.year:04d}-{nxt.month:02d}") if nxt <= today else ""}


def _bad_period(request, template: str, current: str, subdistrict, exc: DomainError, **more):
    context = report_context(request, current, subdistrict=subdistrict, period_error=str(exc.message), **more)
    return render(request, template, context, status=exc.http_status)


def _published_label(shown: ranking.RankingShown) -> str:
    if not shown.published:
        return ""
    return _("published %(at)s by %(who)s") % {
        "at": timezone.localtime(shown.published_at).strftime("%Y-%m-%d %H:%M"), "who": shown.published_by or "—"}


# --- the monthly ranking -----------------------------------------------------------------------------

def _ranking(request, subdistrict):
    period = month_param(request.GET.get("month"))
    return period, ranking.ranking_shown(subdistrict=subdistrict, period=period)


@role_required(*REPORT_ROLES)
def ranking_view(request):
    subdistrict = report_subdistrict(request)
    try:
        period, shown = _ranking(request, subdistrict)
    except DomainError as exc:
        return _bad_period(request, "frontend/reports/ranking.html", "ranking", subdistrict, exc,
                           month_value=(request.GET.get("month") or "")[:10])
    board = shown.board
    may_publish = has_role(request.user, *GOVERNANCE_ROLES)
    publish_config = {
        "url": reverse("reports:ranking-publish") + _query(request),
        "month": period.key,
        "csrf": {"cookie": settings.CSRF_COOKIE_NAME, "header": csrf_header_name()},
        "text": {"confirm": _("Publishing %(month)s freezes it: once published it is never changed. Click again to "
                               "publish.") % {"month": period.key},
                 "confirmButton": _("Confirm: publish %(month)s") % {"month": period.key},
                 "publishing": _("Publishing…"), "failed": _("The ranking could not be published."),
                 "done": _("Published. Reloading…")},
    } if may_publish and shown.publishable else None
    context = report_context(
        request, "ranking", subdistrict=subdistrict, period=period, shown=shown, board=board,
        tables=board["tables"], month_value=period.key, published_label=_published_label(shown),
        excel_url=reverse("reports_page:ranking-excel") + _query(request, month=period.key),
        may_publish=may_publish, publish_config=publish_config,
        definitions=ranking.definitions_text(board), **_months_around(request, period),
        weights_pct={k: round(v * 100) for k, v in board["weights"].items()},
        thresholds_pct={"rate_good": round(board["thresholds"]["rate_good"] * 100),
                        "rate_fair": round(board["thresholds"]["rate_fair"] * 100),
                        "score_good": round(board["thresholds"]["score_good"]),
                        "score_fair": round(board["thresholds"]["score_fair"])},
        group_tables=[("communities", _("By village/community"), _("Village/community")),
                      ("departments", _("By department"), _("Department")),
                      ("units", _("By unit"), _("Unit"))],
    )
    return render(request, "frontend/reports/ranking.html", context)


@role_required(*REPORT_ROLES)
def ranking_excel_view(request):
    subdistrict = report_subdistrict(request)
    try:
        period, shown = _ranking(request, subdistrict)
    except DomainError as exc:
        return _bad_period(request, "frontend/reports/ranking.html", "ranking", subdistrict, exc)
    filename = _("ranking-%(month)s.xlsx") % {"month": period.key}
    return workbook_response(filename, ranking.ranking_sheets(shown.board, published=_published_label(shown)))


# --- compliance ---------------------------------------------------------------------------------------
#
# Read by the report roles (every unit of the sub-district, with the unit picker) and by a unit's
# office (reports.access.compliance_own_unit): its own unit, fixed — no picker, `?unit=` of another
# unit or `?subdistrict=` of another sub-district is 404 — and of the reports' navigation only this page.

def _compliance_reader(request) -> Unit | None:
    """None for the report roles (every unit); the own unit of a unit's office; 403 for the others."""
    if has_role(request.user, *REPORT_ROLES):
        return None
    own = compliance_own_unit(request.user)
    if own is None:
        raise PermissionDenied
    return own


def _compliance_subdistrict(request, own: Unit | None):
    if own is None:
        return report_subdistrict(request)
    code = request.GET.get("subdistrict") or None
    if code is not None and code != own.subdistrict.code:
        raise Http404
    return own.subdistrict


def _compliance(request, subdistrict, own: Unit | None):
    period = month_param(request.GET.get("month"))
    unit = (compliance.unit_param(request.GET.get("unit"), subdistrict) if own is None
            else compliance.own_unit_param(request.GET.get("unit"), own))
    return period, unit, compliance.compliance_report(subdistrict=subdistrict, period=period, unit=unit)


def _compliance_scope(own: Unit | None) -> dict:
    """What the page shows besides the report: the unit picker (report roles), or the office's own
    unit fixed with only this page in the reports' navigation."""
    if own is None:
        return {}
    return {"unit": own, "unit_fixed": True, "units": [],
            "report_pages": [page for page in report_pages() if page["name"] == "compliance"]}


@role_required()
def compliance_view(request):
    own = _compliance_reader(request)
    subdistrict = _compliance_subdistrict(request, own)
    scope = _compliance_scope(own)
    units = [] if own is not None else compliance.compliance_units(subdistrict=subdistrict)
    try:
        period, unit, report = _compliance(request, subdistrict, own)
    except DomainError as exc:
        return _bad_period(request, "frontend/reports/compliance.html", "compliance", subdistrict, exc,
                           **({"units": units} | scope), month_value=(request.GET.get("month") or "")[:10])
    context = report_context(
        request, "compliance", subdistrict=subdistrict, period=period, report=report.as_dict(),
        **({"units": units, "unit": unit} | scope), month_value=period.key, **_months_around(request, period),
        excel_url=reverse("reports_page:compliance-excel") + _query(
            request, month=period.key, unit=str(unit.pk) if unit else ""),
        max_distance_m=report.max_distance_m,
    )
    return render(request, "frontend/reports/compliance.html", context)


@role_required()
def compliance_excel_view(request):
    own = _compliance_reader(request)
    subdistrict = _compliance_subdistrict(request, own)
    try:
        period, unit, report = _compliance(request, subdistrict, own)
    except DomainError as exc:
        return _bad_period(request, "frontend/reports/compliance.html", "compliance", subdistrict, exc,
                           **_compliance_scope(own))
    filename = _("compliance-%(month)s.xlsx") % {"month": period.key}
    return workbook_response(filename, compliance.compliance_sheets(report.as_dict()))


# --- the year-end assessment -------------------------------------------------------------------------

@role_required(*REPORT_ROLES)
def assessment_view(request):
    subdistrict = report_subdistrict(request)
    try:
        period = year_param(request.GET.get("year"))
    except DomainError as exc:
        return _bad_period(request, "frontend/reports/assessment.html", "assessment", subdistrict, exc,
                           year_value=(request.GET.get("year") or "")[:8])
    report = assessment.assessment_report(subdistrict=subdistrict, period=period)
    year = period.first_day.year
    context = report_context(
        request, "assessment", subdistrict=subdistrict, period=period, report=report.as_dict(),
        year_value=period.key, previous_url=_query(request, year=str(year - 1)),
        next_url=_query(request, year=str(year + 1)) if year + 1 <= timezone.localdate().year else "",
        excel_url=reverse("reports_page:assessment-excel") + _query(request, year=period.key),
    )
    return render(request, "frontend/reports/assessment.html", context)


@role_required(*REPORT_ROLES)
def assessment_excel_view(request):
    subdistrict = report_subdistrict(request)
    try:
        period = year_param(request.GET.get("year"))
    except DomainError as exc:
        return _bad_period(request, "frontend/reports/assessment.html", "assessment", subdistrict, exc)
    report = assessment.assessment_report(subdistrict=subdistrict, period=period)
    filename = _("assessment-%(year)s.xlsx") % {"year": period.key}
    return workbook_response(filename, assessment.assessment_sheets(report.as_dict()))
