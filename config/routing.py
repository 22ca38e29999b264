"""Websocket routes of every app."""

from incidents.routing import websocket_urlpatterns as incidents_patterns

websocket_urlpatterns: list = [*incidents_patterns]
