"""The planners' page (/planner/)."""

from django.urls import path

from frontend import planner_views

app_name = "planner_page"
urlpatterns = [
    path("", planner_views.planner_view, name="planner"),
]
