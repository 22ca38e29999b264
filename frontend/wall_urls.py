"""The wall map page."""

from django.urls import path

from frontend import wall_views as views

app_name = "wallpage"
urlpatterns = [
    path("", views.wall_view, name="wall"),
]
