"""Websocket routes of the incidents app."""

from django.urls import path

from incidents.consumers import WallConsumer

websocket_urlpatterns = [
    path("ws/wall/<str:subdistrict_code>/", WallConsumer.as_asgi()),
]
