from __future__ import annotations

from django.apps import AppConfig


class BenchConfig(AppConfig):
    name = "jobsdash.bench"
    verbose_name = "Benchmark"
