"""Pages of the year-over-year report (/reports/trends/) and its Excel file."""

from django.urls import path

from frontend import reports_trends_views as views

urlpatterns = [
    path("trends/", views.trends_view, name="trends"),
    path("trends/excel/", views.trends_excel_view, name="trends-excel"),
]
