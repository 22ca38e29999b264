"""The wall map's read API (snapshot, incident card, replay of a past day)."""

from django.urls import path  # noqa: F401

app_name = "wall"
urlpatterns: list = []
