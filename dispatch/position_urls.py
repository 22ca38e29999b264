"""Responders' phones post their positions here in batches."""

from django.urls import path

from dispatch.api import PositionBatchView

app_name = "positions"
urlpatterns = [
    path("positions/", PositionBatchView.as_view(), name="position-batch"),
]
