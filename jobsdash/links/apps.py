from __future__ import annotations

from django.apps import AppConfig


class LinksConfig(AppConfig):
    name = "jobsdash.links"
    verbose_name = "Links and embedding"
