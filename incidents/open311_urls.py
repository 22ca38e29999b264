"""Open311 GeoReport v2: every endpoint in the spec's two formats, chosen by the URL's suffix
(`.xml` or `.json`; another suffix answers 404 in the spec's error list)."""

from django.urls import path

from incidents import open311

app_name = "open311"
urlpatterns = [
    path("services.<str:fmt>", open311.ServiceListView.as_view(), name="services"),
    path("services/<str:service_code>.<str:fmt>", open311.ServiceDefinitionView.as_view(), name="service"),
    path("requests.<str:fmt>", open311.RequestListView.as_view(), name="requests"),
    path("requests/<str:service_request_id>.<str:fmt>", open311.RequestDetailView.as_view(), name="request"),
]
