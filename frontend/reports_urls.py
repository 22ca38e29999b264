"""The governance reports' pages (/reports/): an index, then each report's own routes."""

from django.urls import include, path

from frontend import reports_views

app_name = "reports_page"
urlpatterns = [
    path("", reports_views.index_view, name="index"),
    path("", include("frontend.reports_ranking_urls")),
    path("", include("frontend.reports_agenda_urls")),
    path("", include("frontend.reports_trends_urls")),
]
