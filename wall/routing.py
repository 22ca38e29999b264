"""Websocket routes of the wall app."""

from django.urls import path

from wall.consumers import WallConsumer

websocket_urlpatterns = [
    path("ws/wall/<str:subdistrict_code>/", WallConsumer.as_asgi()),
]
