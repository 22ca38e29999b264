"""Pages of the monthly ranking, the compliance and the year-end assessment, with their Excel files."""

from django.urls import path

from frontend import reports_ranking_views as views

urlpatterns = [
    path("ranking/", views.ranking_view, name="ranking"),
    path("ranking/excel/", views.ranking_excel_view, name="ranking-excel"),
    path("compliance/", views.compliance_view, name="compliance"),
    path("compliance/excel/", views.compliance_excel_view, name="compliance-excel"),
    path("assessment/", views.assessment_view, name="assessment"),
    path("assessment/excel/", views.assessment_excel_view, name="assessment-excel"),
]
