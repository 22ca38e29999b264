"""The governance reports' pages (/reports/, issue 14): the index and what every report page shares.

Each report's page is a server-rendered table page (it must print cleanly on A4 and read without
JavaScript) with its numbers from the same selectors as its API (/api/v1/reports/) and its Excel
file; charts and maps are drawn by native ES modules under static/gridlink/reports/ from data in
`json_script`. Every page extends frontend/reports/base.html: the reports' navigation, the period
chooser, the Excel and print buttons, and the print stylesheet (static/gridlink/reports/print.css).

Only the report roles (reports.access.REPORT_ROLES) open them; 403 for the others.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from config.permissions import role_required
from geo.tenancy import request_subdistrict
from reports.access import REPORT_ROLES

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class ReportPage:
    name: str  # the URL name under reports_page:
    title: "StrOrPromise"  # lazy: translated when shown
    summary: "StrOrPromise"


# The reports, in the order of the navigation. A report's module adds its URL name to its urls
# file; the index and the navigation list only those that exist.
REPORT_PAGES = (
    ReportPage("ranking", _("Monthly ranking"), _("Grid leaders ranked by arrival, timeliness and disposal; the red flag and the red and black list.")),
    ReportPage("compliance", _("Compliance"), _("Per person and per grid: GPS-verified arrivals, late arrivals, flagged distances.")),
    ReportPage("agenda", _("Weekly meeting"), _("Hot spots, cases handed over on site, major unstable factors, assigned tasks and rectifications.")),
    ReportPage("interviews", _("Interviews"), _("Accountability interviews and their rectification deadlines.")),
    ReportPage("trends", _("Year over year"), _("Case counts by statistic group against last year and the zero-growth target; satisfaction.")),
    ReportPage("assessment", _("Year-end assessment"), _("Departments and villages/communities on the year's indicators.")),
)


def report_pages() -> list[dict]:
    pages = []
    for page in REPORT_PAGES:
        try:
            url = reverse(f"reports_page:{page.name}")
        except NoReverseMatch:  # a report not (yet) routed is left out of the navigation
            continue
        pages.append({"name": page.name, "title": page.title, "summary": page.summary, "url": url})
    return pages


def report_subdistrict(request):
    """The sub-district of `?subdistrict=<code>` among the user's (geo/tenancy.py), or 404."""
    return request_subdistrict(request)


def report_context(request, current: str, **more) -> dict:
    """What frontend/reports/base.html needs: the navigation with the current page, the sub-district."""
    return {"report_pages": report_pages(), "report_current": current,
            "subdistrict": more.pop("subdistrict", None) or report_subdistrict(request), **more}


@role_required(*REPORT_ROLES)
def index_view(request):
    return render(request, "frontend/reports/index.html", report_context(request, "index"))
