"""Routes of the weekly meeting's API: the agenda, the meeting's decisions, the interviews."""

from django.urls import path

from reports import agenda_api

urlpatterns = [
    path("agenda/", agenda_api.AgendaView.as_view(), name="agenda"),
    path("agenda/decisions/", agenda_api.DecisionView.as_view(), name="agenda-decisions"),
    path("interviews/", agenda_api.InterviewListView.as_view(), name="interviews"),
    path("interviews/<int:pk>/", agenda_api.InterviewDetailView.as_view(), name="interview"),
    path("interviews/<int:pk>/rectify/", agenda_api.InterviewRectifyView.as_view(), name="interview-rectify"),
]
