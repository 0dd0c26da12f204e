from __future__ import annotations

from django.apps import AppConfig


class WaylayConfig(AppConfig):
    name = "jobsdash.waylay"
