"""Pages of the weekly meeting (/reports/agenda/) and the accountability interviews (/reports/interviews/)."""

from django.urls import path

from frontend import reports_agenda_views as views

urlpatterns = [
    path("agenda/", views.agenda_view, name="agenda"),
    path("agenda/excel/", views.agenda_excel_view, name="agenda-excel"),
    path("agenda/decisions/", views.agenda_decision_view, name="agenda-decision"),
    path("interviews/", views.interviews_view, name="interviews"),
    path("interviews/excel/", views.interviews_excel_view, name="interviews-excel"),
    path("interviews/new/", views.interview_new_view, name="interview-new"),
    path("interviews/<int:interview_id>/", views.interview_view, name="interview"),
    path("interviews/<int:interview_id>/rectify/", views.interview_rectify_view, name="interview-rectify"),
]
