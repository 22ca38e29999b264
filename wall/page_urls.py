"""The wall map page."""

from django.urls import path

from wall import views

app_name = "wallpage"
urlpatterns = [
    path("", views.wall_view, name="wall"),
]
