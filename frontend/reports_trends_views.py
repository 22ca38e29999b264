"""The year-over-year page (/reports/trends/?year=YYYY) and its Excel file, and what the maps need
for the hot-spot layer (`heat_config`, handed to static/gridlink/heat.js by the overview map and the
wall map).

The page is server-rendered tables from the same selector as the API (reports/trends.py): the
statistic groups' year to date, the months, the grids, satisfaction by month and by unit — readable
and printable without JavaScript. The charts (ECharts) and the grids' choropleth (Leaflet) are drawn
by the native module static/gridlink/reports/trends.js from `json_script`. Report roles only (403
for the others); a bad `?year=` is the page with the chooser and the message (400).
"""

from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from config.errors import DomainError
from config.permissions import role_required
from config.roles import has_role
from frontend.reports_views import report_context, report_subdistrict
from reports import trends
from reports.access import REPORT_ROLES
from reports.excel import workbook_response
from reports.periods import year_param


def _query(request, **more) -> str:
    params = {k: v for k, v in {"subdistrict": request.GET.get("subdistrict") or "", **more}.items() if v}
    return f"?{urlencode(params)}" if params else ""


def _change(value: trends.Change) -> dict:
    return {"this": value.this, "last": value.last, "change": value.change, "new": value.new,
            "grade": value.grade, "text": value.text}


def _script_config(request, report: trends.Trends) -> dict:
    """What trends.js draws: the groups by month, the grids' values by code, satisfaction by month."""
    grids_url = reverse("geo:grids") + _query(request, version=str(report.grid_version or ""))
    return {
        "echarts": static("vendor/echarts/echarts.esm.min.js"),
        "leaflet": static("vendor/leaflet/leaflet-src.esm.js"),
        "gridsUrl": grids_url if report.grid_version else None,
        "year": report.period.key,
        "lastYear": str(report.period.first_day.year - 1),
        "groups": [{"code": g.code, "name": g.name, "ytd": _change(g.ytd),
                    "months": [{"key": m.key, "state": m.state, **_change(m.value)} for m in g.months]}
                   for g in report.groups],
        "grids": {g.code: {"name": g.name, "community": g.community, **_change(g.value)} for g in report.grids},
        "satisfaction": [{"key": m.key, "state": m.state, "rate": m.value.rate if m.value else None,
                          "lastRate": m.last.rate} for m in report.satisfaction_months],
        "text": {
            "change": _("Change"),
            "noGrids": _("No grid version in force: the map cannot be drawn."),
            "mapFailed": _("The map could not be drawn; the table lists every grid."),
            "chartFailed": _("The charts could not be drawn; the tables hold every number."),
            "legend": {"down": _("down 10 percent or more"), "flat": _("within the target"),
                       "fair": _("up to 10 percent over"), "poor": _("more than 10 percent over, or new"),
                       "none": _("no case in either year")},
        },
    }


def _bad_year(request, subdistrict, exc: DomainError):
    context = report_context(request, "trends", subdistrict=subdistrict, period_error=str(exc.message),
                             year_value=(request.GET.get("year") or "")[:8])
    return render(request, "frontend/reports/trends.html", context, status=exc.http_status)


@role_required(*REPORT_ROLES)
def trends_view(request):
    subdistrict = report_subdistrict(request)
    try:
        period = year_param(request.GET.get("year"))
        report = trends.year_over_year(subdistrict=subdistrict, period=period)
    except DomainError as exc:
        return _bad_year(request, subdistrict, exc)
    year = period.first_day.year
    context = report_context(
        request, "trends", subdistrict=subdistrict, period=period, report=report, year_value=period.key,
        running=report.as_of < period.end,
        previous_year=str(year - 1), next_year=str(year + 1) if year + 1 <= timezone.localdate().year else None,
        excel_url=reverse("reports_page:trends-excel") + _query(request, year=period.key),
        script_config=_script_config(request, report), parameters=report.parameters,
        growth_fair_pct=round(trends.GROWTH_FAIR * 100), satisfaction_good_pct=round(trends.SATISFACTION_GOOD * 100),
        satisfaction_fair_pct=round(trends.SATISFACTION_FAIR * 100),
        grids_by_growth=sorted(report.grids, key=_growth_order),
    )
    return render(request, "frontend/reports/trends.html", context)


def _growth_order(grid: trends.GridTrend):
    """Worst first: new cases, then the largest growth, then the most cases; by code at the end."""
    value = grid.value
    return (not value.new, -(value.change if value.change is not None else 0), -(value.this or 0), grid.code)


@role_required(*REPORT_ROLES)
def trends_excel_view(request):
    subdistrict = report_subdistrict(request)
    try:
        period = year_param(request.GET.get("year"))
        report = trends.year_over_year(subdistrict=subdistrict, period=period)
    except DomainError as exc:
        return _bad_year(request, subdistrict, exc)
    filename = _("year-over-year-%(year)s.xlsx") % {"year": period.key}
    return workbook_response(filename, trends.trends_sheets(report))


def heat_config(request, subdistrict) -> dict | None:
    """The hot-spot layer's configuration for a map page, or None for the roles that may not read it
    (and without a sub-district): the module, the API, the day choices, the categories, the words."""
    if subdistrict is None or not has_role(request.user, *trends.HEAT_ROLES):
        return None
    return {
        "module": static("gridlink/heat.js"),
        "url": reverse("reports:heat") + "?" + urlencode({"subdistrict": subdistrict.code}),
        "days": list(trends.HEAT_DAYS),
        "defaultDays": trends.HEAT_DEFAULT_DAYS,
        "categories": trends.heat_categories(),
        "text": {key: str(value) for key, value in trends.HEAT_TEXT.items()},
    }
