"""Routes of the year-over-year report's API and the hot-spot layer's."""

from django.urls import path

from reports import trends_api

urlpatterns = [
    path("trends/", trends_api.TrendsView.as_view(), name="trends"),
    path("heat/", trends_api.HeatView.as_view(), name="heat"),
]
