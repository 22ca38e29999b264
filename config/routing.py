"""Websocket routes of every app."""

from django.urls import path

from dispatch.consumers import DeptConsumer, MemberConsumer
from incidents.routing import websocket_urlpatterns as incidents_patterns

websocket_urlpatterns: list = [
    *incidents_patterns,
    path("ws/member/", MemberConsumer.as_asgi()),
    path("ws/dept/", DeptConsumer.as_asgi()),
]
