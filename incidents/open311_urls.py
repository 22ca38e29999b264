"""Open311 GeoReport v2. The format suffix is captured so that a .xml client gets a clear 400
(JSON only) instead of a bare 404."""

from django.urls import path

from incidents import open311

app_name = "open311"
urlpatterns = [
    path("services.<str:fmt>", open311.ServiceListView.as_view(), name="services"),
    path("requests.<str:fmt>", open311.RequestListView.as_view(), name="requests"),
    path("requests/<str:service_request_id>.<str:fmt>", open311.RequestDetailView.as_view(), name="request"),
]
