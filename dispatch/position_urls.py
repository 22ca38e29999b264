"""Responders' phones post their positions here in batches."""

from django.urls import path  # noqa: F401

app_name = "positions"
urlpatterns: list = []
