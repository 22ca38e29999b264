"""The governance reports' API (/api/v1/reports/): each report's module owns its routes."""

from django.urls import include, path

app_name = "reports"
urlpatterns = [
    path("", include("reports.ranking_urls")),  # monthly ranking, compliance, year-end assessment
    path("", include("reports.agenda_urls")),  # weekly meeting agenda, interviews
    path("", include("reports.trends_urls")),  # year-over-year, satisfaction, heat map
]
