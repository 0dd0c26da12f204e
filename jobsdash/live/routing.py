"""Websocket URLs, mounted by jobsdash/asgi.py behind the origin check and the session auth."""

from __future__ import annotations

from django.urls import URLPattern, path

from jobsdash.live.consumer import JobEventsConsumer

websocket_urlpatterns: list[URLPattern] = [
    path("ws/t/<slug:slug>/jobs/", JobEventsConsumer.as_asgi(), name="live-jobs"),
]
