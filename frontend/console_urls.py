from django.urls import path

from frontend import console_views

app_name = "console"
urlpatterns = [
    path("console/", console_views.console_view, name="console"),
    path("incidents/<int:incident_id>/", console_views.incident_view, name="incident"),
]
