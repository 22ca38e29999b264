"""The wall map's read API (snapshot, incident card, replay of a past day)."""

from django.urls import path

from wall import api

app_name = "wall"
urlpatterns = [
    path("<str:code>/state/", api.WallStateView.as_view(), name="state"),
    path("<str:code>/incidents/<int:pk>/", api.WallIncidentView.as_view(), name="incident"),
    path("<str:code>/replay/", api.WallReplayView.as_view(), name="replay"),
]
