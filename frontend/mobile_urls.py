"""The responders' app (/m/): the page, its service worker (scope /m/), shell list and manifest."""

from django.urls import path

from frontend import mobile_views

app_name = "mobile"
urlpatterns = [
    path("", mobile_views.app_view, name="app"),
    path("sw.js", mobile_views.service_worker, name="sw"),
    path("shell.json", mobile_views.shell, name="shell"),
    path("manifest.webmanifest", mobile_views.manifest, name="manifest"),
]
