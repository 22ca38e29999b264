"""The wall map page."""

from django.urls import path  # noqa: F401

app_name = "wallpage"
urlpatterns: list = []
