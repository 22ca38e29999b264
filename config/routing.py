"""Websocket routes of every app (the wall map's arrive with the live-updates issue)."""

websocket_urlpatterns: list = []
