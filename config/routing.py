"""Websocket routes of every app, behind config.asgi's exact origin check (config/ws_origin.py);
every consumer derives from config.ws_frames.GuardedJsonConsumer."""

from django.urls import path, re_path

from config.ws_frames import NoSuchSocket
from dispatch.consumers import DeptConsumer, MemberConsumer
from wall.routing import websocket_urlpatterns as wall_patterns

websocket_urlpatterns: list = [
    *wall_patterns,
    path("ws/member/", MemberConsumer.as_asgi()),
    path("ws/dept/", DeptConsumer.as_asgi()),
    re_path(r"", NoSuchSocket.as_asgi()),  # last: every other path closes with 4404
]
